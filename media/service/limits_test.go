package service

import (
	"net"
	"testing"
	"time"

	"xc5/media"
)

// TestLegEnds: a leg ends with its BYE (and no key) when the caller's RTP
// stops, when it reaches its time cap, and when the service closes.
func TestLegEnds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tm    Timeouts
		quiet bool
		close bool
	}{
		{"RTP stops", Timeouts{RTPIdle: time.Second}, true, false},
		{"time cap", Timeouts{Leg: 1500 * time.Millisecond}, false, false},
		{"service closes", Timeouts{}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			store.prompts[promptGUID] = toneWAV(1000, 20*time.Second)
			tc.tm.FirstDigit = 20 * time.Second
			s := startService(t, store, tc.tm)
			c := newPhone(t).call(t, s, media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1"}})
			c.waitHear(1000, true)
			c.quiet.Store(tc.quiet)
			if tc.close {
				go s.Close()
			}
			if r := c.bye(); r.Key != "" {
				t.Fatalf("key %q", r.Key)
			}
			waitLegs(t, s)
		})
	}
}

// TestMalformedRTP: an RTP packet whose header extension declares more
// words than its extensions use makes diago v0.42.1's packet reader panic
// ("payload calc do not match"); the leg ends with its BYE instead of the
// process.
func TestMalformedRTP(t *testing.T) {
	store := newMemStore()
	store.prompts[promptGUID] = toneWAV(1000, 20*time.Second)
	s := startService(t, store, Timeouts{FirstDigit: 20 * time.Second})
	c := newPhone(t).call(t, s, media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1"}})
	c.waitHear(1000, true)
	raddr := c.med.MediaSession().Raddr
	conn, err := net.DialUDP("udp", nil, &raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pkt := []byte{0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, // V=2, X=1, PT 0
		0xBE, 0xDE, 0, 2, // one-byte extensions in 2 words...
		0x10, 0xAA, 0, 0, 0, 0, 0, 0, // ...of which one extension and padding
		0xFF, 0xFF, 0xFF, 0xFF}
	if _, err := conn.Write(pkt); err != nil {
		t.Fatal(err)
	}
	if r := c.bye(); r.Key != "" {
		t.Fatalf("key %q", r.Key)
	}
	waitLegs(t, s)
}
