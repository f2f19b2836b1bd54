package api_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// leave keeps a message in account's mailbox through the store, as the
// media service does, and returns its GUID.
func (e *tenancy) leave(account, from string, d time.Duration, audio []byte) string {
	e.t.Helper()
	v := xc5.Voicemail{GUID: resource.NewGUID(), Account: e.g[account], From: from, To: account,
		Received: time.Date(2026, 12, 3, 10, 15, 0, 0, time.UTC), Duration: d, Audio: audio}
	if err := e.Store.LeaveVoicemail(context.Background(), v, nil); err != nil {
		e.t.Fatal(err)
	}
	return v.GUID
}

// TestVoicemailAPI: an account's mailbox over HTTP: the lean listing,
// one message as JSON or as its WAV, marking it saved, deleting it, and
// the checks (400 for a bad status or another field, 404 for a bad or
// unknown GUID, 405 for PUT).
func TestVoicemailAPI(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		wav := []byte("RIFF\x24\x00\x00\x00WAVE a message")
		g1 := e.leave("a1@acme.test", "6499290085", 12400*time.Millisecond, wav)
		g2 := e.leave("a1@acme.test", "a2@acme.test", 3*time.Second, nil)
		base := "/api-sys/account/a1@acme.test/voicemail"
		recs := e.get(base)
		if len(recs) != 2 {
			t.Fatalf("listed %d messages, want 2: %v", len(recs), recs)
		}
		r := recs[0]
		if r["guid"] != g1 || r["from"] != "6499290085" || r["to"] != "a1@acme.test" || r["received"] != "2026-12-03T10:15:00Z" ||
			r["duration"] != float64(12) || r["status"] != "new" {
			t.Errorf("listed %v", r)
		}
		self := "/api-sys/account/" + e.g["a1@acme.test"] + "/voicemail/" + g1
		if links, _ := r["_links"].(map[string]any); links == nil || links["self"].(map[string]any)["href"] != self {
			t.Errorf("links %v, want self %s", r["_links"], self)
		}
		if one := e.must(http.StatusOK, "GET", base+"/"+g1, "").one(t); one["guid"] != g1 || one["duration"] != float64(12) {
			t.Errorf("GET one: %v", one)
		}
		req := e.newRequest("GET", self, "")
		req.SetBasicAuth(adminUser, adminPassword)
		req.Header.Set("Accept", "audio/wav")
		if res := e.send(req); res.Status != 200 || res.Header.Get("Content-Type") != "audio/wav" || !bytes.Equal(res.Body, wav) {
			t.Errorf("GET audio: %d %q %q", res.Status, res.Header.Get("Content-Type"), res.Body)
		}
		if one := e.must(http.StatusOK, "PATCH", base+"/"+g1, `{"status":"saved"}`).one(t); one["status"] != "saved" {
			t.Errorf("PATCH answered %v", one)
		}
		if e.get(base)[0]["status"] != "saved" {
			t.Errorf("status not kept")
		}
		e.do("PATCH", base+"/"+g1, `{"status":"read"}`).wantError(t, 400, "status")
		e.do("PATCH", base+"/"+g1, `{"from":"someone"}`).wantError(t, 400, "read-only")
		e.do("PATCH", base+"/"+g1, `{}`).wantError(t, 400, "status")
		e.do("PATCH", base+"/"+g1, `{"status":"saved","guid":"`+g2+`"}`).wantError(t, 400, "guid")
		e.do("GET", base+"/not-a-guid", "").wantError(t, 404)
		e.do("GET", base+"/"+resource.NewGUID(), "").wantError(t, 404)
		e.do("PATCH", base+"/"+resource.NewGUID(), `{"status":"saved"}`).wantError(t, 404)
		e.do("PUT", base+"/"+g1, `{"status":"saved"}`).wantError(t, 405)
		e.do("GET", "/api-sys/account/nobody.test/voicemail", "").wantError(t, 404)
		e.must(http.StatusOK, "DELETE", base+"/"+g2, "")
		e.do("GET", base+"/"+g2, "").wantError(t, 404)
		e.do("DELETE", base+"/"+g2, "").wantError(t, 404)
		if recs := e.get(base); len(recs) != 1 {
			t.Errorf("%d messages left, want 1", len(recs))
		}
		// Messages go with their account.
		e.leave("a2@acme.test", "6499290085", time.Second, wav)
		e.must(http.StatusOK, "DELETE", "/api-sys/account/a2@acme.test", "")
		n := 0
		if err := e.Store.ListVoicemail(context.Background(), e.g["a2@acme.test"], func(xc5.Voicemail) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("a deleted account keeps %d messages (%v)", n, err)
		}
	})
}

