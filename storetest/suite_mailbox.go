package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// testMailboxPIN: only the right PIN of an enabled account with a
// mailbox opens it; a wrong PIN, an unknown account, one without a PIN
// and a disabled one all answer false without an error.
func testMailboxPIN(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	NewAccount(t, s, "pin.test", "")
	owner := Put(t, s, "", resource.Account, "", "", resource.Input{"username": "box@pin.test", "parent": "pin.test", "ums_pin": "4321"}, resource.Create)
	nobox := NewAccount(t, s, "nobox@pin.test", "pin.test")
	off := Put(t, s, "", resource.Account, "", "", resource.Input{"username": "off@pin.test", "parent": "pin.test", "ums_pin": "4321", "enabled": false}, resource.Create)
	for _, tc := range []struct {
		name, account, pin string
		want               bool
	}{
		{"right", owner.GUID, "4321", true},
		{"lower-case GUID", lower(owner.GUID), "4321", true},
		{"wrong", owner.GUID, "4322", false},
		{"prefix", owner.GUID, "432", false},
		{"longer", owner.GUID, "43210", false},
		{"empty", owner.GUID, "", false},
		{"no mailbox", nobox.GUID, "", false},
		{"unknown account", resource.NewGUID(), "4321", false},
		{"not a GUID", "box@pin.test", "4321", false},
		{"disabled", off.GUID, "4321", false},
	} {
		got, err := s.CheckMailboxPIN(ctx, tc.account, tc.pin)
		if err != nil || got != tc.want {
			t.Errorf("%s: CheckMailboxPIN = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

// testMailboxGreeting: the account's own greeting is kept, replaced and
// removed; an account without a mailbox has none and cannot get one.
func testMailboxGreeting(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	NewAccount(t, s, "greet.test", "")
	owner := Put(t, s, "", resource.Account, "", "", resource.Input{"username": "box@greet.test", "parent": "greet.test", "ums_pin": "1234"}, resource.Create)
	nobox := NewAccount(t, s, "nobox@greet.test", "greet.test")
	_, err := s.MailboxGreeting(ctx, owner.GUID)
	WantCode(t, err, xc5.ENOTFOUND, "no greeting yet")
	for _, w := range [][]byte{[]byte("RIFF first"), []byte("RIFF second")} {
		if err := s.SetMailboxGreeting(ctx, owner.GUID, w, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		if got, err := s.MailboxGreeting(ctx, owner.GUID); err != nil || !bytes.Equal(got, w) {
			t.Fatalf("MailboxGreeting = %q, %v; want %q", got, err, w)
		}
	}
	if err := s.SetMailboxGreeting(ctx, owner.GUID, nil, 0); err != nil {
		t.Fatal(err)
	}
	_, err = s.MailboxGreeting(ctx, owner.GUID)
	WantCode(t, err, xc5.ENOTFOUND, "greeting removed")
	WantCode(t, s.SetMailboxGreeting(ctx, nobox.GUID, []byte("RIFF"), time.Second), xc5.ENOTFOUND, "no mailbox")
	WantCode(t, s.SetMailboxGreeting(ctx, resource.NewGUID(), []byte("RIFF"), time.Second), xc5.ENOTFOUND, "unknown account")
	WantCode(t, s.SetMailboxGreeting(ctx, "x", []byte("RIFF"), time.Second), xc5.ENOTFOUND, "not a GUID")
	_, err = s.MailboxGreeting(ctx, nobox.GUID)
	WantCode(t, err, xc5.ENOTFOUND, "no mailbox, no greeting")
}

// testVoicemailChanges: every write of a mailbox (a message left, marked,
// deleted; the mailbox removed by emptying ums_pin, with its messages and
// greeting) is announced as a voicemail change naming the account, for
// the API and message-waiting lights.
func testVoicemailChanges(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	NewAccount(t, s, "chg.test", "")
	owner := Put(t, s, "", resource.Account, "", "", resource.Input{"username": "box@chg.test", "parent": "chg.test", "ums_pin": "1234"}, resource.Create)
	var mu sync.Mutex
	var seen []resource.Change
	s.OnChange(func(c resource.Change) {
		if c.Resource == resource.Voicemail {
			mu.Lock()
			seen = append(seen, c)
			mu.Unlock()
		}
	})
	take := func() []resource.Change {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
	v := xc5.Voicemail{GUID: resource.NewGUID(), Account: owner.GUID, From: "6499290085", Received: time.Now(), Duration: time.Second, Audio: []byte("RIFF")}
	if err := s.LeaveVoicemail(ctx, v, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetVoicemailStatus(ctx, owner.GUID, v.GUID, xc5.VoicemailSaved); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVoicemail(ctx, owner.GUID, v.GUID); err != nil {
		t.Fatal(err)
	}
	got := take()
	if len(got) != 3 {
		t.Fatalf("%d voicemail changes, want 3: %+v", len(got), got)
	}
	for i, c := range got {
		if c.Account != owner.GUID || c.GUID != v.GUID || c.Deleted != (i == 2) {
			t.Errorf("change %d: %+v", i, c)
		}
	}
	// A message for no mailbox (email only) is no mailbox write.
	if err := s.LeaveVoicemail(ctx, xc5.Voicemail{From: "x", Audio: []byte("RIFF")}, []xc5.Mail{{To: "a@b.test"}}); err != nil {
		t.Fatal(err)
	}
	if got := take(); len(got) != 0 {
		t.Errorf("an email-only message announced %+v", got)
	}

	// ums_pin null removes the mailbox: messages and greeting.
	v.GUID = resource.NewGUID()
	if err := s.LeaveVoicemail(ctx, v, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMailboxGreeting(ctx, owner.GUID, []byte("RIFF greeting"), time.Second); err != nil {
		t.Fatal(err)
	}
	take()
	Put(t, s, "", resource.Account, "", owner.GUID, resource.Input{"ums_pin": "5678"}, resource.Patch) // a new PIN keeps them
	if _, err := s.GetVoicemail(ctx, owner.GUID, v.GUID, false); err != nil {
		t.Fatalf("a PIN change lost the message: %v", err)
	}
	if got := take(); len(got) != 0 {
		t.Errorf("a PIN change announced %+v", got)
	}
	Put(t, s, "", resource.Account, "", owner.GUID, resource.Input{"ums_pin": ""}, resource.Patch)
	_, err := s.GetVoicemail(ctx, owner.GUID, v.GUID, false)
	WantCode(t, err, xc5.ENOTFOUND, "message of a removed mailbox")
	if err := s.SetMailboxGreeting(ctx, owner.GUID, nil, 0); xc5.ErrorCode(err) != xc5.ENOTFOUND {
		t.Errorf("greeting of a removed mailbox: %v", err)
	}
	if got := take(); len(got) != 1 || got[0].Account != owner.GUID || !got[0].Deleted {
		t.Errorf("removing the mailbox announced %+v", got)
	}
	// Given a PIN again, the mailbox is empty: the greeting went too.
	Put(t, s, "", resource.Account, "", owner.GUID, resource.Input{"ums_pin": "1234"}, resource.Patch)
	_, err = s.MailboxGreeting(ctx, owner.GUID)
	WantCode(t, err, xc5.ENOTFOUND, "greeting of a removed mailbox")
}

// testMailboxTimezone: the account's own time zone, else the nearest
// ancestor's, else "".
func testMailboxTimezone(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	top := Put(t, s, "", resource.Account, "", "", resource.Input{"username": "tz.test", "password": "Pw-tz-1234", "timezone": "Pacific/Auckland"}, resource.Create)
	mid := NewAccount(t, s, "mid.tz.test", "tz.test")
	low := NewAccount(t, s, "low@mid.tz.test", "mid.tz.test")
	own := Put(t, s, "", resource.Account, "", "", resource.Input{"username": "own@mid.tz.test", "parent": "mid.tz.test", "timezone": "Europe/Berlin"}, resource.Create)
	none := NewAccount(t, s, "none.test", "")
	for _, tc := range []struct{ guid, want string }{
		{top.GUID, "Pacific/Auckland"}, {mid.GUID, "Pacific/Auckland"}, {low.GUID, "Pacific/Auckland"},
		{own.GUID, "Europe/Berlin"}, {none.GUID, ""},
	} {
		if got, err := s.MailboxTimezone(ctx, tc.guid); err != nil || got != tc.want {
			t.Errorf("MailboxTimezone(%s) = %q, %v; want %q", tc.guid, got, err, tc.want)
		}
	}
	_, err := s.MailboxTimezone(ctx, resource.NewGUID())
	WantCode(t, err, xc5.ENOTFOUND, "unknown account")
}
