package sipserver

import (
	"context"
	"strconv"
	"sync"

	"xc5/routing"
)

// countLeg counts an external (carrier) blast leg of account a as a call
// of every account of a's chain that holds a concurrent_limit: each leg is
// a call to the carrier, so a blast group with many external forks cannot
// fan one call out past the limit. ok is false, and nothing is counted,
// when a limit is reached (or the shared count cannot be read). release
// stops counting the leg; it may be called more than once.
func (c *call) countLeg(a *routing.Account) (release func(), ok bool) {
	b := c.b
	var limited []string
	for _, x := range b.view.Chain(a) {
		if x.ConcurrentLimit <= 0 {
			continue
		}
		n, ok := b.activeBesides(x.GUID, c)
		if !ok || n+c.own(x.GUID)+1 > x.ConcurrentLimit {
			return nil, false
		}
		limited = append(limited, x.GUID)
	}
	if len(limited) == 0 {
		return func() {}, true
	}
	c.mu.Lock()
	c.legSeq++
	id := c.id + "#leg" + strconv.Itoa(c.legSeq) // a row of its own per leg and account
	c.mu.Unlock()
	b.mu.Lock()
	for _, g := range limited {
		b.active[g]++
	}
	shared := b.shared
	b.mu.Unlock()
	if shared != nil {
		expires := b.s.cfg.Now().Add(b.s.cfg.MaxCallDuration)
		ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
		for _, g := range limited {
			if err := waitStore(ctx, func() error { return shared.AddActiveCall(ctx, id, g, expires) }); err != nil {
				c.log.Warn("shared call count of a blast leg", "err", err) // release deletes it anyway
			}
		}
		cancel()
	}
	var once sync.Once
	return func() { once.Do(func() { c.uncountLeg(id, limited) }) }, true
}

// uncountLeg stops counting the leg id for the accounts limited.
func (c *call) uncountLeg(id string, limited []string) {
	b := c.b
	shared := b.uncount(limited)
	if shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	if err := waitStore(ctx, func() error { return shared.RemoveActiveCall(ctx, id) }); err != nil {
		b.removals.add(b.s.ctx, shared, id)
	}
}

// keepLeg keeps the count of the blast leg that answered until the call
// ends.
func (c *call) keepLeg(release func()) {
	c.mu.Lock()
	finished := c.finished
	if !finished {
		c.legsUp = append(c.legsUp, release)
	}
	c.mu.Unlock()
	if finished {
		release()
	}
}

// releaseLegs stops counting the answered blast legs of an ended call.
func (c *call) releaseLegs() {
	c.mu.Lock()
	up := c.legsUp
	c.legsUp = nil
	c.mu.Unlock()
	for _, release := range up {
		release()
	}
}

// releaseLegs, when a ring ends, stops counting its blast legs but the
// one that answered (*winner), which counts until the call ends.
func releaseLegs(c *call, legs []*leg, winner **leg) {
	for _, l := range legs {
		switch {
		case l.release == nil:
		case l == *winner:
			c.keepLeg(l.release)
		default:
			l.release()
		}
	}
}
