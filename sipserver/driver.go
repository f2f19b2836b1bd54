package sipserver

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/dialplan"
	"xc5/routing"
)

// defaultRingSeconds applies to a ring the engine gives no time.
const defaultRingSeconds = 20

// driver is the routing engine's Driver for a real call: it rings phones
// and carriers over SIP while the engine walks the provisioning.
type driver struct{ c *call }

// Ring implements routing.Driver.
func (d *driver) Ring(r routing.Ring) routing.RingResult { return d.c.ring(r) }

// Menu implements routing.Driver: a media node answers the caller, plays
// the prompt and reads a key. Without a media node the call is marked as
// needing media (it will be refused with 503) and the menu times out, so
// that the engine finishes its walk without ringing more.
func (d *driver) Menu(n int, prompt string, dm dialplan.DigitMap) string {
	if d.c.mediaNeeded() == "" && d.c.ctx.Err() == nil {
		if key, ok := d.c.menu(prompt, dm); ok {
			return key
		}
	}
	d.c.mu.Lock()
	if d.c.media == "" {
		d.c.media = "menu"
	}
	d.c.mu.Unlock()
	return ""
}

// AtLimit implements routing.Driver with the calls set up on this node.
func (d *driver) AtLimit(a *routing.Account) bool { return d.c.b.atLimit(a, d.c) }

// ringing is one ring in progress: the legs alerting the targets at once.
// A pickup can take it over while it rings.
type ringing struct {
	call     *call
	accounts []*routing.Account // the on-net accounts whose phones ring
	started  time.Time
	pick     chan *picker
	done     chan struct{} // closed when the ring is over

	mu     sync.Mutex
	closed bool // decided without a winning leg
	winner *leg
}

// claim makes l the winner unless the ring is already decided.
func (rg *ringing) claim(l *leg) bool {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if rg.closed || rg.winner != nil {
		return false
	}
	rg.winner = l
	return true
}

// close decides the ring without a winning leg, unless one has already
// claimed it (its 200 is then on its way and must be taken).
func (rg *ringing) close() bool {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if rg.winner != nil {
		return false
	}
	rg.closed = true
	return true
}

// ring alerts a ring's targets at once: every unexpired contact of every
// on-net account and, for external targets, the number over the carrier
// trunk. The first 2xx wins and is bridged to the caller; the other legs
// get CANCEL. It returns when a leg answered, all failed, the time ran
// out, the caller cancelled, or a pickup took the call.
func (c *call) ring(r routing.Ring) routing.RingResult {
	none := routing.RingResult{Status: routing.RingNoPhones}
	if c.mediaNeeded() != "" || c.ctx.Err() != nil || c.storeFailure() != nil {
		return none // nothing more rings once the store has failed the call
	}
	b := c.b
	rg := &ringing{call: c, started: time.Now(), pick: make(chan *picker), done: make(chan struct{})}
	legs := c.legsFor(r, rg)
	var winner *leg
	defer releaseLegs(c, append([]*leg(nil), legs...), &winner)
	ready := legs[:0]
	for _, l := range legs {
		req, err := c.legRequest(l, r)
		if err != nil {
			c.log.Warn("cannot call a contact", "contact", l.binding.Contact, "err", err)
			continue
		}
		l.req = req
		ready = append(ready, l)
	}
	legs = ready
	if len(legs) == 0 {
		return none
	}
	if c.anchorFor(r, legs) {
		if _, err := c.ensureAnchor(); err != nil {
			c.log.Warn("cannot anchor the call's media", "err", err)
		}
	}
	offer := c.offer()
	for _, l := range legs {
		l.req.SetBody(offer)
	}
	c.mu.Lock()
	c.rang = true
	c.mu.Unlock()
	secs := r.Seconds
	if secs <= 0 {
		secs = defaultRingSeconds
	}
	finals := make(chan *leg, len(legs)) // each leg sends exactly one
	provs := make(chan *sip.Response, 1)
	b.mu.Lock()
	b.ringing[rg] = struct{}{}
	b.mu.Unlock()
	c.lampRinging(rg)
	defer func() {
		b.mu.Lock()
		delete(b.ringing, rg)
		b.mu.Unlock()
		c.lampRingOver(rg)
		close(rg.done)
	}()
	// The call's set-up slot is given back at the first response of any
	// leg (100 Trying, 180, a final answer): from then on the call waits
	// for people, not for CPU or a congested network.
	if c.setupDone != nil {
		defer c.setupDone()
	}
	for _, l := range legs {
		l.ctx, l.cancel = context.WithCancel(b.s.ctx)
		go l.run(finals, provs)
	}
	return c.await(legs, rg, secs, finals, provs, &winner)
}

