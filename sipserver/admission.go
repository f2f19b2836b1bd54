package sipserver

import (
	"context"
	"sync"
	"sync/atomic"

	"xc5"
	"xc5/routing"
)

// emergencySetups are set-up slots of emergency calls (111, 112, the
// Emergency location), apart from Config.MaxCallSetups: an overloaded node
// still takes a 111, and a flood of INVITEs to 111 (which still
// authenticate) cannot take more of the CPU than these.
const emergencySetups = 32

// admitCall takes a set-up slot for a new call dialing dialed: one of
// the emergency slots for an emergency number, else one of the others.
func (b *b2bua) admitCall(dialed string) (release func(), ok bool) {
	if b.s.cfg.MaxCallSetups >= 0 && b.view.DialsEmergency(dialed) {
		return b.take(&b.emergency, emergencySetups)
	}
	return b.admit()
}

// admit takes a set-up slot for a new call, or reports overload. The
// returned release gives the slot back; it may be called more than once.
func (b *b2bua) admit() (release func(), ok bool) {
	return b.take(&b.setups, b.s.cfg.MaxCallSetups)
}

// take takes one of limit slots counted by n (negative limit: no limit).
func (b *b2bua) take(n *atomic.Int64, limit int) (release func(), ok bool) {
	if v := n.Add(1); limit >= 0 && v > int64(limit) {
		n.Add(-1)
		b.shed.Add(1)
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(func() { n.Add(-1) }) }, true
}

// Shed reports how many new calls this node refused with 503 because
// too many were being set up at once (Config.MaxCallSetups).
func (s *Server) Shed() int64 {
	s.mu.RLock()
	b := s.b2b
	s.mu.RUnlock()
	if b == nil {
		return 0
	}
	return b.shed.Load()
}

// ActiveCalls reports how many calls of the account are set up on this
// node (as caller, or as the answering party): what concurrent_limit is
// checked against.
func (s *Server) ActiveCalls(accountGUID string) int {
	s.mu.RLock()
	b := s.b2b
	s.mu.RUnlock()
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active[accountGUID]
}

// count counts the call as active for an account and for each of its
// ancestors that holds a concurrent_limit, which bounds the calls of its
// whole subtree; once per call and account, as the shared count does.
func (c *call) count(a *routing.Account) {
	for _, g := range c.countedFor(a) {
		c.countFor(g)
	}
}

func (c *call) countFor(guid string) {
	if c.own(guid) > 0 {
		return
	}
	c.mu.Lock()
	c.counted = append(c.counted, guid)
	c.mu.Unlock()
	c.b.mu.Lock()
	c.b.active[guid]++
	shared := c.b.shared
	c.b.mu.Unlock()
	if shared != nil {
		expires := c.b.s.cfg.Now().Add(c.b.s.cfg.MaxCallDuration)
		ctx, cancel := context.WithTimeout(c.b.s.ctx, c.b.s.cfg.RequestTimeout)
		err := waitStore(ctx, func() error { return shared.AddActiveCall(ctx, c.id, guid, expires) })
		cancel()
		if err != nil {
			// The row may still be written: finish deletes it anyway.
			c.log.Warn("shared call count", "err", err)
		}
	}
}

// countedFor is what count counts for an account: itself, and each
// ancestor that holds a concurrent_limit.
func (c *call) countedFor(a *routing.Account) []string {
	var gs []string
	for _, x := range c.b.view.Chain(a) {
		if x == a || x.ConcurrentLimit > 0 {
			gs = append(gs, x.GUID)
		}
	}
	return gs
}

// release stops counting the call for x's account (and its limited
// ancestors) when x leaves the call (a transferor, a parker, a replaced
// phone), but for accounts an end still in the call counts too: a call
// counts against the limits of those in it, not of those who passed it on.
func (c *call) release(x *end) {
	if x.acct == nil {
		return
	}
	c.mu.Lock()
	ends := []*end{c.caller, c.other}
	c.mu.Unlock()
	keep := map[string]bool{}
	for _, e := range ends {
		if e != nil && e != x && e.acct != nil {
			for _, g := range c.countedFor(e.acct) {
				keep[g] = true
			}
		}
	}
	var gone []string
	c.mu.Lock()
	for _, g := range c.countedFor(x.acct) {
		if keep[g] {
			continue
		}
		if i := indexOfString(c.counted, g); i >= 0 {
			c.counted = append(c.counted[:i], c.counted[i+1:]...)
			gone = append(gone, g)
		}
	}
	c.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	b := c.b
	shared := b.uncount(gone)
	if shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	for _, g := range gone {
		if err := waitStore(ctx, func() error { return shared.RemoveActiveCallFor(ctx, c.id, g) }); err != nil {
			// The call's rows all go when it ends (finish).
			c.log.Warn("shared call count: releasing an account that left the call", "err", err)
		}
	}
}

// uncount stops counting one call for each of the accounts guids and
// returns the shared count, if any, which the caller updates outside b.mu.
func (b *b2bua) uncount(guids []string) xc5.ActiveCallCounter {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.uncountLocked(guids)
	return b.shared
}

// uncountLocked is uncount for a caller that holds b.mu.
func (b *b2bua) uncountLocked(guids []string) {
	for _, g := range guids {
		if b.active[g]--; b.active[g] <= 0 {
			delete(b.active, g)
		}
	}
}

func indexOfString(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// own is how many times this call is counted for an account (0 or 1), so
// that a call does not find its own caller at the limit.
func (c *call) own(guid string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, g := range c.counted {
		if g == guid {
			n++
		}
	}
	return n
}

// atLimit reports whether the account, or an ancestor, has as many calls
// set up in its subtree besides this one as its concurrent_limit; 0 is
// no limit. A limit on a company thus binds every account the company
// creates, whatever their own limits. When the shared count cannot be
// read (the database is away) the call is taken as at its limit and
// marked for a 503 (storeDown): neither letting it through nor holding
// it is right.
func (b *b2bua) atLimit(a *routing.Account, c *call) bool {
	for _, x := range b.view.Chain(a) {
		if x.ConcurrentLimit <= 0 {
			continue
		}
		if n, ok := b.activeBesides(x.GUID, c); !ok || n >= x.ConcurrentLimit {
			return true
		}
	}
	return false
}

// activeBesides counts an account's calls in progress other than c: on
// every node when the count is shared, else on this one. ok is false
// when the shared count could not be read.
func (b *b2bua) activeBesides(guid string, c *call) (n int, ok bool) {
	own := c.own(guid)
	b.mu.Lock()
	n = b.active[guid] - own
	shared := b.shared
	b.mu.Unlock()
	if shared != nil {
		// The shared count has one row per call and account.
		ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
		all, err := shared.ActiveCalls(ctx, guid, b.s.cfg.Now())
		cancel()
		switch {
		case err == nil:
			n = all - own
		case unavailable(err) || ctx.Err() != nil:
			c.storeDown(err)
			return 0, false
		}
	}
	return n, true
}
