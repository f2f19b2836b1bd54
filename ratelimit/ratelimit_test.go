package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"xc5/ratelimit"
	"xc5/sqlstore"
	"xc5/storetest"
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

// TestMaxKeys: Prune frees the keys whose windows are over, and the table
// stays within MaxKeys however many keys come.
func TestMaxKeys(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{PerAddress: 1, PerUser: -1, MaxKeys: 60})
	for i := range 1000 {
		failN(t, l, 1, fmt.Sprint("a", i), fmt.Sprint("u", i), t0)
		if n := l.Stats().Keys; n > 60 {
			t.Fatalf("after %d failures: %d keys, want at most 60", i+1, n)
		}
	}
	l.Prune(t0.Add(3 * time.Minute))
	if n := l.Stats().Keys; n != 0 {
		t.Errorf("%d keys after Prune, want 0", n)
	}
}

// TestFullTable: a table filled by a flood of fresh keys (forged sources
// and random usernames, each failing once) still counts: a new address
// gets its budget and no more, a guesser blocked before the flood stays
// blocked, a username under attack stays refused to failing addresses,
// and the real user at a clean address is still checked.
func TestFullTable(t *testing.T) {
	const maxKeys, perAddr, perUser, tries = 3000, 30, 10, 3
	l := ratelimit.New(ratelimit.Config{PerAddress: perAddr, PerUser: perUser, Tries: tries, MaxKeys: maxKeys})
	now := t0
	// A guesser that used up its address's budget.
	for i := range perAddr {
		failN(t, l, 1, "198.51.100.1", fmt.Sprint("x", i), now)
	}
	// The flood: ten times the table, one failure per fresh key.
	for i := range 10 * maxKeys {
		now = now.Add(time.Millisecond)
		failN(t, l, 1, fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), fmt.Sprint("r", i), now)
	}
	if n := l.Stats().Keys; n > maxKeys {
		t.Errorf("%d keys, want at most %d", n, maxKeys)
	}
	before := l.Stats().Checked
	for i := range 1000 {
		if s, err := l.Reserve(ctx, "203.0.113.7", fmt.Sprint("guess", i), now); err == nil {
			s.Fail(ctx, now)
		}
	}
	if got := l.Stats().Checked - before; got != perAddr {
		t.Errorf("a fresh address on a full table: %d of 1000 guesses checked, want %d", got, perAddr)
	}
	if _, err := l.Reserve(ctx, "198.51.100.1", "x0", now); refusal(t, err) != ratelimit.Address {
		t.Errorf("the guesser blocked before the flood: %v, want an Address refusal", err)
	}
	// The real admin from a clean address, while the table is full.
	s, err := l.Reserve(ctx, "192.0.2.50", "admin", now)
	if err != nil {
		t.Fatalf("the real user from a clean address on a full table: %v", err)
	}
	s.Succeed()
}

// TestFullTableUser: a username's budget used up by failing addresses
// survives a flood, so that those addresses stay refused for it.
func TestFullTableUser(t *testing.T) {
	const maxKeys = 2000
	l := ratelimit.New(ratelimit.Config{PerAddress: 1000, PerUser: 4, Tries: 2, MaxKeys: maxKeys})
	failN(t, l, 4, "198.51.100.1", "admin", t0)
	now := t0
	for i := range 5 * maxKeys {
		now = now.Add(time.Millisecond)
		failN(t, l, 1, fmt.Sprintf("10.0.%d.%d", i>>8&255, i&255), fmt.Sprint("r", i), now)
	}
	if _, err := l.Reserve(ctx, "198.51.100.1", "admin", now); refusal(t, err) != ratelimit.User {
		t.Errorf("the address failing for admin after the flood: %v, want a User refusal", err)
	}
}

