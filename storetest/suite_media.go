package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/internal/poll"
	"xc5/resource"
)

// MailsIn lists the outbox in state ("" for all).
func MailsIn(t testing.TB, s interface{ xc5.MailLister }, state string) []xc5.Mail {
	t.Helper()
	var out []xc5.Mail
	if err := s.ListMail(ctx, state, 0, func(m xc5.Mail) error { out = append(out, m); return nil }); err != nil {
		t.Fatalf("ListMail %q: %v", state, err)
	}
	return out
}

// testVoicemailStore: a message left for an account is kept with its
// mail in one write, listed, read with its audio, marked saved, deleted;
// the account's deletion takes its messages; a message for a deleted
// account is dropped but its mail still queued.
func testVoicemailStore(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	acct := NewAccount(t, s, "vm.test", "")
	// A store that wakes a mail sender (sqlstore's OnMailQueued, beyond
	// the contract) does so once for the write that queued the mail.
	kicks := 0
	waker, wakes := s.(interface{ OnMailQueued(func()) })
	if wakes {
		waker.OnMailQueued(func() { kicks++ })
	}
	audio := []byte("RIFF....WAVEfmt fake audio bytes")
	at := time.Date(2026, 12, 3, 10, 15, 0, 0, time.UTC)
	v := xc5.Voicemail{GUID: resource.NewGUID(), Account: acct.GUID, From: "6499290085", To: "vm.test", Received: at, Duration: 12500 * time.Millisecond, Audio: audio}
	if err := s.LeaveVoicemail(ctx, v, []xc5.Mail{xc5.VoicemailMail(v, "owner@vm.test", "vm.test")}); err != nil {
		t.Fatal(err)
	}
	if wakes && kicks != 1 {
		t.Errorf("OnMailQueued called %d times, want 1", kicks)
	}
	var listed []xc5.Voicemail
	if err := s.ListVoicemail(ctx, acct.GUID, func(v xc5.Voicemail) error { listed = append(listed, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].GUID != v.GUID || listed[0].From != v.From || !listed[0].Received.Equal(at) ||
		listed[0].Duration != v.Duration || listed[0].Status != xc5.VoicemailNew || listed[0].Audio != nil {
		t.Fatalf("listed %+v", listed)
	}
	got, err := s.GetVoicemail(ctx, acct.GUID, v.GUID, true)
	if err != nil || !bytes.Equal(got.Audio, audio) {
		t.Fatalf("GetVoicemail = %+v, %v", got, err)
	}
	_, err = s.GetVoicemail(ctx, resource.NewGUID(), v.GUID, false)
	WantCode(t, err, xc5.ENOTFOUND, "another account's message")
	WantCode(t, s.SetVoicemailStatus(ctx, acct.GUID, v.GUID, "read"), xc5.EINVALID, "bad status")
	if err := s.SetVoicemailStatus(ctx, acct.GUID, v.GUID, xc5.VoicemailSaved); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetVoicemail(ctx, acct.GUID, v.GUID, false); got.Status != xc5.VoicemailSaved {
		t.Errorf("status %q after saving", got.Status)
	}
	mails := MailsIn(t, s, xc5.MailQueued)
	if len(mails) != 1 || mails[0].To != "owner@vm.test" || mails[0].AttachmentName != "voicemail-20261203-101500.wav" {
		t.Fatalf("outbox %+v", mails)
	}
	if err := s.DeleteVoicemail(ctx, acct.GUID, v.GUID); err != nil {
		t.Fatal(err)
	}
	WantCode(t, s.DeleteVoicemail(ctx, acct.GUID, v.GUID), xc5.ENOTFOUND, "deleted twice")
	WantCode(t, s.DeleteVoicemail(ctx, acct.GUID, "not-a-guid"), xc5.ENOTFOUND, "bad guid")

	// The account's deletion takes its messages.
	v2 := v
	v2.GUID = resource.NewGUID()
	if err := s.LeaveVoicemail(ctx, v2, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "", resource.Account, "", acct.GUID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetVoicemail(ctx, acct.GUID, v2.GUID, false)
	WantCode(t, err, xc5.ENOTFOUND, "message of a deleted account")

	// A message for the account now gone: no message, the mail queued.
	v3 := v
	v3.GUID = resource.NewGUID()
	if err := s.LeaveVoicemail(ctx, v3, []xc5.Mail{xc5.VoicemailMail(v3, "owner@vm.test", "vm.test")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetVoicemail(ctx, acct.GUID, v3.GUID, false)
	WantCode(t, err, xc5.ENOTFOUND, "message for a deleted account")
	if n := len(MailsIn(t, s, "")); n != 2 {
		t.Errorf("%d mails queued, want 2", n)
	}
	WantCode(t, s.QueueMail(ctx, []xc5.Mail{{Subject: "nowhere"}}), xc5.EINVALID, "mail without an address")
}

// testPromptAudioStore: the media service reads any prompt's audio by
// GUID, and a recording by phone replaces it and is announced with its
// new prompt_length, like an upload.
func testPromptAudioStore(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	NewAccount(t, s, "pa.test", "")
	p := Put(t, s, "", resource.Prompt, "pa.test", "", resource.Input{"description": "greeting"}, resource.Create)
	_, err := s.PromptAudio(ctx, p.GUID)
	WantCode(t, err, xc5.ENOTFOUND, "prompt without audio")
	_, err = s.PromptAudio(ctx, "nope")
	WantCode(t, err, xc5.ENOTFOUND, "bad guid")
	var mu sync.Mutex
	var seen []resource.Change
	s.OnChange(func(c resource.Change) { mu.Lock(); seen = append(seen, c); mu.Unlock() })
	wav := []byte("RIFF recorded by phone")
	if err := s.SavePromptAudio(ctx, p.GUID, wav, 2500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	got, err := s.PromptAudio(ctx, p.GUID)
	if err != nil || !bytes.Equal(got, wav) {
		t.Fatalf("PromptAudio = %q, %v", got, err)
	}
	if orig, err := s.Audio(ctx, "", "pa.test", p.GUID, true); err != nil || !bytes.Equal(orig, wav) {
		t.Errorf("original = %q, %v", orig, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Resource != resource.Prompt || seen[0].Record == nil || seen[0].Record.Values["prompt_length"] != int64(2500) {
		t.Errorf("changes %+v", seen)
	}
	WantCode(t, s.SavePromptAudio(ctx, resource.NewGUID(), wav, time.Second), xc5.ENOTFOUND, "prompt gone")
}

// testMailClaim: claims lease due mails, a leased mail is not claimed
// again until its lease ends, a retry waits for its time, sent and
// failed mails are never claimed, and only the holder records a retry.
func testMailClaim(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	var q []xc5.Mail
	for _, to := range []string{"a@x.test", "b@x.test", "c@x.test"} {
		q = append(q, xc5.Mail{To: to, Subject: "s", Body: "b", Attachment: []byte{0, 1, 2, 255}, AttachmentName: "a.wav"})
	}
	if err := s.QueueMail(ctx, q); err != nil {
		t.Fatal(err)
	}
	claim := func(node string, lease time.Duration, max int) []xc5.Mail {
		t.Helper()
		ms, err := s.ClaimMail(ctx, node, lease, max)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	first := claim("n1", time.Hour, 2)
	if len(first) != 2 || !bytes.Equal(first[0].Attachment, []byte{0, 1, 2, 255}) || first[0].State != xc5.MailQueued {
		t.Fatalf("first claim %+v", first)
	}
	rest := claim("n2", time.Hour, 5)
	if len(rest) != 1 {
		t.Fatalf("second claim got %d mails, want the one left", len(rest))
	}
	if again := claim("n1", time.Hour, 5); len(again) != 0 {
		t.Fatalf("claimed leased mails again: %+v", again)
	}
	// A lease that ends without word from its node: the mail is claimed
	// again.
	if err := s.QueueMail(ctx, []xc5.Mail{{To: "d@x.test"}}); err != nil {
		t.Fatal(err)
	}
	lapsed := claim("n2", time.Millisecond, 5)
	if len(lapsed) != 1 {
		t.Fatalf("claimed %d fresh mails, want 1", len(lapsed))
	}
	var back []xc5.Mail
	poll.Until(t, 10*time.Second, "the lapsed lease's mail claimed again", func() bool { back = claim("n1", time.Hour, 5); return len(back) == 1 })
	if back[0].GUID != lapsed[0].GUID {
		t.Fatalf("reclaimed %s, want %s", back[0].GUID, lapsed[0].GUID)
	}
	WantCode(t, s.MailRetry(ctx, back[0].GUID, "n2", "late", time.Now(), false), xc5.ECONFLICT, "retry by a node no longer holding it")
	if err := s.MailSent(ctx, first[0].GUID, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := s.MailSent(ctx, first[0].GUID, "n1"); err != nil {
		t.Errorf("MailSent twice: %v", err)
	}
	if err := s.MailRetry(ctx, first[1].GUID, "n1", "451 try later", time.Now().Add(80*time.Millisecond), false); err != nil {
		t.Fatal(err)
	}
	if err := s.MailRetry(ctx, back[0].GUID, "n1", "550 no such user", time.Now(), true); err != nil {
		t.Fatal(err)
	}
	var retried []xc5.Mail
	poll.Until(t, 10*time.Second, "the retried mail due again", func() bool { retried = claim("n2", time.Hour, 5); return len(retried) > 0 })
	if len(retried) != 1 || retried[0].GUID != first[1].GUID || retried[0].Attempts != 1 || retried[0].LastError != "451 try later" {
		t.Fatalf("retry claimed %+v", retried)
	}
	sent, failed := MailsIn(t, s, xc5.MailSent), MailsIn(t, s, xc5.MailFailed)
	if len(sent) != 1 || sent[0].SentAt.IsZero() || sent[0].Attempts != 1 {
		t.Errorf("sent %+v", sent)
	}
	if len(failed) != 1 || failed[0].LastError != "550 no such user" {
		t.Errorf("failed %+v", failed)
	}
	WantCode(t, s.MailSent(ctx, resource.NewGUID(), "n1"), xc5.ENOTFOUND, "no such mail")
}

// testMailClaimTwoNodes: two stores on one database (two nodes) claiming
// at once, each with two workers, never claim one mail twice, and
// between them claim every mail.
func testMailClaimTwoNodes(t *testing.T, b backend) {
	s1 := b.open(t)
	s2 := b.again(t, s1)
	const n = 300
	var q []xc5.Mail
	for i := 0; i < n; i++ {
		q = append(q, xc5.Mail{To: "x@x.test", Subject: "s"})
	}
	if err := s1.QueueMail(ctx, q); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	claimed := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i, s := range []xc5.MailOutbox{s1, s2, s1, s2} {
		node := []string{"n1", "n2"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ms, err := s.ClaimMail(ctx, node, time.Hour, 7)
				if err != nil {
					errs <- err
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					if prev, ok := claimed[m.GUID]; ok {
						errs <- xc5.Errorf(xc5.ECONFLICT, "mail %s claimed by %s and %s", m.GUID, prev, node)
					}
					claimed[m.GUID] = node
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(claimed) != n {
		t.Errorf("%d mails claimed, want %d", len(claimed), n)
	}
}
