package sipserver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/internal/poll"
	"xc5/internal/rtptest"
	"xc5/resource"
)

// subscribe sends a message-summary SUBSCRIBE for the phone's own
// account, answering the digest challenge, and returns the final answer.
func (p *uaPhone) subscribe(t *testing.T, expires int) *sip.Response {
	return p.subscribeTo(t, p.user, expires)
}

// subscribeTo subscribes, with the phone's credentials, to the mailbox of
// the account named target.
func (p *uaPhone) subscribeTo(t *testing.T, target string, expires int) *sip.Response {
	t.Helper()
	_, res := p.subscribeReq(t, target, expires)
	return res
}

// subscribeReq is subscribeTo returning the SUBSCRIBE as sent too.
func (p *uaPhone) subscribeReq(t *testing.T, target string, expires int) (*sip.Request, *sip.Response) {
	t.Helper()
	local, host, _ := strings.Cut(target, "@")
	aor := sip.Uri{Scheme: "sip", User: local, Host: host}
	h, _, _ := strings.Cut(p.xc5, ":")
	req := sip.NewRequest(sip.SUBSCRIBE, sip.Uri{Scheme: "sip", User: local, Host: h})
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	return req, p.sendSubscribe(t, req, "message-summary", "application/simple-message-summary", expires)
}

// sendSubscribe sends req, a new SUBSCRIBE of p for event, to xc5 and
// answers a challenge with p's credentials.
func (p *uaPhone) sendSubscribe(t *testing.T, req *sip.Request, event, accept string, expires int) *sip.Response {
	t.Helper()
	ct := p.contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Accept", accept))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetDestination(p.xc5)
	req.SetTransport(p.transport)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.user, Password: p.password})
	}
	if err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	return res
}

// refresh sends a SUBSCRIBE in the dialog the answer res opened, for the
// event of the first SUBSCRIBE.
func (p *uaPhone) refresh(t *testing.T, first *sip.Request, res *sip.Response, cseq uint32, expires int) *sip.Response {
	t.Helper()
	req := sip.NewRequest(sip.SUBSCRIBE, first.Recipient)
	req.AppendHeader(first.From())
	req.AppendHeader(res.To())
	req.AppendHeader(first.CallID())
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.SUBSCRIBE})
	ct := p.contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Event", first.GetHeader("Event").Value()))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetDestination(p.xc5)
	req.SetTransport(p.transport)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := p.client.Do(ctx, req)
	if err != nil {
		t.Fatalf("refreshing SUBSCRIBE: %v", err)
	}
	return out
}

// TestSubscriptionRefresh: a SUBSCRIBE in the subscription's dialog
// renews it (200, a NOTIFY with the state, and it outlives its first
// expiry); Expires: 0 ends it with a terminated NOTIFY; a refresh of a
// dialog xc5 does not hold is 481.
func TestSubscriptionRefresh(t *testing.T) {
	x := newPBX(t, Config{SweepInterval: 50 * time.Millisecond})
	x.patch(reception, `{"ums_pin":"1234"}`)
	rec := x.phone(reception, password, "UDP")
	first, res := rec.subscribeReq(t, reception, 600)
	if res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	rec.nextNotify(t, 3*time.Second)
	x.srv.clock.Advance(8 * time.Minute)
	if r := rec.refresh(t, first, res, first.CSeq().SeqNo+10, 600); r.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", r.StatusCode, r.Reason)
	}
	rec.nextNotify(t, 3*time.Second)
	x.srv.clock.Advance(8 * time.Minute) // past the first expiry, within the renewed one
	time.Sleep(300 * time.Millisecond)
	if x.srv.Subscriptions() != 1 {
		t.Fatalf("%d subscriptions after the refresh", x.srv.Subscriptions())
	}
	if r := rec.refresh(t, first, res, first.CSeq().SeqNo+11, 0); r.StatusCode != 200 {
		t.Fatalf("unsubscribe: %d", r.StatusCode)
	}
	select {
	case req := <-rec.notifies:
		if st := req.GetHeader("Subscription-State"); st == nil || !strings.HasPrefix(st.Value(), "terminated") {
			t.Fatalf("NOTIFY after unsubscribing: %v", st)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no NOTIFY after unsubscribing")
	}
	if x.srv.Subscriptions() != 0 {
		t.Fatalf("%d subscriptions after unsubscribing", x.srv.Subscriptions())
	}
	if r := rec.refresh(t, first, res, first.CSeq().SeqNo+12, 600); r.StatusCode != 481 {
		t.Fatalf("refresh of an ended subscription: %d", r.StatusCode)
	}
}

