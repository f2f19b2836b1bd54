package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"xc5/ratelimit"
)

var (
	ctx = context.Background()
	t0  = time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
)

// refusal returns the reason of a refused Reserve, 0 when granted.
func refusal(t *testing.T, err error) ratelimit.Reason {
	t.Helper()
	if err == nil {
		return 0
	}
	var r *ratelimit.Refused
	if !errors.As(err, &r) || r.RetryAfter <= 0 {
		t.Fatalf("Reserve error %v, want a *Refused with a RetryAfter", err)
	}
	return r.Reason
}

// failN reserves and fails n attempts of user from addr at now.
func failN(t *testing.T, l *ratelimit.Limiter, n int, addr, user string, now time.Time) {
	t.Helper()
	for i := range n {
		s, err := l.Reserve(ctx, addr, user, now)
		if err != nil {
			t.Fatalf("failure %d of %s from %s: %v", i+1, user, addr, err)
		}
		s.Fail(ctx, now)
	}
}

// TestReserveConcurrent: slots are taken atomically, so parallel attempts
// never exceed a budget, whichever budget binds.
func TestReserveConcurrent(t *testing.T) {
	tests := []struct {
		name string
		user func(i int) string
		want int
	}{
		{"spray over usernames: the address's budget", func(i int) string { return fmt.Sprint("u", i) }, 30},
		{"one username: its budget", func(int) string { return "admin" }, 10},
	}
	for _, tt := range tests {
		l := ratelimit.New(ratelimit.Config{PerAddress: 30, PerUser: 10, Tries: 3})
		var mu sync.Mutex
		var slots []*ratelimit.Slot
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s, err := l.Reserve(ctx, "192.0.2.1", tt.user(i), t0); err == nil {
					mu.Lock()
					slots = append(slots, s)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(slots) != tt.want {
			t.Errorf("%s: %d slots granted, want %d", tt.name, len(slots), tt.want)
		}
		if st := l.Stats(); st.Checked != int64(tt.want) || st.Refused != int64(200-tt.want) {
			t.Errorf("%s: stats %+v", tt.name, st)
		}
	}
}

// TestRule: the decisions of the package rule, step by step.
func TestRule(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{PerAddress: 20, PerUser: 4, Tries: 2})
	// Four failures for admin from one address: two clean, two more from
	// the then failing address within the username's budget.
	failN(t, l, 4, "a1", "admin", t0)
	steps := []struct {
		addr, user string
		want       ratelimit.Reason
	}{
		{"a1", "admin", ratelimit.User},  // failing for admin, admin's budget used up
		{"a1", "other", 0},               // clean for another username
		{"a2", "admin", 0},               // an address that has not been failing
		{"a2", "admin", 0},               // its second try
		{"a2", "admin", ratelimit.User},  // now failing too
		{"a3", "admin", 0},               // and the next clean address
		{"a1", "admin", ratelimit.User},  // still refused
		{"a9", "victim", 0},              // others untouched
		{"a9", "victim", 0},              //
		{"a9", "victim", 0},              // failing for victim, within its budget
		{"a9", "victim", 0},              //
		{"a9", "victim", ratelimit.User}, // budget used up
	}
	for i, st := range steps {
		s, err := l.Reserve(ctx, st.addr, st.user, t0)
		if got := refusal(t, err); got != st.want {
			t.Fatalf("step %d (%s from %s): reason %d, want %d", i, st.user, st.addr, got, st.want)
		}
		if s != nil {
			s.Fail(ctx, t0)
		}
	}
	// A right password from a clean address makes it clean again for
	// that username; Release counts nothing.
	l2 := ratelimit.New(ratelimit.Config{PerAddress: 20, PerUser: 1, Tries: 2})
	failN(t, l2, 1, "b1", "admin", t0)
	s, _ := l2.Reserve(ctx, "b1", "admin", t0)
	s.Succeed()
	for range 3 {
		s, err := l2.Reserve(ctx, "b1", "admin", t0)
		if err != nil {
			t.Fatalf("released attempts counted: %v", err)
		}
		s.Release()
	}
	failN(t, l2, 2, "b1", "admin", t0)
	if _, err := l2.Reserve(ctx, "b1", "admin", t0); refusal(t, err) != ratelimit.User {
		t.Errorf("after two failures past a success: %v, want a User refusal", err)
	}
	if st := l2.Stats(); st.Failed != 3 {
		t.Errorf("Failed = %d, want 3", st.Failed)
	}
}

// TestBackoff: a budget used up again right after its block doubles the
// block, up to MaxBackoff; a calm window starts over.
func TestBackoff(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{PerAddress: 3, PerUser: -1, Window: time.Minute, MaxBackoff: 4 * time.Minute})
	now := t0
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
		failN(t, l, 3, "a1", fmt.Sprint("u", i), now)
		wait, blocked := l.Blocked("a1", now)
		if !blocked || wait != want {
			t.Fatalf("round %d: blocked %v for %v, want %v", i+1, blocked, wait, want)
		}
		if _, blocked := l.Blocked("a1", now.Add(want-time.Second)); !blocked {
			t.Fatalf("round %d: not blocked before %v", i+1, want)
		}
		now = now.Add(want)
		if _, blocked := l.Blocked("a1", now); blocked {
			t.Fatalf("round %d: still blocked after %v", i+1, want)
		}
	}
	now = now.Add(time.Minute) // a calm window
	failN(t, l, 3, "a1", "calm", now)
	if wait, _ := l.Blocked("a1", now); wait != time.Minute {
		t.Errorf("after a calm window: blocked for %v, want 1m", wait)
	}
}

// TestMaxKeys: past MaxKeys, new keys are not kept, and Prune frees the
// keys whose windows are over.
func TestMaxKeys(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{PerAddress: 1, PerUser: -1, MaxKeys: 6})
	for i := range 3 { // three keys each (address, pair, username)
		failN(t, l, 1, fmt.Sprint("a", i), fmt.Sprint("u", i), t0)
	}
	if _, blocked := l.Blocked("a2", t0); blocked {
		t.Errorf("a key past MaxKeys was kept")
	}
	if _, blocked := l.Blocked("a0", t0); !blocked {
		t.Errorf("a0 not blocked")
	}
	l.Prune(t0.Add(3 * time.Minute))
	failN(t, l, 1, "a2", "u2", t0.Add(3*time.Minute))
	if _, blocked := l.Blocked("a2", t0.Add(3*time.Minute)); !blocked {
		t.Errorf("after Prune, a new key is still not kept")
	}
}

// TestMemory: successful and released checks leave nothing behind, and
// refused attempts add nothing, so that every phone's registrations and a
// blocked address spraying usernames cost no table space.
func TestMemory(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{PerAddress: 2, PerUser: 10})
	for i := range 1000 {
		s, err := l.Reserve(ctx, fmt.Sprint("phone", i), fmt.Sprint("u", i), t0)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			s.Succeed()
		} else {
			s.Release()
		}
	}
	if n := l.Stats().Keys; n != 0 {
		t.Errorf("%d keys tracked after successes and releases, want 0", n)
	}
	failN(t, l, 2, "attacker", "a", t0)
	n := l.Stats().Keys
	for i := range 1000 {
		if _, err := l.Reserve(ctx, "attacker", fmt.Sprint("spray", i), t0); refusal(t, err) != ratelimit.Address {
			t.Fatalf("spray %d: %v, want an Address refusal", i, err)
		}
	}
	if got := l.Stats().Keys; got != n {
		t.Errorf("%d keys after 1000 refused attempts, want %d", got, n)
	}
}
