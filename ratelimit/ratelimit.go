// Package ratelimit limits password guessing for the api-sys and portal
// logins and SIP digest authentication, in the manner of fail2ban and Kamailio's
// pike with a per-user exponential backoff.
//
// A check of a password (an argon2 hash for the API, a digest for SIP) is
// decided before it is made: Reserve takes a slot atomically, counting the
// checks still in progress as if they had failed, so that any number of
// parallel requests cannot overshoot a budget; the slot is then confirmed
// as a failure or a success, or released when nothing was learnt (the
// store was unreachable).
//
// Three budgets, each per window (one minute by default):
//
//   - an address may fail PerAddress times, for any usernames;
//   - an address may fail Tries times for one username while it still
//     counts as clean for that username: a clean address is always checked
//     (subject to its own PerAddress), whatever happens elsewhere, so that
//     the real user at an address that has not been failing is never
//     refused (a lockout is a denial of service);
//   - once an address is failing for a username, its guesses for that
//     username are checked only while the username has had fewer than
//     PerUser failures (from every address) in the window.
//
// A budget used up in a window blocks its key until window×2^(n-1) after
// the failure that used it up, for the n-th time in a row, up to
// MaxBackoff; a window without that resets n. So an attacker spread over
// N addresses gets at most N×Tries guesses at one username in the first
// window, and Tries per address per MaxBackoff once it keeps going, while
// the username's failing addresses stay refused.
//
// An address is an IPv4 address or an IPv6 /64 (AddrKey), since one host
// holds a whole /64; a username longer than MaxUsername counts under one
// shared key (UserKey). The table of keys is bounded by MaxKeys; when it
// is full the entries that hold least are evicted (evictLocked), never
// the check refused nor a new key left uncounted.
package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Counter counts failures per key and minute where every node sharing a
// database sees them (sqlstore.Store implements it).
type Counter interface {
	// AddFailures counts one failure under each key, in one write.
	AddFailures(ctx context.Context, keys []string, now time.Time) error
	// Failures returns the failures of each key this minute, in order.
	Failures(ctx context.Context, keys []string, now time.Time) ([]int, error)
}

// Config sets the budgets; zero values take the defaults.
type Config struct {
	// Window is the counting window. Default one minute (the shared
	// Counter counts per minute).
	Window time.Duration
	// PerAddress is the failures allowed per address and window; negative
	// means no limit. Default 30.
	PerAddress int
	// Tries is the failures an address may have for one username before
	// it counts as failing for it. Default 3.
	Tries int
	// PerUser is the failures per username and window beyond which
	// failing addresses are refused for it; negative means no per-user
	// limit. Default 10.
	PerUser int
	// MaxBackoff caps how long a used-up budget blocks. Default 16 windows.
	MaxBackoff time.Duration
	// MaxKeys bounds the keys tracked. A new key is always tracked: when
	// the table is full, the entries that hold least are forgotten first
	// (see evictLocked). Default 100,000.
	MaxKeys int
	// Shared, when set, adds the failures other nodes counted.
	Shared Counter
}

// Reason says which budget refused an attempt.
type Reason int

const (
	// Address: the source address has failed too often.
	Address Reason = iota + 1
	// User: the address is failing for this username and the username
	// has failed too often.
	User
)

// Refused is the error of a refused attempt.
type Refused struct {
	Reason Reason
	// RetryAfter is when the attempt would be considered again.
	RetryAfter time.Duration
}

func (r *Refused) Error() string {
	if r.Reason == User {
		return "too many failed authentications for this username"
	}
	return "too many failed authentications from this address"
}

// Stats are the limiter's counters since it was made.
type Stats struct {
	Checked int64 // slots granted: passwords checked
	Refused int64 // attempts refused without a check
	Failed  int64 // checks confirmed as failures
	Keys    int   // addresses, pairs and usernames tracked now
}

// Limiter holds the counts of one service (the API or SIP).
type Limiter struct {
	cfg     Config
	budgets [nKinds]int
	mu      sync.Mutex
	m       map[string]*entry
	pruned  time.Time // last prune
	checked atomic.Int64
	refused atomic.Int64
	failed  atomic.Int64
}

// The kinds of key, in the order a slot holds them.
const (
	kindAddr = iota
	kindPair
	kindUser
	nKinds
)

var prefixes = [nKinds]string{"ip:", "pair:", "user:"}

// New returns a limiter with cfg's budgets.
func New(cfg Config) *Limiter {
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	if cfg.PerAddress == 0 {
		cfg.PerAddress = 30
	}
	if cfg.Tries <= 0 {
		cfg.Tries = 3
	}
	if cfg.PerUser == 0 {
		cfg.PerUser = 10
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 16 * cfg.Window
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100000
	}
	l := &Limiter{cfg: cfg, m: map[string]*entry{}}
	l.budgets = [nKinds]int{cfg.PerAddress, cfg.Tries, cfg.PerUser}
	return l
}