// TestAddrKey: IPv6 addresses count by /64, IPv4-mapped ones as IPv4,
// anything else as is (bounded).
func TestAddrKey(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct{ a, b string }{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
		{"2001:db8:1:2::1", "2001:db8:1:2::1%eth0"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"},
	}
	for _, tt := range tests {
		if ratelimit.AddrKey(tt.a) != ratelimit.AddrKey(tt.b) {
			t.Errorf("AddrKey(%q) = %q, AddrKey(%q) = %q: want one key", tt.a, ratelimit.AddrKey(tt.a), tt.b, ratelimit.AddrKey(tt.b))
		}
	}
	for _, tt := range [][2]string{{"2001:db8:1:2::1", "2001:db8:1:3::1"}, {"192.0.2.1", "192.0.2.2"}, {long, long + "y"}} {
		if ratelimit.AddrKey(tt[0]) == ratelimit.AddrKey(tt[1]) {
			t.Errorf("AddrKey(%.20q) = AddrKey(%.20q): want two keys", tt[0], tt[1])
		}
	}
	if k := ratelimit.AddrKey(long); len(k) > 64 {
		t.Errorf("AddrKey of a 5000-byte address: %d bytes", len(k))
	}
}

// TestIPv6Rotation: 5000 guesses from as many addresses of one /64 are
// one address's budget.
func TestIPv6Rotation(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{PerAddress: 30, PerUser: 10})
	checked := 0
	for i := range 5000 {
		addr := fmt.Sprintf("2001:db8:0:7:%x:%x::1", i>>16, i&0xffff)
		if s, err := l.Reserve(ctx, addr, fmt.Sprint("u", i), t0); err == nil {
			checked++
			s.Fail(ctx, t0)
		}
	}
	if checked != 30 {
		t.Errorf("%d of 5000 guesses from one /64 checked, want 30", checked)
	}
	// The next /64 is another address.
	if _, err := l.Reserve(ctx, "2001:db8:0:8::1", "u", t0); err != nil {
		t.Errorf("another /64: %v", err)
	}
}

// TestLongUsernames: usernames longer than MaxUsername count under one
// key: 1000 of them from failing addresses use up one username budget,
// and the table holds a key per address, not per username.
func TestLongUsernames(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{PerAddress: 1000, PerUser: 5, Tries: 1})
	checked := 0
	for i := range 1000 {
		user := fmt.Sprint(i, strings.Repeat("u", 64<<10))
		if s, err := l.Reserve(ctx, "192.0.2.1", user, t0); err == nil {
			checked++
			s.Fail(ctx, t0)
		}
	}
	if checked != 5 {
		t.Errorf("%d of 1000 long usernames checked, want 5 (Tries, then the one shared username budget)", checked)
	}
	if n := l.Stats().Keys; n != 3 {
		t.Errorf("%d keys, want 3 (address, pair, the long usernames' key)", n)
	}
	// A username of MaxUsername bytes is its own.
	s, err := l.Reserve(ctx, "192.0.2.1", strings.Repeat("v", ratelimit.MaxUsername), t0)
	if err != nil {
		t.Fatalf("a username of MaxUsername bytes: %v", err)
	}
	s.Release()
}

// countingStore is a real SQLite store whose Failures calls are counted.
type countingStore struct {
	*sqlstore.Store
	calls atomic.Int64
}

func (c *countingStore) Failures(ctx context.Context, keys []string, now time.Time) ([]int, error) {
	c.calls.Add(1)
	return c.Store.Failures(ctx, keys, now)
}

// TestSharedLocalFirst: with a shared counter, an attempt this node
// refuses does not query the database; one it allows does, and the
// database's counts (another node's failures) still refuse.
func TestSharedLocalFirst(t *testing.T) {
	c := &countingStore{Store: storetest.Open(t, "admin-pw-123")}
	now := time.Now()
	l := ratelimit.New(ratelimit.Config{PerAddress: 3, PerUser: -1, Shared: c})
	failN(t, l, 3, "192.0.2.1", "u", now)
	n := c.calls.Load()
	for range 100 {
		if _, err := l.Reserve(ctx, "192.0.2.1", "u", now); refusal(t, err) != ratelimit.Address {
			t.Fatalf("blocked address: %v", err)
		}
	}
	if got := c.calls.Load() - n; got != 0 {
		t.Errorf("%d database queries for 100 attempts refused locally, want 0", got)
	}
	// Another node's limiter over the same database refuses the address.
	other := ratelimit.New(ratelimit.Config{PerAddress: 3, PerUser: -1, Shared: c})
	if _, err := other.Reserve(ctx, "192.0.2.1", "u", now); refusal(t, err) != ratelimit.Address {
		t.Errorf("another node: %v, want an Address refusal from the shared count", err)
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

// TestPrunesItself: a limiter nobody calls Prune on (the API's) forgets
// the keys that hold nothing once a window, as new keys come.
func TestPrunesItself(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{PerAddress: 5, PerUser: 10})
	for i := range 100 {
		failN(t, l, 1, fmt.Sprint("192.0.2.", i), fmt.Sprint("u", i), t0)
	}
	failN(t, l, 1, "198.51.100.1", "late", t0.Add(3*time.Minute))
	if n := l.Stats().Keys; n != 3 {
		t.Errorf("%d keys three minutes on, want 3 (the last attempt's)", n)
	}
}
