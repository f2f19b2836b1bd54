package outbox

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		first, max time.Duration
		attempts   int
		want       time.Duration
	}{
		{5 * time.Second, 10 * time.Minute, 0, 5 * time.Second},
		{5 * time.Second, 10 * time.Minute, 1, 10 * time.Second},
		{5 * time.Second, 10 * time.Minute, 3, 40 * time.Second},
		{5 * time.Second, 10 * time.Minute, 7, 10 * time.Minute},    // 640 s capped
		{5 * time.Second, 10 * time.Minute, 1000, 10 * time.Minute}, // no overflow
		{30 * time.Second, time.Hour, 6, 32 * time.Minute},
		{2 * time.Hour, time.Hour, 0, time.Hour}, // a first wait above max is capped
	} {
		if got := Backoff(c.first, c.max, c.attempts); got != c.want {
			t.Errorf("Backoff(%v, %v, %d) = %v, want %v", c.first, c.max, c.attempts, got, c.want)
		}
	}
}
