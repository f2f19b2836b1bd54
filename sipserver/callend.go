package sipserver

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/routing"
)

// How a call ends: BYEs to the ends still there, the bookkeeping released
// once, and the call detail records written.

// hangup ends an answered call: BYE to every end but the one that hung
// up (from), then the records.
func (c *call) hangup(from *end) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	ends := []*end{c.caller, c.other}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, e := range ends {
		if e == nil || e == from {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.bye(ctx); err != nil {
				c.log.Debug("BYE failed", "to", e.name, "err", err)
			}
		}()
	}
	wg.Wait()
	c.mu.Lock()
	outcome, code := routing.Answered, sip.StatusOK // answered, whoever hangs up
	switch {
	case c.other != nil && c.other.trunk:
		outcome = routing.External
	case c.other != nil && c.other.media == nil:
	case c.mediaOutcome != "":
		outcome = c.mediaOutcome
	}
	c.mu.Unlock()
	c.finish(outcome, code)
}

// finish ends the call's bookkeeping once: the dialogs are forgotten, the
// active counts released and the call detail records written.
func (c *call) finish(outcome string, code int) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished, c.ended = true, true
	close(c.over)
	if c.limit != nil {
		c.limit.Stop()
	}
	if c.session != nil || c.calleeSession != nil {
		defer c.stopSession()
	}
	counted := c.counted
	ends := []*end{c.caller, c.other}
	answeredAt, other := c.answeredAt, c.other
	c.mu.Unlock()
	ended := c.b.s.cfg.Now()
	b := c.b
	b.mu.Lock()
	b.uncountLocked(counted)
	for _, e := range ends {
		if e != nil && b.dialogs[e.key] == e {
			delete(b.dialogs, e.key)
		}
	}
	shared := b.shared
	b.mu.Unlock()
	c.releaseLegs()
	c.endMoves()
	c.releaseMedia()
	if shared != nil && len(counted) > 0 {
		ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
		if err := waitStore(ctx, func() error { return shared.RemoveActiveCall(ctx, c.id) }); err != nil {
			c.log.Warn("shared call count: deleting the call's row later", "err", err)
			b.removals.add(b.s.ctx, shared, c.id)
		}
		cancel()
	}
	// Counted as ended only once every node's count has let it go, so that
	// "no calls in progress" means no node still counts this one.
	b.mu.Lock()
	b.calls--
	b.mu.Unlock()
	if other != nil && other.cancel != nil {
		other.cancel()
	}
	b.lampEnded(c.id)
	c.log.Debug("call ended", "outcome", outcome, "code", code)
	go c.writeCDRs(outcome, code, answeredAt, ended, other)
}

// writeCDRs writes the call's records: direction out on the caller's
// account, in on the account that answered (or, unanswered, the first
// account the call was delivered to).
func (c *call) writeCDRs(outcome string, code int, answeredAt, ended time.Time, other *end) {
	select {
	case <-c.decided:
	case <-time.After(time.Minute):
	}
	c.mu.Lock()
	tr, recorded, by := c.trace, c.recordTo, c.answeredBy
	moves := strings.Join(c.moves.events, "; ")
	paid := c.moves.paid
	c.mu.Unlock()
	vals := map[string]any{
		"from": c.who.name(), "to": c.dialed, "started": rfc3339(c.started), "ended": rfc3339(ended),
		"outcome": outcome, "code": int64(code), "call_id": c.id, "duration": int64(0), "answered": "", "answered_by": "",
		"withheld": c.who.trunk != nil && c.who.private, // shown as anonymous below system level (api/partition.go)
		"recorded": len(recorded) > 0, "transfers": moves,
	}
	if !answeredAt.IsZero() {
		vals["answered"] = rfc3339(answeredAt)
		vals["answered_by"] = by
		if d := ended.Sub(answeredAt); d > 0 {
			vals["duration"] = int64((d + time.Second - 1) / time.Second)
		}
	}
	write := func(guid, direction string) {
		v := make(map[string]any, len(vals)+1)
		for k, x := range vals {
			v[k] = x
		}
		v["direction"] = direction
		c.b.cdrs.add(guid, v)
	}
	if paid != nil && !answeredAt.IsZero() {
		// The caller reached the transferor; the carrier leg is the
		// transferor's call (paidCDR), not the caller's.
		vals["answered_by"] = paid.before
	}
	if c.who.acct != nil {
		write(c.who.acct.GUID, "out")
	}
	if paid != nil {
		c.paidCDR(paid, outcome, code, ended, by, moves)
	}
	var in *routing.Account
	switch {
	case other != nil && other.acct != nil:
		in = other.acct
	case paid != nil && other != nil && other.trunk:
		// Transferred out to a carrier: the transferor has its in
		// record (transferorCDR) and its out record (paidCDR).
	default:
		for _, st := range tr.Steps {
			if st.Kind == "deliver" && st.Account != "" {
				in = c.b.view.Account(st.Account)
				break
			}
		}
	}
	if in != nil {
		write(in.GUID, "in")
	}
}

func rfc3339(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }
