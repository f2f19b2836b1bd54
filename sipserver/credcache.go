package sipserver

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"xc5"
	"xc5/resource"
)

// credTTL bounds how long cached digest secrets are trusted without a
// change notification; notifications normally drop them at once.
const credTTL = 30 * time.Second

// maxCreds bounds the cache; when full it starts over.
const maxCreds = 200000

// credCache keeps the digest secrets of accounts that registered or
// called lately: a REGISTER looks an account up several times (realm,
// credentials, third-party check) and phones refresh all the time. Only
// found accounts are kept, so a spray of unknown names costs no memory.
// Entries are dropped when the store reports a change to the account
// (locally before the write returns, from other nodes through the feed).
type credCache struct {
	xc5.RegistrarStore
	mu  sync.Mutex
	gen uint64
	m   map[string]credEntry
	// last keeps the secrets of every account read lately, across change
	// notifications and expiry, for emergency calls only: with the store
	// away a phone's 111 authenticates with them (docs/routing.md,
	// "Emergency calls"). The routing view, which follows changes, still
	// decides whether the account exists and is enabled. A change
	// notification keeps them but makes them stale (their gen is older):
	// the password may have changed, so a mismatch against them never
	// reads as a wrong password (see lastKnownMismatch).
	last map[string]lastEntry
	now  func() time.Time
	// fresh reports whether this node hears of every change before it
	// is acknowledged (the store's read fence between nodes); while it
	// does not, cached secrets are neither used nor kept.
	fresh func() bool
	// list reads every account's secrets at once, for warm; nil when the
	// store cannot.
	list credLister
}

// credLister is a store that can read the secrets of many accounts in
// one query (*sqlstore.Store can).
type credLister interface {
	AllSIPCredentials(ctx context.Context, limit int) ([]xc5.SIPCredentials, error)
}

type credEntry struct {
	c       xc5.SIPCredentials
	expires time.Time
}

// lastEntry is a last-known secret and the change generation it was read
// in: older than credCache.gen means an account changed since.
type lastEntry struct {
	c   xc5.SIPCredentials
	gen uint64
}

// withCredCache wraps store's registrar with the cache, which the store's
// change notifications and read fence keep current.
func withCredCache(store Store, now func() time.Time) xc5.RegistrarStore {
	c := &credCache{RegistrarStore: store, m: map[string]credEntry{}, last: map[string]lastEntry{}, now: now, fresh: store.Fresh}
	c.list, _ = store.(credLister)
	store.OnChange(func(ch resource.Change) {
		switch ch.Resource {
		case nil, resource.Account, resource.Child, resource.Hydra:
			c.mu.Lock()
			c.gen++
			c.m = map[string]credEntry{} // renames and moves make a targeted drop unreliable; writes are rare
			c.mu.Unlock()
		}
	})
	return c
}

// SIPCredentials implements xc5.RegistrarStore from the cache when it can.
func (c *credCache) SIPCredentials(ctx context.Context, username string) (xc5.SIPCredentials, error) {
	key := strings.ToLower(username)
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[key]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) && c.fresh() {
		return e.c, nil
	}
	creds, err := c.RegistrarStore.SIPCredentials(ctx, username)
	if err != nil {
		if unavailable(err) && isEmergency(ctx) {
			c.mu.Lock()
			known, ok := c.last[key]
			stale := known.gen != c.gen
			c.mu.Unlock()
			if ok {
				// The store is away: an emergency call authenticates with
				// the last-known secrets rather than get 503. Other
				// requests wait for the store.
				markLastKnown(ctx, stale)
				return known.c, nil
			}
		}
		return creds, err
	}
	c.mu.Lock()
	if len(c.last) >= maxCreds {
		c.last = map[string]lastEntry{}
	}
	c.last[key] = lastEntry{c: creds, gen: gen}
	if c.gen == gen && c.fresh() { // no change since the read: the secrets are current
		if len(c.m) >= maxCreds {
			c.m = map[string]credEntry{}
		}
		c.m[key] = credEntry{c: creds, expires: now.Add(credTTL)}
	}
	c.mu.Unlock()
	return creds, nil
}

// warm fills the cache with the secrets of every account (up to half of
// maxCreds, leaving room for the rest), read in one query, and reports
// how many it added. After a restart every phone registers at once and
// each account's first REGISTER would otherwise miss the cache and read
// its account alone (6-15 % of the CPU of a registration storm in the
// profiles of docs/benchmarks.md, issue 11), and run SQLite on the
// request's goroutine, whose stack then grows. Nothing is added when an
// account changed during the read (the entries could be stale) or the
// node does not hear of every change; entries read meanwhile are kept.
func (c *credCache) warm(ctx context.Context) (int, error) {
	if c.list == nil || !c.fresh() {
		return 0, nil
	}
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	all, err := c.list.AllSIPCredentials(ctx, maxCreds/2)
	if err != nil {
		return 0, err
	}
	expires := c.now().Add(credTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || !c.fresh() {
		return 0, nil
	}
	n := 0
	for _, cr := range all {
		key := strings.ToLower(cr.Username)
		if _, ok := c.m[key]; !ok && len(c.m) < maxCreds/2 {
			c.m[key] = credEntry{c: cr, expires: expires}
			n++
		}
		// They are last-known secrets too: a phone served from the
		// cache is never read again, and its emergency calls during a
		// store outage authenticate with these (SIPCredentials).
		if _, ok := c.last[key]; !ok && len(c.last) < maxCreds {
			c.last[key] = lastEntry{c: cr, gen: gen}
		}
	}
	return n, nil
}

// warmCredentials runs the credentials cache's warm-up (see credCache.warm)
// in the background of a starting server, unless warmBeforeServing did.
func (s *Server) warmCredentials() {
	c, ok := s.reg.(*credCache)
	if !ok || s.warmed.Load() {
		return
	}
	if !waitFresh(s.ctx, c.fresh, warmWait) {
		return // never heard every change in time: accounts are read as they register
	}
	s.warm(c)
}

// warmBeforeServing warms the credentials cache before Serve reads its
// first request, when its entries can be trusted at once (a single node;
// SQLite): a storm that meets a starting server otherwise shared the CPU
// with the warm-up's read of every account, and waited for its lock, for
// the first half second (a third of the requests served then), which
// left a backlog the storm never worked off. Requests wait meanwhile in
// the sockets' buffers. A node that must first hear the change feed
// (PostgreSQL) warms in the background.
func (s *Server) warmBeforeServing() {
	if c, ok := s.reg.(*credCache); ok && c.list != nil && c.fresh() {
		s.warm(c)
	}
}

func (s *Server) warm(c *credCache) {
	if !s.warmed.CompareAndSwap(false, true) {
		return
	}
	start := time.Now()
	n, err := c.warm(s.ctx)
	switch {
	case err != nil && s.ctx.Err() == nil:
		s.log.Warn("credentials cache warm-up failed; accounts are read as they register", "err", err)
	case n > 0:
		s.log.Info("credentials cache warmed", "accounts", n, "took", time.Since(start).Round(time.Millisecond))
	}
}

// warmWait bounds how long the warm-up waits for a node that has just
// started following the change feed (PostgreSQL) to hear every change:
// before then its entries could be stale, and it would warm nothing.
const warmWait = 30 * time.Second

// waitFresh waits until fresh reports true, ctx ends or limit passes.
func waitFresh(ctx context.Context, fresh func() bool, limit time.Duration) bool {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(limit)
	for !fresh() {
		select {
		case <-ctx.Done():
			return false
		case <-deadline:
			return false
		case <-t.C:
		}
	}
	return true
}

// emergencyKey marks the context of an emergency call's INVITE.
type emergencyKey struct{}

// emergencyMark is what the credentials cache tells authentication about
// an emergency call: whether the secrets came from the last-known map (the
// store away), and whether they were stale (an account changed since).
type emergencyMark struct {
	lastKnown, stale atomic.Bool
}

// forEmergency marks ctx as an emergency call's: its credentials may come
// from expired cache entries when the store is unavailable.
func forEmergency(ctx context.Context) context.Context {
	return context.WithValue(ctx, emergencyKey{}, &emergencyMark{})
}

// isEmergency reports whether ctx is an emergency call's.
func isEmergency(ctx context.Context) bool {
	return ctx.Value(emergencyKey{}) != nil
}

// markLastKnown records on an emergency ctx that its secrets came from
// the last-known map.
func markLastKnown(ctx context.Context, stale bool) {
	if m, _ := ctx.Value(emergencyKey{}).(*emergencyMark); m != nil {
		m.lastKnown.Store(true)
		if stale {
			m.stale.Store(true)
		}
	}
}

// lastKnownMismatch reports, for a digest that did not match, whether the
// secrets it was checked against were last-known ones (and whether they
// were stale): the password may have changed while the store was away, so
// the answer is 503, not 403, and no failure is counted.
func lastKnownMismatch(ctx context.Context) (lastKnown, stale bool) {
	m, _ := ctx.Value(emergencyKey{}).(*emergencyMark)
	if m == nil {
		return false, false
	}
	return m.lastKnown.Load(), m.stale.Load()
}
