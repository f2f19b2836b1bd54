package service

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/media"
	"xc5/media/wav"
)

const greetingGUID = "6F1C3E0A-0000-4000-8000-000000000002"

// leaveMessage calls voicemail with a 400 Hz greeting, waits for the beep
// (1 kHz) to end, sends tone for d, then presses '#'.
func leaveMessage(t *testing.T, s *Service, p *phone, d time.Duration) media.Result {
	c := p.call(t, s, media.AppVoicemail, media.Request{Prompt: greetingGUID, Mailbox: "MBOX-1",
		Email: "bob@example.com", Account: "bob", From: "+4915112345678", To: "200"})
	c.waitHear(400, true)
	c.waitHear(1000, true) // the beep
	c.waitHear(1000, false)
	c.say(audiotest.Tone(1000, 8000, int(d*8000/time.Second), 0.4))
	for c.saying() {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	c.keys("#")
	return c.bye()
}

func TestVoicemail(t *testing.T) {
	store := newMemStore()
	store.prompts[greetingGUID] = toneWAV(400, 500*time.Millisecond)
	s := startService(t, store, Timeouts{})
	r := leaveMessage(t, s, newPhone(t), 3*time.Second)
	if !r.Saved {
		t.Fatal("BYE does not say saved=1")
	}
	vms, mails := store.left()
	if len(vms) != 1 || len(mails) != 1 {
		t.Fatalf("%d voicemails and %d mails, want 1 and 1", len(vms), len(mails))
	}
	v := vms[0]
	a, err := wav.Parse(v.Audio)
	if err != nil || a.SampleRate != 8000 || a.BitsPerSample != 16 {
		t.Fatalf("stored audio: %v", err)
	}
	if !audiotest.Has(a.Samples, 8000, 1000) {
		t.Error("the message does not hold the caller's 1 kHz tone")
	}
	if d := a.Duration(); d < 2700*time.Millisecond || d > 3600*time.Millisecond || v.Duration != d {
		t.Errorf("message lasts %v (Duration %v), want about 3 s", d, v.Duration)
	}
	if v.Account != "MBOX-1" || v.From != "+4915112345678" || v.To != "200" || v.Status != "new" || v.GUID == "" {
		t.Errorf("voicemail %+v", v)
	}
	m := mails[0]
	if m.To != "bob@example.com" || len(m.Attachment) == 0 || !strings.HasSuffix(m.AttachmentName, ".wav") ||
		!strings.Contains(m.Subject, "+4915112345678") {
		t.Errorf("mail to %q subject %q attachment %q (%d bytes)", m.To, m.Subject, m.AttachmentName, len(m.Attachment))
	}
}

// TestVoicemailTooShort drops a message under MinMessage.
func TestVoicemailTooShort(t *testing.T) {
	store := newMemStore()
	store.prompts[greetingGUID] = toneWAV(400, 500*time.Millisecond)
	s := startService(t, store, Timeouts{})
	r := leaveMessage(t, s, newPhone(t), 400*time.Millisecond)
	if vms, mails := store.left(); r.Saved || len(vms)+len(mails) != 0 {
		t.Fatalf("saved=%v, %d voicemails, %d mails; want nothing", r.Saved, len(vms), len(mails))
	}
}

// TestVoicemailSilenceEnds: Silence seconds of silence end the message,
// which is kept without them.
func TestVoicemailSilenceEnds(t *testing.T) {
	store := newMemStore()
	store.prompts[greetingGUID] = toneWAV(400, 500*time.Millisecond)
	s := startService(t, store, Timeouts{Silence: time.Second})
	c := newPhone(t).call(t, s, media.AppVoicemail, media.Request{Prompt: greetingGUID, Mailbox: "MBOX-1"})
	c.waitHear(1000, true)
	c.waitHear(1000, false)
	c.say(audiotest.Tone(1000, 8000, 2*8000, 0.4)) // then silence
	if r := c.bye(); !r.Saved {
		t.Fatal("not saved")
	}
	vms, _ := store.left()
	if len(vms) != 1 {
		t.Fatalf("%d voicemails", len(vms))
	}
	if d := vms[0].Duration; d < 1700*time.Millisecond || d > 2600*time.Millisecond {
		t.Fatalf("message lasts %v, want about 2 s (the silence trimmed)", d)
	}
}

// TestVoicemailCallerHangsUp: a caller hanging up after speaking still
// leaves the message.
func TestVoicemailCallerHangsUp(t *testing.T) {
	store := newMemStore()
	store.prompts[greetingGUID] = toneWAV(400, 500*time.Millisecond)
	s := startService(t, store, Timeouts{})
	c := newPhone(t).call(t, s, media.AppVoicemail, media.Request{Prompt: greetingGUID, Mailbox: "MBOX-1"})
	c.waitHear(1000, true)
	c.waitHear(1000, false)
	c.say(audiotest.Tone(1000, 8000, 2*8000, 0.4))
	for c.saying() {
		time.Sleep(20 * time.Millisecond)
	}
	c.hangup()
	waitLegs(t, s)
	vms, _ := store.left()
	if len(vms) != 1 || vms[0].Duration < 1500*time.Millisecond {
		t.Fatalf("voicemails %d, want one of about 2 s", len(vms))
	}
}

// TestVoicemailHangupMidGreeting keeps nothing, ends the leg and leaves
// no goroutine behind.
func TestVoicemailHangupMidGreeting(t *testing.T) {
	store := newMemStore()
	s := startService(t, store, Timeouts{})
	p := newPhone(t)
	base := runtime.NumGoroutine()
	c := p.call(t, s, media.AppVoicemail, media.Request{Mailbox: "MBOX-1"}) // the system greeting
	time.Sleep(time.Second)
	if s.Legs() != 1 {
		t.Fatalf("Legs() = %d during the call", s.Legs())
	}
	if !audiotest.Has(c.heardAudio(), 8000, 1000) && audiotest.Energy(c.heardAudio()) < 1e-4 {
		t.Fatal("the caller heard nothing of the greeting")
	}
	c.hangup()
	c.close()
	waitLegs(t, s)
	if vms, mails := store.left(); len(vms)+len(mails) != 0 {
		t.Fatalf("%d voicemails, %d mails after hanging up in the greeting", len(vms), len(mails))
	}
	n := 0
	for range 100 {
		if n = runtime.NumGoroutine(); n <= base {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("%d goroutines after the call, %d before\n%s", n, base, buf[:runtime.Stack(buf, true)])
}

func waitLegs(t *testing.T, s *Service) {
	t.Helper()
	for range 200 {
		if s.Legs() == 0 {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("Legs() = %d after the call", s.Legs())
}