// nextNotify waits for a NOTIFY and returns its body.
func (p *uaPhone) nextNotify(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case req := <-p.notifies:
		if ev := req.GetHeader("Event"); ev == nil || ev.Value() != "message-summary" {
			t.Fatalf("NOTIFY without Event: message-summary: %v", req)
		}
		return string(req.Body())
	case <-time.After(within):
		t.Fatal("no NOTIFY")
	}
	return ""
}

// TestMessageWaiting: a phone subscribed to its mailbox's message-summary
// gets its state at once and a NOTIFY for each change: a message left
// (waiting yes), the message saved (no), deleted; a subscription not
// refreshed ends with a terminated NOTIFY. Another account's mailbox is
// refused.
func TestMessageWaiting(t *testing.T) {
	x := newPBX(t, Config{SweepInterval: 50 * time.Millisecond})
	x.patch(reception, `{"ums_pin":"1234"}`)
	rec := x.phone(reception, password, "UDP")
	if res := rec.subscribe(t, 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d %s", res.StatusCode, res.Reason)
	}
	if body := rec.nextNotify(t, 3*time.Second); !strings.Contains(body, "Messages-Waiting: no") {
		t.Fatalf("first NOTIFY: %q", body)
	}
	ctx := context.Background()
	guid := x.ids[reception]
	if err := x.store.LeaveVoicemail(ctx, xc5.Voicemail{GUID: "2C691B9C-0A4A-47B3-B6C2-68EB8CA20F2D", Account: guid, From: "6421555000", To: "6491231234", Duration: 3 * time.Second}, nil); err != nil {
		t.Fatal(err)
	}
	if body := rec.nextNotify(t, 3*time.Second); !strings.Contains(body, "Messages-Waiting: yes") || !strings.Contains(body, "Voice-Message: 1/0") {
		t.Fatalf("NOTIFY after a message: %q", body)
	}
	if err := x.store.SetVoicemailStatus(ctx, guid, "2C691B9C-0A4A-47B3-B6C2-68EB8CA20F2D", xc5.VoicemailSaved); err != nil {
		t.Fatal(err)
	}
	if body := rec.nextNotify(t, 3*time.Second); !strings.Contains(body, "Messages-Waiting: no") || !strings.Contains(body, "Voice-Message: 0/1") {
		t.Fatalf("NOTIFY after saving: %q", body)
	}
	if err := x.store.DeleteVoicemail(ctx, guid, "2C691B9C-0A4A-47B3-B6C2-68EB8CA20F2D"); err != nil {
		t.Fatal(err)
	}
	if body := rec.nextNotify(t, 3*time.Second); !strings.Contains(body, "Voice-Message: 0/0") {
		t.Fatalf("NOTIFY after deleting: %q", body)
	}
	if x.srv.Subscriptions() != 1 {
		t.Fatalf("%d subscriptions", x.srv.Subscriptions())
	}
	// Not refreshed in time, it ends with a terminated NOTIFY.
	x.srv.clock.Advance(11 * time.Minute)
	select {
	case req := <-rec.notifies:
		if st := req.GetHeader("Subscription-State"); st == nil || !strings.HasPrefix(st.Value(), "terminated") {
			t.Fatalf("NOTIFY at expiry: %v", st)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no NOTIFY when the subscription expired")
	}
	if x.srv.Subscriptions() != 0 {
		t.Fatalf("%d subscriptions after expiry", x.srv.Subscriptions())
	}
	// Another account's mailbox.
	sal := x.phone(sales, salesPassword, "UDP")
	if res := sal.subscribeTo(t, reception, 600); res.StatusCode != 403 {
		t.Fatalf("SUBSCRIBE to another's mailbox: %d", res.StatusCode)
	}
}

// TestUnsolicitedMWI: a phone that never subscribes gets the NOTIFY at
// its registered contact when a message is left.
func TestUnsolicitedMWI(t *testing.T) {
	x := newPBX(t, Config{})
	x.patch(reception, `{"ums_pin":"1234"}`)
	rec := x.phone(reception, password, "UDP")
	if err := x.store.LeaveVoicemail(context.Background(), xc5.Voicemail{Account: x.ids[reception], From: "6421555000", To: "6491231234", Duration: 3 * time.Second}, nil); err != nil {
		t.Fatal(err)
	}
	if body := rec.nextNotify(t, 3*time.Second); !strings.Contains(body, "Messages-Waiting: yes") {
		t.Fatalf("unsolicited NOTIFY: %q", body)
	}
}

// TestMailboxByPhoneWithMWI: a carrier's caller leaves reception (not
// registered, so unanswered, so its mailbox) a 1 kHz message; reception's
// phone, subscribed to its message-summary, is told a message waits; it
// dials *98, enters the PIN, plays the message (the caller's tone is
// heard) and, the message heard to its end being saved, is told no
// message waits any more.
func TestMailboxByPhoneWithMWI(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	x.patch(reception, `{"ums_pin":"4321"}`)
	x.leaveMessage("6491231234", 10*time.Second, 2*time.Second)

	rec, rep := x.mediaPhone(reception, password)
	if res := rec.subscribe(t, 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	if body := rec.nextNotify(t, 3*time.Second); !strings.Contains(body, "Messages-Waiting: yes") {
		t.Fatalf("a message waits, the NOTIFY says %q", body)
	}
	in := rec.dial("*98")
	res := in.answered(5 * time.Second)
	to := sdpAddr(t, res.Body())
	time.Sleep(2500 * time.Millisecond) // "please enter your PIN"
	rep.SendDigits(to, "4321#", rtptest.TelephoneEvent)
	rep.SendDigits(to, "1", rtptest.TelephoneEvent) // typed ahead: play the messages
	poll.Until(t, 30*time.Second, "the caller's message to be heard", func() bool { return toneIn(rep.Received(), 1000) })
	if body := rec.nextNotify(t, 15*time.Second); !strings.Contains(body, "Messages-Waiting: no") {
		t.Fatalf("the message was heard, the NOTIFY says %q", body)
	}
	in.hangup()
	x.idle()
	var kept []xc5.Voicemail
	x.store.ListVoicemail(context.Background(), x.ids[reception], func(v xc5.Voicemail) error { kept = append(kept, v); return nil })
	if len(kept) != 1 || kept[0].Status != xc5.VoicemailSaved {
		t.Fatalf("the mailbox after hearing: %+v", kept)
	}
}

// TestPOTSVoicemailNumber: the document's POTS line (HydraAccount
// 6499878037, cfna_dest the voicemail number 6499650085, ums_pin 5676):
// an unanswered call to the line lands in the line's own mailbox, and the
// line dialing the voicemail number reaches its mailbox (answered by the
// mailbox app, which asks the PIN).
func TestPOTSVoicemailNumber(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	x.put(resource.Hydra, "", "6499878037", `{"password":"5gjgosk2@#","cfna_dest":"6499650085","cfna_active":true,"ums_pin":"5676"}`, resource.Upsert)
	x.leaveMessage("6499878037", 15*time.Second, 2*time.Second)
	line, err := x.store.Get(context.Background(), "", resource.Account, "", "6499878037")
	if err != nil {
		t.Fatal(err)
	}
	var kept []xc5.Voicemail
	x.store.ListVoicemail(context.Background(), line.GUID, func(v xc5.Voicemail) error { kept = append(kept, v); return nil })
	if len(kept) != 1 || kept[0].From != "6421555000" {
		t.Fatalf("the line's mailbox: %+v", kept)
	}
	// The line's phone dials the voicemail number. (The test carrier's
	// trunk, on the phones' loopback address, goes first: a call from it
	// would be taken for the carrier's.)
	var trunks []string
	x.store.List(context.Background(), "", resource.Trunk, resource.Query{}, func(r resource.Record) error { trunks = append(trunks, r.GUID); return nil })
	for _, g := range trunks {
		if err := x.store.Delete(context.Background(), "", resource.Trunk, "", g); err != nil {
			t.Fatal(err)
		}
	}
	pots, _ := x.mediaPhone("6499878037", "5gjgosk2@#")
	in := pots.dial("6499650085")
	in.answered(5 * time.Second)
	in.hangup()
	x.idle()
	x.ids["6499878037"] = line.GUID
	var mailbox bool
	for _, c := range x.cdrs("6499878037", 2) {
		mailbox = mailbox || (c["direction"] == "out" && c["answered_by"] == "mailbox")
	}
	if !mailbox {
		t.Fatalf("dialing the voicemail number did not reach the mailbox app: %v", x.cdrs("6499878037", 2))
	}
}

// TestSubscriptionCap: an account holds at most MaxContacts
// subscriptions (a phone re-subscribing after every reboot, or a flood):
// beyond it the oldest is ended.
func TestSubscriptionCap(t *testing.T) {
	x := newPBX(t, Config{MaxContacts: 3})
	x.patch(reception, `{"ums_pin":"1234"}`)
	rec := x.phone(reception, password, "UDP")
	for i := 0; i < 5; i++ {
		if res := rec.subscribe(t, 600); res.StatusCode != 200 {
			t.Fatalf("SUBSCRIBE %d: %d", i, res.StatusCode)
		}
	}
	poll.Until(t, 3*time.Second, "the cap to hold", func() bool { return x.srv.Subscriptions() == 3 })
	time.Sleep(200 * time.Millisecond)
	if n := x.srv.Subscriptions(); n != 3 {
		t.Fatalf("%d subscriptions, want the cap of 3", n)
	}
}
