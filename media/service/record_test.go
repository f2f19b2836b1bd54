package service

import (
	"context"
	"net/netip"
	"testing"
	"time"

	dmedia "github.com/emiago/diago/media"

	"xc5/internal/audiotest"
	"xc5/media"
	"xc5/media/prompts"
	"xc5/media/wav"
)

// TestSystemPromptsHaveNoBeep makes the tests' beep detection sound: no
// 100 ms window of a spoken system prompt holds 1 kHz.
func TestSystemPromptsHaveNoBeep(t *testing.T) {
	for _, p := range prompts.All() {
		if p.Name == prompts.Beep {
			continue
		}
		a, _ := wav.Parse(p.WAV)
		if _, w := toneRuns(a.Samples, 1000); w != 0 {
			t.Errorf("%s has %d windows of 1 kHz", p.Name, w)
		}
	}
}

// TestRecordPrompt records 2 s of 600 Hz, hears it played back and keeps
// it with 1.
func TestRecordPrompt(t *testing.T) {
	store := newMemStore()
	s := startService(t, store, Timeouts{})
	c := newPhone(t).call(t, s, media.AppRecordPrompt, media.Request{Prompt: promptGUID})
	c.waitHear(1000, true) // the beep after the instructions
	c.waitHear(1000, false)
	c.say(audiotest.Tone(600, 8000, 2*8000, 0.4))
	for c.saying() {
		time.Sleep(20 * time.Millisecond)
	}
	c.keys("#")
	c.waitHear(600, true) // played back
	c.keys("1")
	if r := c.bye(); !r.Saved {
		t.Fatal("BYE does not say saved=1")
	}
	store.mu.Lock()
	w, length := store.saved[promptGUID], store.savedLen[promptGUID]
	store.mu.Unlock()
	a, err := wav.Parse(w)
	if err != nil {
		t.Fatalf("saved prompt: %v", err)
	}
	if !audiotest.Has(a.Samples, 8000, 600) {
		t.Error("the saved prompt does not hold 600 Hz")
	}
	if length != a.Duration() || length < 1700*time.Millisecond || length > 2600*time.Millisecond {
		t.Errorf("length %v, audio %v, want about 2 s", length, a.Duration())
	}
}

// TestRecordPromptHangupKeepsNothing: hanging up before 1 saves nothing.
func TestRecordPromptHangupKeepsNothing(t *testing.T) {
	store := newMemStore()
	s := startService(t, store, Timeouts{})
	c := newPhone(t).call(t, s, media.AppRecordPrompt, media.Request{Prompt: promptGUID})
	c.waitHear(1000, true)
	c.waitHear(1000, false)
	c.say(audiotest.Tone(600, 8000, 8000*3/2, 0.4))
	for c.saying() {
		time.Sleep(20 * time.Millisecond)
	}
	c.keys("#")
	c.waitHear(600, true)
	c.hangup()
	waitLegs(t, s)
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.saved) != 0 {
		t.Fatal("a prompt was saved though the caller hung up before 1")
	}
}

// TestBadRequests: unknown apps and bad arguments get 400, an offer
// without G.711 488; none is answered.
func TestBadRequests(t *testing.T) {
	s := startService(t, newMemStore(), Timeouts{})
	p := newPhone(t)
	for _, tc := range []struct {
		name string
		app  string
		req  media.Request
		want int
	}{
		{"unknown app", "dance", media.Request{}, 400},
		{"menu without keys", media.AppMenu, media.Request{Prompt: promptGUID}, 400},
		{"voicemail for nobody", media.AppVoicemail, media.Request{}, 400},
		{"record-prompt of no prompt", media.AppRecordPrompt, media.Request{}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.invite(s, tc.app, tc.req)
			if got := inviteStatus(err); got != tc.want {
				t.Fatalf("INVITE: %v (status %d), want %d", err, got, tc.want)
			}
		})
	}
	t.Run("no G.711", func(t *testing.T) {
		_, err := newPhone(t, dmedia.CodecTelephoneEvent8000).invite(s, media.AppPlay, media.Request{})
		if got := inviteStatus(err); got != 488 {
			t.Fatalf("INVITE: %v (status %d), want 488", err, got)
		}
	})
	waitLegs(t, s)
}

// TestPlay plays the prompt and hangs up with an empty result.
func TestPlay(t *testing.T) {
	store := newMemStore()
	store.prompts[promptGUID] = toneWAV(1000, 500*time.Millisecond)
	s := startService(t, store, Timeouts{})
	c := newPhone(t).call(t, s, media.AppPlay, media.Request{Prompt: promptGUID})
	if r := c.bye(); r != (media.Result{}) {
		t.Fatalf("result %+v", r)
	}
	if !audiotest.Has(c.heardAudio(), 8000, 1000) {
		t.Fatal("the prompt was not heard")
	}
}

// TestOnlySignallingNodes: a media leg can leave voicemail in any mailbox
// and record any prompt, so only the signalling nodes' addresses may ask
// for one: any other source gets 403 before anything is answered.
func TestOnlySignallingNodes(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Store: newMemStore(), Log: testLog(t),
		Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	_, err = newPhone(t).invite(s, media.AppPlay, media.Request{})
	if got := inviteStatus(err); got != 403 {
		t.Fatalf("INVITE from an address not allowed: %v (status %d), want 403", err, got)
	}
	waitLegs(t, s)
}
