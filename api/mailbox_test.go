package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// TestUmsPinNullRemovesMailbox: PATCH ums_pin null (on the account, or on
// a POTS line through HydraAccount) removes the mailbox: its messages and
// its own greeting; a new PIN keeps them.
func TestUmsPinNullRemovesMailbox(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		base := "/api-sys/account/a1@acme.test"
		e.must(http.StatusOK, "PATCH", base, `{"ums_pin":"1234"}`)
		e.leave("a1@acme.test", "6499290085", 2*time.Second, []byte("RIFF one"))
		if err := e.Store.SetMailboxGreeting(context.Background(), e.g["a1@acme.test"], []byte("RIFF greeting"), time.Second); err != nil {
			t.Fatal(err)
		}
		e.must(http.StatusOK, "PATCH", base, `{"ums_pin":"5678"}`)
		if n := len(e.get(base + "/voicemail")); n != 1 {
			t.Fatalf("%d messages after a PIN change, want 1", n)
		}
		if one := e.must(http.StatusOK, "PATCH", base, `{"ums_pin":null}`).one(t); one["ums_pin"] != "" {
			t.Errorf("ums_pin %v after null", one["ums_pin"])
		}
		if n := len(e.get(base + "/voicemail")); n != 0 {
			t.Errorf("%d messages after ums_pin null, want none", n)
		}
		if _, err := e.Store.MailboxGreeting(context.Background(), e.g["a1@acme.test"]); xc5.ErrorCode(err) != xc5.ENOTFOUND {
			t.Errorf("greeting after ums_pin null: %v", err)
		}
		if ok, err := e.Store.CheckMailboxPIN(context.Background(), e.g["a1@acme.test"], "5678"); ok || err != nil {
			t.Errorf("the old PIN still opens the mailbox: %v, %v", ok, err)
		}
	})
}

func TestHydraUmsPinNull(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", "/api-sys/HydraAccount/6499878037", `{"ums_pin":"5676"}`)
	acct := e.must(http.StatusOK, "GET", "/api-sys/account/6499878037", "").one(t)
	guid := acct["guid"].(string)
	v := xc5.Voicemail{GUID: resource.NewGUID(), Account: guid, From: "6499290085", Received: time.Now(), Duration: time.Second}
	if err := e.Store.LeaveVoicemail(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusOK, "PATCH", "/api-sys/HydraAccount/6499878037", `{"ums_pin":null}`)
	if n := len(e.must(http.StatusOK, "GET", "/api-sys/account/6499878037/voicemail", "").records(t)); n != 0 {
		t.Errorf("%d messages after the line's ums_pin null, want none", n)
	}
}