// legsFor is a leg for every unexpired contact of each on-net target and,
// for each external target, one over the carrier trunk (a blast leg only
// within its account's concurrent_limit). A target the store cannot look
// up marks the call (storeDown) and has no legs.
func (c *call) legsFor(r routing.Ring, rg *ringing) []*leg {
	b := c.b
	var legs []*leg
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	now := b.s.cfg.Now()
	for i, t := range r.Targets {
		switch {
		case t.Account != nil:
			bs, err := b.s.reg.ContactsOf(ctx, t.Account.GUID, now)
			if err != nil {
				if unavailable(err) || ctx.Err() != nil {
					// Not "no phones registered": unless another leg
					// rings, the caller gets 503 (see run).
					c.storeDown(err)
				} else {
					c.log.Error("looking up contacts failed", "account", t.Account.Username, "err", err)
				}
				continue
			}
			if len(bs) > 0 {
				rg.accounts = append(rg.accounts, t.Account)
			}
			for _, bnd := range bs {
				legs = append(legs, &leg{rg: rg, index: i, acct: t.Account, binding: bnd})
			}
		case t.External != "":
			if tr := b.trunks.outbound(ctx); tr != nil {
				l := &leg{rg: rg, index: i, trunk: tr, number: t.External}
				if r.Account != nil && !r.Emergency { // a blast leg: a call of its own to the carrier
					var ok bool
					if l.release, ok = c.countLeg(r.Account); !ok {
						c.log.Info("blast leg not placed: concurrent_limit reached", "account", r.Account.Username, "number", t.External)
						continue
					}
				}
				legs = append(legs, l)
			} else if err := b.trunks.unloaded(); err != nil {
				c.storeDown(err)
			} else {
				c.log.Warn("no enabled trunk with a proxy for an external call", "number", t.External)
			}
		}
	}
	return legs
}

// await runs a ring whose legs are sent: it relays the first provisional
// response and returns when a leg answered (winner), all failed, the time
// ran out, the caller cancelled, or a pickup took the call.
func (c *call) await(legs []*leg, rg *ringing, secs int, finals chan *leg, provs chan *sip.Response, winner **leg) routing.RingResult {
	none := routing.RingResult{Status: routing.RingNoPhones}
	stopAll := func(except *leg) {
		for _, l := range legs {
			if l != except {
				l.cancel()
			}
		}
	}
	timer := time.NewTimer(time.Duration(secs) * time.Second)
	defer timer.Stop()
	timeout, cancelled, pick := timer.C, c.ctx.Done(), rg.pick
	left, busy := len(legs), 0
	for {
		select {
		case res := <-provs:
			c.relayProvisional(res)
		case l := <-finals:
			if c.setupDone != nil {
				c.setupDone()
			}
			if l.answered {
				stopAll(l)
				*winner = l
				return c.bridgeLeg(l)
			}
			left--
			if l.busy() {
				busy++
			}
			if l.res != nil && l.res.StatusCode != sip.StatusRequestTerminated {
				c.mu.Lock()
				c.lastFail = l.res
				c.mu.Unlock()
			}
			if left == 0 {
				rg.close()
				if busy == len(legs) {
					return routing.RingResult{Status: routing.RingBusy}
				}
				return routing.RingResult{Status: routing.RingNoAnswer}
			}
		case <-timeout:
			timeout = nil
			if rg.close() {
				stopAll(nil)
				return routing.RingResult{Status: routing.RingNoAnswer}
			}
		case <-cancelled:
			cancelled = nil
			if rg.close() {
				stopAll(nil)
				return none
			}
		case p := <-pick:
			if !rg.close() {
				p.accept <- false
				continue
			}
			pick = nil
			stopAll(nil)
			up := c.isAnswered()
			if !c.claim(p.end) { // the caller is gone
				p.accept <- false
				return none
			}
			c.pickedUp(p)
			p.accept <- true
			body := c.answered(p.body)
			if !up { // after a menu the caller's dialog is up already
				c.answer(body, p.ctype)
			}
			return routing.RingResult{Status: routing.RingAnswered}
		}
	}
}

// bridgeLeg answers the caller with the winning leg.
func (c *call) bridgeLeg(l *leg) routing.RingResult {
	res := l.dlg.InviteResponse
	name := l.number
	if l.acct != nil {
		name = l.acct.Username
	}
	tag, _ := l.req.From().Params.Get("tag")
	e := &end{call: c, uac: l.dlg, key: dialogKey(l.req.CallID().Value(), tag), name: name,
		acct: l.acct, trunk: l.trunk != nil, trunkID: trunkGUID(l.trunk), cancel: l.cancel}
	ctype := ""
	if ct := res.ContentType(); ct != nil {
		ctype = ct.Value()
	}
	up := c.isAnswered() // by a menu: the caller's dialog is already up
	if !c.claim(e) {     // the caller is gone
		l.hangUpLate()
		return routing.RingResult{Status: routing.RingNoPhones}
	}
	body := c.answered(res.Body())
	if l.acct != nil {
		_, src, _ := strings.Cut(l.binding.Source, ":")
		c.facing(src)
	} else {
		c.facing("")
	}
	c.startRecording(l.acct)
	c.calleeSessionFrom(e, res) // sessiontimer.go
	if up {
		// xc5 acknowledges the phone's 2xx itself: the caller's media
		// was negotiated with xc5 already and only the relay moves.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := l.dlg.Ack(ctx); err != nil {
			c.log.Debug("ACK to the answering phone failed", "err", err)
		}
		cancel()
		return routing.RingResult{Status: routing.RingAnswered, Index: l.index}
	}
	c.answer(body, ctype)
	return routing.RingResult{Status: routing.RingAnswered, Index: l.index}
}
