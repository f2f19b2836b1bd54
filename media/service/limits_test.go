package service

import (
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