// Stats returns the counters.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	n := len(l.m)
	l.mu.Unlock()
	return Stats{Checked: l.checked.Load(), Refused: l.refused.Load(), Failed: l.failed.Load(), Keys: n}
}

// keys returns the three keys of an attempt; also the shared Counter's
// keys, "ip:" and "user:" as before the pair was added. Each is bounded:
// addresses by AddrKey, usernames by UserKey.
func keys(addr, user string) [nKinds]string {
	addr, user = AddrKey(addr), UserKey(user)
	return [nKinds]string{prefixes[kindAddr] + addr, prefixes[kindPair] + user + "|" + addr, prefixes[kindUser] + user}
}

// Blocked reports whether addr has used up its own budget, before any
// username is known (SIP answers such an address without a challenge).
func (l *Limiter) Blocked(addr string, now time.Time) (time.Duration, bool) {
	if l.cfg.PerAddress < 0 {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[prefixes[kindAddr]+AddrKey(addr)]
	if e == nil {
		return 0, false
	}
	e.roll(now, l.cfg.Window, l.cfg.PerAddress)
	wait := e.wait(now, l.cfg.Window, l.cfg.PerAddress, 0)
	return wait, wait > 0
}

// Allows reports whether user may be tried from addr now, without taking
// a slot, from this node's counts alone: for requests answered without a
// check (the API's cache of verified credentials), which must not let a
// refused address try passwords against the cache.
func (l *Limiter) Allows(addr, user string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.lookup(keys(addr, user), now)
	var ref *Refused
	if err := l.decide(s, [nKinds]int{}, now); errors.As(err, &ref) {
		return ref.RetryAfter, false
	}
	return 0, true
}

// Reserve decides, before the check, whether user may be tried from addr,
// and takes a slot if so. The slot must be ended by exactly one of Fail,
// Succeed or Release. A refusal is a *Refused.
func (l *Limiter) Reserve(ctx context.Context, addr, user string, now time.Time) (*Slot, error) {
	k := keys(addr, user)
	var shared [nKinds]int
	if c := l.cfg.Shared; c != nil {
		// Decide locally first, so that an attempt this node refuses
		// costs the database nothing.
		if err := l.refuse(k, shared, now); err != nil {
			return nil, err
		}
		if n, err := c.Failures(ctx, k[:], now); err == nil && len(n) == nKinds {
			copy(shared[:], n)
		} // unreachable: the local counts still hold
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.lookup(k, now)
	if err := l.decide(s, shared, now); err != nil {
		l.refused.Add(1)
		return nil, err
	}
	for i, e := range s.e {
		if l.m[k[i]] != e {
			l.keep(k[i], e, now)
		}
		e.pending++
	}
	l.checked.Add(1)
	return s, nil
}

// refuse is the decision of Reserve on the counts at hand, without taking
// a slot; a refusal is counted.
func (l *Limiter) refuse(k [nKinds]string, shared [nKinds]int, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.decide(l.lookup(k, now), shared, now)
	if err != nil {
		l.refused.Add(1)
	}
	return err
}

// lookup returns a slot over the entries of k, current to now; keys not
// tracked get fresh entries that are kept only if a slot is granted, so
// that refused attempts cost no memory. Callers hold l.mu.
func (l *Limiter) lookup(k [nKinds]string, now time.Time) *Slot {
	s := &Slot{l: l, keys: k}
	for i := range k {
		if s.e[i] = l.m[k[i]]; s.e[i] == nil {
			s.e[i] = &entry{start: now}
		}
		s.e[i].roll(now, l.cfg.Window, l.budgets[i])
	}
	return s
}

// decide applies the rule of the package comment. Callers hold l.mu.
func (l *Limiter) decide(s *Slot, shared [nKinds]int, now time.Time) error {
	w := l.cfg.Window
	if l.cfg.PerAddress >= 0 {
		if wait := s.e[kindAddr].wait(now, w, l.cfg.PerAddress, shared[kindAddr]); wait > 0 {
			return &Refused{Reason: Address, RetryAfter: wait}
		}
	}
	if l.cfg.PerUser < 0 {
		return nil
	}
	failing := s.e[kindPair].wait(now, w, l.cfg.Tries, shared[kindPair])
	if failing == 0 {
		return nil // a clean address for this username
	}
	if wait := s.e[kindUser].wait(now, w, l.cfg.PerUser, shared[kindUser]); wait > 0 {
		return &Refused{Reason: User, RetryAfter: min(wait, failing)}
	}
	return nil
}

// keep tracks a new entry, always: a key left untracked would see a fresh
// entry on every attempt, and so never be limited. Once a window it
// forgets the keys that hold nothing any more; when the table is still
// full it evicts. Callers hold l.mu.
func (l *Limiter) keep(key string, e *entry, now time.Time) {
	if now.Sub(l.pruned) >= l.cfg.Window {
		l.pruneLocked(now)
	}
	if len(l.m) >= l.cfg.MaxKeys {
		l.evictLocked(now)
	}
	l.m[key] = e
}

// Prune forgets the keys that no longer hold anything: no check in
// progress, window over, no backoff to remember.
func (l *Limiter) Prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
}

func (l *Limiter) pruneLocked(now time.Time) {
	l.pruned = now
	w := l.cfg.Window
	for k, e := range l.m {
		if e.pending == 0 && now.Sub(e.start) >= w && now.Sub(e.until) >= w {
			delete(l.m, k)
		}
	}
}

// Slot is a reserved check.
type Slot struct {
	l    *Limiter
	keys [nKinds]string
	e    [nKinds]*entry
	done bool
}

// Fail confirms a failed check: it counts for the address, the pair and
// the username, here and (with a shared Counter) on every node.
func (s *Slot) Fail(ctx context.Context, now time.Time) {
	l := s.l
	l.mu.Lock()
	if s.done {
		l.mu.Unlock()
		return
	}
	s.done = true
	l.failed.Add(1)
	for i, e := range s.e {
		e.pending--
		e.fail(now, l.budgets[i], l.cfg.Window, l.cfg.MaxBackoff)
	}
	l.mu.Unlock()
	if c := l.cfg.Shared; c != nil {
		c.AddFailures(ctx, s.keys[:], now)
	}
}

// Succeed confirms a right password: the address is clean again for this
// username (its own count and the username's stay, so that logging in to
// an account of one's own buys no guesses at others).
func (s *Slot) Succeed() {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.end() {
		p := s.e[kindPair]
		p.fails, p.strikes, p.until = 0, 0, time.Time{}
		s.forget()
	}
}

// Release gives the slot back uncounted: nothing was learnt about the
// password (the store could not be read).
func (s *Slot) Release() {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.end() {
		s.forget()
	}
}

// end frees the slot's reservations once. Callers hold l.mu.
func (s *Slot) end() bool {
	if s.done {
		return false
	}
	s.done = true
	for _, e := range s.e {
		e.pending--
	}
	return true
}

// forget drops the slot's entries that hold nothing any more, so that the
// logins of every phone and client do not fill the table. Callers hold
// l.mu.
func (s *Slot) forget() {
	for i, e := range s.e {
		if e.pending == 0 && e.fails == 0 && e.strikes == 0 && s.l.m[s.keys[i]] == e {
			delete(s.l.m, s.keys[i])
		}
	}
}

// backoff is the block of the strikes-th budget used up in a row:
// window×2^(strikes-1), at most maxBackoff, doubling only while below it
// so that no number of strikes overflows.
func backoff(window, maxBackoff time.Duration, strikes int) time.Duration {
	d := window
	for i := 1; i < strikes; i++ {
		if d > maxBackoff/2 {
			return maxBackoff
		}
		d *= 2
	}
	return min(d, maxBackoff)
}

// entry counts one key.
type entry struct {
	start   time.Time // window start
	fails   int       // failures in the window
	pending int       // checks in progress
	strikes int       // windows in a row whose budget was used up
	until   time.Time // blocked until (backoff)
}

// roll starts a new window when the current one is over and no backoff
// holds; a window that ended within budget, or a calm window after the
// last block, ends the backoff.
func (e *entry) roll(now time.Time, window time.Duration, budget int) {
	if now.Before(e.until) || now.Sub(e.start) < window {
		return
	}
	if e.fails < budget || now.Sub(e.until) >= window {
		e.strikes = 0
	}
	e.start, e.fails = now, 0
}

// wait returns how long until the key may be tried again, 0 if now.
// Checks in progress count as failures; shared is the count of every node
// this minute.
func (e *entry) wait(now time.Time, window time.Duration, budget, shared int) time.Duration {
	if now.Before(e.until) {
		return e.until.Sub(now)
	}
	fails := max(e.fails, shared)
	switch {
	case fails >= budget && e.fails >= budget:
		return max(e.start.Add(window).Sub(now), time.Second)
	case fails >= budget: // counted by other nodes this minute
		return max(now.Truncate(time.Minute).Add(time.Minute).Sub(now), time.Second)
	case fails+e.pending >= budget:
		return time.Second // checks in progress may still succeed
	}
	return 0
}

// fail counts a failure; the one that uses up the budget starts a block of
// window×2^(strikes-1), at most maxBackoff.
func (e *entry) fail(now time.Time, budget int, window, maxBackoff time.Duration) {
	e.fails++
	if budget < 0 || e.fails != budget {
		return
	}
	e.strikes++
	e.until = now.Add(backoff(window, maxBackoff, e.strikes))
}