// TestTenantVoicemail: a partitioned user reads and tends its own
// accounts' mailboxes, never another company's (404, as if it did not
// exist), and another company's caller reads "another company".
func TestTenantVoicemail(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		mine := e.leave("a1@acme.test", "b1@beta.test", 5*time.Second, []byte("RIFF mine"))
		theirs := e.leave("b1@beta.test", "a1@acme.test", 5*time.Second, []byte("RIFF theirs"))
		recs := e.as("GET", "/api-sys/account/a1@acme.test/voicemail", "").records(t)
		if len(recs) != 1 || recs[0]["guid"] != mine || recs[0]["from"] != "another company" {
			t.Errorf("the partition lists %v", recs)
		}
		if r := e.get("/api-sys/account/a1@acme.test/voicemail"); r[0]["from"] != "b1@beta.test" {
			t.Errorf("system level reads from %v", r[0]["from"])
		}
		e.as("PATCH", "/api-sys/account/a1@acme.test/voicemail/"+mine, `{"status":"saved"}`).one(t)
		for _, r := range []*response{
			e.as("GET", "/api-sys/account/b1@beta.test/voicemail", ""),
			e.as("GET", "/api-sys/account/b1@beta.test/voicemail/"+theirs, ""),
			e.as("GET", "/api-sys/account/a1@acme.test/voicemail/"+theirs, ""),
			e.as("PATCH", "/api-sys/account/b1@beta.test/voicemail/"+theirs, `{"status":"saved"}`),
			e.as("DELETE", "/api-sys/account/b1@beta.test/voicemail/"+theirs, ""),
			e.as("DELETE", "/api-sys/account/a1@acme.test/voicemail/"+theirs, ""),
		} {
			r.wantError(t, 404)
		}
		if r := e.get("/api-sys/account/b1@beta.test/voicemail"); len(r) != 1 || r[0]["status"] != "new" {
			t.Errorf("the other company's message changed: %v", r)
		}
		e.as("DELETE", "/api-sys/account/a1@acme.test/voicemail/"+mine, "").records(t)
	})
}

// TestMailAPI: the outbox, newest first, filtered by state and bounded,
// for system-level access only.
func TestMailAPI(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		ctx := context.Background()
		for _, to := range []string{"sent@x.test", "failed@x.test", "queued@x.test"} {
			if err := e.Store.QueueMail(ctx, []xc5.Mail{{To: to, Subject: "about " + to, Body: "b"}}); err != nil {
				t.Fatal(err)
			}
		}
		claimed, err := e.Store.ClaimMail(ctx, "n1", time.Hour, 2)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claimed %v, %v", claimed, err)
		}
		for _, m := range claimed {
			if m.To == "sent@x.test" {
				err = e.Store.MailSent(ctx, m.GUID, "n1")
			} else {
				err = e.Store.MailRetry(ctx, m.GUID, "n1", "550 5.1.1 no such user", time.Now(), true)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		all := e.get("/api-sys/mail")
		if len(all) != 3 || all[0]["to"] != "queued@x.test" || all[2]["to"] != "sent@x.test" {
			t.Fatalf("outbox %v", all)
		}
		for _, r := range all {
			if _, err := time.Parse(time.RFC3339, str(t, r, "created")); err != nil {
				t.Errorf("created %v", r["created"])
			}
		}
		sent := e.get("/api-sys/mail?state=sent")
		if len(sent) != 1 || sent[0]["state"] != "sent" || sent[0]["attempts"] != float64(1) || sent[0]["sent_at"] == "" {
			t.Errorf("sent %v", sent)
		}
		failed := e.get("/api-sys/mail?state=failed")
		if len(failed) != 1 || failed[0]["last_error"] != "550 5.1.1 no such user" || failed[0]["subject"] != "about failed@x.test" {
			t.Errorf("failed %v", failed)
		}
		if q := e.get("/api-sys/mail?state=queued"); len(q) != 1 || q[0]["sent_at"] != "" {
			t.Errorf("queued %v", q)
		}
		if l := e.get("/api-sys/mail?limit=1"); len(l) != 1 || l[0]["to"] != "queued@x.test" {
			t.Errorf("limit 1: %v", l)
		}
		e.do("GET", "/api-sys/mail?state=lost", "").wantError(t, 400, "state")
		e.do("GET", "/api-sys/mail?limit=0", "").wantError(t, 400, "limit")
		e.do("GET", "/api-sys/mail/"+str(t, all[0], "guid"), "").wantError(t, 404)
		e.do("DELETE", "/api-sys/mail", "").wantError(t, 405)
		e.as("GET", "/api-sys/mail", "").wantError(t, 403, "system")
	})
}
