package service

import (
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/media"
)

const promptGUID = "6F1C3E0A-0000-4000-8000-000000000001"

// TestMenuRFC4733 is the menu's main path: the caller hears the prompt
// (a 1 kHz tone) and presses 5666 by RFC 4733; the BYE says key=5666.
func TestMenuRFC4733(t *testing.T) {
	store := newMemStore()
	store.prompts[promptGUID] = toneWAV(1000, 700*time.Millisecond)
	s := startService(t, store, Timeouts{})
	c := newPhone(t).call(t, s, media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1", "5666", "57"}})
	c.waitHear(1000, true)
	c.waitHear(1000, false)
	c.keys("5666")
	if r := c.bye(); r.Key != "5666" {
		t.Fatalf("key %q, want 5666", r.Key)
	}
	if !audiotest.Has(c.heardAudio(), 8000, 1000) {
		t.Fatal("the caller did not hear the prompt")
	}
}

// TestMenuInfo reads keys sent by SIP INFO in both body formats.
func TestMenuInfo(t *testing.T) {
	store := newMemStore()
	store.prompts[promptGUID] = toneWAV(1000, 300*time.Millisecond)
	s := startService(t, store, Timeouts{})
	p := newPhone(t)
	for _, tc := range []struct{ ct, body, want string }{
		{"application/dtmf-relay", "Signal=2\r\nDuration=160\r\n", "2"},
		{"application/dtmf", "#", "#"},
		{"application/dtmf-relay", "Signal=11\r\nDuration=100\r\n", "#"},
	} {
		t.Run(tc.ct+" "+tc.want, func(t *testing.T) {
			c := p.call(t, s, media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1", "2", "#"}})
			c.waitHear(1000, true)
			if err := c.info(tc.ct, tc.body); err != nil {
				t.Fatal(err)
			}
			if r := c.bye(); r.Key != tc.want {
				t.Fatalf("key %q, want %q", r.Key, tc.want)
			}
		})
	}
}

// TestMenuNoInput offers the menu three times, then ends with no key.
func TestMenuNoInput(t *testing.T) {
	store := newMemStore()
	store.prompts[promptGUID] = toneWAV(1000, 400*time.Millisecond)
	s := startService(t, store, Timeouts{FirstDigit: 500 * time.Millisecond})
	c := newPhone(t).call(t, s, media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1"}})
	if r := c.bye(); r.Key != "" {
		t.Fatalf("key %q, want none", r.Key)
	}
	if runs, _ := toneRuns(c.heardAudio(), 1000); runs != 3 {
		t.Fatalf("prompt heard %d times, want 3", runs)
	}
}

// TestMenuInvalidThenValid: a key that leads nowhere plays "invalid
// entry" and the menu again; a right key then counts.
func TestMenuInvalidThenValid(t *testing.T) {
	store := newMemStore()
	store.prompts[promptGUID] = toneWAV(1000, 400*time.Millisecond)
	s := startService(t, store, Timeouts{})
	c := newPhone(t).call(t, s, media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1", "23"}})
	c.waitHear(1000, true)
	c.waitHear(1000, false)
	c.keys("9")
	c.waitHear(1000, true) // the menu again, after "invalid entry"
	c.waitHear(1000, false)
	c.keys("23")
	if r := c.bye(); r.Key != "23" {
		t.Fatalf("key %q, want 23", r.Key)
	}
	if runs, _ := toneRuns(c.heardAudio(), 1000); runs != 2 {
		t.Fatalf("prompt heard %d times, want 2", runs)
	}
}

// TestMenuBargeIn: a key pressed while the prompt plays stops it.
func TestMenuBargeIn(t *testing.T) {
	store := newMemStore()
	store.prompts[promptGUID] = toneWAV(1000, 8*time.Second)
	s := startService(t, store, Timeouts{})
	c := newPhone(t).call(t, s, media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1", "2"}})
	c.waitHear(1000, true)
	c.keys("2")
	if r := c.bye(); r.Key != "2" {
		t.Fatalf("key %q, want 2", r.Key)
	}
	// Of the 8 s prompt the caller heard what played before the key.
	if _, windows := toneRuns(c.heardAudio(), 1000); windows > 30 {
		t.Fatalf("heard %d ms of the prompt after pressing a key early", windows*100)
	}
}

// TestMenuMissingPrompt: a prompt that does not exist is silence, not a
// failure; the menu still reads a key.
func TestMenuMissingPrompt(t *testing.T) {
	s := startService(t, newMemStore(), Timeouts{})
	c := newPhone(t).call(t, s, media.AppMenu, media.Request{Prompt: "missing", Keys: []string{"7"}})
	time.Sleep(200 * time.Millisecond)
	c.keys("7")
	if r := c.bye(); r.Key != "7" {
		t.Fatalf("key %q, want 7", r.Key)
	}
}

// TestMenuTCP runs a menu whose SIP goes over TCP.
func TestMenuTCP(t *testing.T) {
	store := newMemStore()
	store.prompts[promptGUID] = toneWAV(1000, 300*time.Millisecond)
	s := startService(t, store, Timeouts{})
	c := newPhoneOn(t, "tcp").call(t, s, media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1", "2"}})
	c.waitHear(1000, true)
	if err := c.info("application/dtmf-relay", "Signal=2\r\n"); err != nil {
		t.Fatal(err)
	}
	if r := c.bye(); r.Key != "2" {
		t.Fatalf("key %q, want 2", r.Key)
	}
}

// TestMenuInvalidThrice ends with no key after three invalid entries.
func TestMenuInvalidThrice(t *testing.T) {
	store := newMemStore()
	store.prompts[promptGUID] = toneWAV(1000, 300*time.Millisecond)
	s := startService(t, store, Timeouts{})
	c := newPhone(t).call(t, s, media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1"}})
	for range 3 {
		c.waitHear(1000, true)
		c.waitHear(1000, false)
		c.keys("9")
	}
	if r := c.bye(); r.Key != "" {
		t.Fatalf("key %q, want none", r.Key)
	}
	if runs, _ := toneRuns(c.heardAudio(), 1000); runs != 3 {
		t.Fatalf("prompt heard %d times, want 3", runs)
	}
}
