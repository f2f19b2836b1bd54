package service

import (
	"context"
	"testing"
	"time"

	"xc5"
	"xc5/internal/audiotest"
	"xc5/media"
	"xc5/media/wav"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// The mailbox app over real SIP and RTP on loopback, with a real SQLite
// store: messages are left by the voicemail app and heard, saved and
// deleted by the owner's keys.

const mailboxPIN = "4321"

// mailboxEnv is a media service on a real store holding one account with
// a mailbox.
type mailboxEnv struct {
	store *sqlstore.Store
	svc   *Service
	guid  string // the mailbox's account
}

func newMailboxEnv(t *testing.T) *mailboxEnv {
	t.Helper()
	st := storetest.Open(t, "Admin-pw-1234")
	rec, _, err := st.Put(context.Background(), "", resource.Account, "", "", resource.Input{
		"username": "box.test", "password": "Box-pw-1234", "ums_pin": mailboxPIN, "timezone": "Pacific/Auckland"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	svc := startService(t, st, Timeouts{FirstDigit: 3 * time.Second, InterDigit: 1500 * time.Millisecond})
	return &mailboxEnv{store: st, svc: svc, guid: rec.GUID}
}

// leave leaves a message of freq Hz lasting d through the voicemail app
// (the system greeting, then the beep).
func (e *mailboxEnv) leave(t *testing.T, freq float64, d time.Duration) {
	t.Helper()
	c := newPhone(t).call(t, e.svc, media.AppVoicemail, media.Request{Mailbox: e.guid, Account: "box.test", From: "6499290085", To: "box.test"})
	c.waitHear(1000, true) // the beep
	c.waitHear(1000, false)
	c.say(audiotest.Tone(freq, 8000, int(d*8000/time.Second), 0.4))
	for c.saying() {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	c.keys("#")
	if r := c.bye(); !r.Saved {
		t.Fatal("the message was not kept")
	}
}

// put keeps a message of freq Hz lasting d straight through the store,
// from an anonymous caller (whose number is not read out), received at.
func (e *mailboxEnv) put(t *testing.T, freq float64, d time.Duration, at time.Time) {
	t.Helper()
	v := xc5.Voicemail{GUID: resource.NewGUID(), Account: e.guid, From: "anonymous", To: "box.test", Received: at,
		Duration: d, Status: xc5.VoicemailNew, Audio: toneWAV(freq, d)}
	if err := e.store.LeaveVoicemail(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
}

// list is the mailbox as the store (and so the API) shows it.
func (e *mailboxEnv) list(t *testing.T) []xc5.Voicemail {
	t.Helper()
	var out []xc5.Voicemail
	if err := e.store.ListVoicemail(context.Background(), e.guid, func(v xc5.Voicemail) error { out = append(out, v); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// holds reports whether message v's audio holds freq.
func (e *mailboxEnv) holds(t *testing.T, v xc5.Voicemail, freq float64) bool {
	t.Helper()
	full, err := e.store.GetVoicemail(context.Background(), e.guid, v.GUID, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wav.Parse(full.Audio)
	return err == nil && audiotest.Has(a.Samples, 8000, freq)
}

// login calls the mailbox app for mailbox and enters pin once the PIN
// prompt has played.
func (e *mailboxEnv) login(t *testing.T, mailbox, pin string) *phoneCall {
	t.Helper()
	c := newPhone(t).call(t, e.svc, media.AppMailbox, media.Request{Mailbox: mailbox, Account: "box.test"})
	c.afterPrompt()
	c.keys(pin + "#")
	return c
}

// afterPrompt waits until something was said and then 600 ms of silence
// came: a prompt ended and the app waits for keys.
func (c *phoneCall) afterPrompt() {
	c.t.Helper()
	c.waitFor("a prompt", func(h []int16) bool { return audiotest.Energy(h[len(h)-800:]) > 1e-5 })
	c.waitFor("silence after a prompt", func(h []int16) bool { return audiotest.Energy(h[len(h)-4800:]) < 1e-7 })
}

// waitSteady waits until freq has been heard without a break for the
// last d: a message or a recording playing, not a word of speech.
func (c *phoneCall) waitSteady(freq float64, d time.Duration) {
	c.t.Helper()
	n := int(d / (100 * time.Millisecond))
	c.waitFor("a steady tone", func(h []int16) bool {
		if len(h) < n*800 {
			return false
		}
		for i := 0; i < n; i++ {
			if !audiotest.Has(h[len(h)-(i+1)*800:len(h)-i*800], 8000, freq) {
				return false
			}
		}
		return true
	})
}

func (c *phoneCall) waitFor(what string, cond func(heard []int16) bool) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if h := c.heardAudio(); len(h) >= 4800 && cond(h) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("waited 30 s for %s", what)
}

// firstSteady is where freq is first heard for 5 windows (500 ms) in a
// row, in samples; -1 when never.
func firstSteady(h []int16, freq float64) int {
	run := 0
	for i := 0; i+800 <= len(h); i += 800 {
		if audiotest.Has(h[i:i+800], 8000, freq) {
			if run++; run == 5 {
				return i - 4*800
			}
		} else {
			run = 0
		}
	}
	return -1
}

// TestMailboxReview: two messages (600 Hz yesterday, then 1 kHz left by a
// caller through the voicemail app); the owner
// logs in with the PIN and presses 1: the newer is heard first, 9 saves
// it, then the older is heard and 7 deletes it. The store shows the
// 1 kHz message saved and the other gone.
func TestMailboxReview(t *testing.T) {
	t.Parallel()
	e := newMailboxEnv(t)
	e.put(t, 600, 2*time.Second, time.Now().Add(-25*time.Hour))
	e.leave(t, 1000, 2*time.Second) // by a caller, through the voicemail app
	c := e.login(t, e.guid, mailboxPIN)
	c.keys("1") // typed ahead: read by the main menu after the counts
	c.waitSteady(1000, 500*time.Millisecond)
	c.keys("9")
	c.waitSteady(600, 500*time.Millisecond)
	c.keys("7")
	c.afterPrompt() // "message deleted", "no more messages", the main menu
	c.hangup()
	waitLegs(t, e.svc)
	h := c.heardAudio()
	if a, b := firstSteady(h, 1000), firstSteady(h, 600); a < 0 || b < 0 || a > b {
		t.Errorf("1 kHz first heard at %d, 600 Hz at %d: want the newer (1 kHz) first", a, b)
	}
	left := e.list(t)
	if len(left) != 1 || left[0].Status != xc5.VoicemailSaved || !e.holds(t, left[0], 1000) {
		t.Fatalf("mailbox after 9 and 7: %+v; want the 1 kHz message alone, saved", left)
	}
}

// TestMailboxHeardIsSaved: a new message heard to its end becomes saved
// (as Asterisk moves it to Old); one skipped with # before its end stays
// new.
func TestMailboxHeardIsSaved(t *testing.T) {
	t.Parallel()
	e := newMailboxEnv(t)
	e.put(t, 600, 1500*time.Millisecond, time.Now().Add(-time.Hour))
	e.put(t, 1000, 3*time.Second, time.Now())
	c := e.login(t, e.guid, mailboxPIN)
	c.keys("1")
	c.waitSteady(1000, 500*time.Millisecond)
	c.keys("#")
	c.waitSteady(600, 500*time.Millisecond)
	c.waitHear(600, false) // heard to its end
	c.afterPrompt()        // the message menu
	c.hangup()
	waitLegs(t, e.svc)
	for _, v := range e.list(t) {
		want := xc5.VoicemailNew
		if e.holds(t, v, 600) {
			want = xc5.VoicemailSaved
		}
		if v.Status != want {
			t.Errorf("message of %v: status %s, want %s", v.Duration, v.Status, want)
		}
	}
}

// TestMailboxWrongPIN: three wrong PINs end the call with a BYE and no
// message heard or changed; an unknown mailbox, none at all and an
// account without a PIN sound the same, even with the right PIN.
func TestMailboxWrongPIN(t *testing.T) {
	t.Parallel()
	e := newMailboxEnv(t)
	e.put(t, 1000, 1500*time.Millisecond, time.Now())
	nopin, _, err := e.store.Put(context.Background(), "", resource.Account, "", "", resource.Input{"username": "nopin.test", "password": "No-pin-1234"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, mailbox, pin string }{
		{"wrong PIN", e.guid, "1111"},
		{"unknown mailbox", resource.NewGUID(), mailboxPIN},
		{"no mailbox named", "", mailboxPIN},
		{"account without a PIN", nopin.GUID, mailboxPIN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := e.login(t, tc.mailbox, tc.pin)
			for range 2 {
				c.afterPrompt() // "invalid entry", the PIN prompt again
				c.keys(tc.pin + "#")
			}
			if r := c.bye(); r != (media.Result{}) {
				t.Errorf("result %+v, want none", r)
			}
			if firstSteady(c.heardAudio(), 1000) >= 0 {
				t.Error("a message was heard without the PIN")
			}
		})
	}
	t.Cleanup(func() { // after the parallel subtests
		if vs := e.list(t); len(vs) != 1 || vs[0].Status != xc5.VoicemailNew {
			t.Errorf("mailbox after wrong PINs: %+v; want the message, new", vs)
		}
	})
}

// TestVoicemailStarToMailbox: '*' during the greeting leads to the PIN
// prompt; the right PIN opens the mailbox and its message is heard.
// Nothing is recorded.
func TestVoicemailStarToMailbox(t *testing.T) {
	t.Parallel()
	e := newMailboxEnv(t)
	e.put(t, 1000, 1500*time.Millisecond, time.Now())
	c := newPhone(t).call(t, e.svc, media.AppVoicemail, media.Request{Mailbox: e.guid, Account: "box.test", From: "6499290085"})
	c.waitFor("the greeting", func(h []int16) bool { return audiotest.Energy(h[len(h)-800:]) > 1e-5 })
	c.keys("*")
	c.afterPrompt() // the PIN prompt, cut short by nothing
	c.keys(mailboxPIN + "#1")
	c.waitSteady(1000, 500*time.Millisecond)
	c.hangup()
	waitLegs(t, e.svc)
	if vs := e.list(t); len(vs) != 1 {
		t.Fatalf("%d messages, want the one left before", len(vs))
	}
}

// TestMailboxGreetingByPhone: 0 then 1 records the account's greeting
// (700 Hz), played back, kept with 1; the next caller hears it instead
// of the system greeting, then the beep. 0 then 2 goes back to the
// system greeting.
func TestMailboxGreetingByPhone(t *testing.T) {
	t.Parallel()
	e := newMailboxEnv(t)
	c := e.login(t, e.guid, mailboxPIN)
	c.keys("01")
	c.waitHear(1000, true) // the beep
	c.waitHear(1000, false)
	c.say(audiotest.Tone(700, 8000, 8000*3/2, 0.4))
	for c.saying() {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	c.keys("#")
	c.waitSteady(700, 500*time.Millisecond) // played back
	c.keys("1")
	c.afterPrompt() // "your recording has been saved", the main menu
	c.hangup()
	waitLegs(t, e.svc)
	if g, err := e.store.MailboxGreeting(context.Background(), e.guid); err != nil || len(g) == 0 {
		t.Fatalf("greeting after recording: %d bytes, %v", len(g), err)
	}

	caller := newPhone(t).call(t, e.svc, media.AppVoicemail, media.Request{Mailbox: e.guid, From: "6499290085"})
	caller.waitHear(1000, true) // the beep after the greeting
	caller.hangup()
	if at := firstSteady(caller.heardAudio(), 700); at < 0 {
		t.Fatal("the caller did not hear the recorded greeting")
	}

	c = e.login(t, e.guid, mailboxPIN)
	c.keys("02")
	c.afterPrompt() // "callers will now hear the standard greeting", the main menu
	c.hangup()
	waitLegs(t, e.svc)
	if _, err := e.store.MailboxGreeting(context.Background(), e.guid); xc5.ErrorCode(err) != xc5.ENOTFOUND {
		t.Fatalf("greeting after 0 2: %v, want none", err)
	}
}
