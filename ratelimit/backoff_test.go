package ratelimit

import (
	"testing"
	"time"
)

// TestBackoffNoOverflow: the block doubles per strike up to MaxBackoff and
// stays there for any number of strikes, whatever the window (a shift of
// a one-minute window by 29 overflowed to a negative block).
func TestBackoffNoOverflow(t *testing.T) {
	tests := []struct {
		window, max time.Duration
	}{
		{time.Minute, 16 * time.Minute},
		{time.Minute, 1 << 62},
		{time.Second, time.Hour},
		{time.Hour, 1<<63 - 1},
	}
	for _, tt := range tests {
		prev := time.Duration(0)
		for strikes := 1; strikes <= 100; strikes++ {
			d := backoff(tt.window, tt.max, strikes)
			want := tt.max
			if strikes < 63 && tt.window<<(strikes-1)>>(strikes-1) == tt.window && tt.window<<(strikes-1) < tt.max {
				want = tt.window << (strikes - 1)
			}
			if d != want || d < prev {
				t.Fatalf("window %v, max %v, strikes %d: block %v, want %v (previous %v)", tt.window, tt.max, strikes, d, want, prev)
			}
			prev = d
		}
	}
	// Through the entry, as the limiter uses it: strikes 1..100 never
	// give a block in the past or beyond MaxBackoff.
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	e := &entry{strikes: 0}
	for i := 1; i <= 100; i++ {
		e.fails = 0
		e.fail(now, 1, time.Minute, 1<<62)
		if d := e.until.Sub(now); d < time.Minute || d > 1<<62 {
			t.Fatalf("strike %d: block %v", i, d)
		}
	}
}

// TestKeysBounded: the keys of the table and of the shared counter are
// bounded, whatever the username and address.
func TestKeysBounded(t *testing.T) {
	long := string(make([]byte, 64<<10))
	for _, k := range keys(long, long) {
		if len(k) > 2*MaxUsername {
			t.Errorf("key of %d bytes", len(k))
		}
	}
}
