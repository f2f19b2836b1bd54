package sipserver

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5"
)

// The SIP service when its database goes away (docs/cluster.md, "When the
// database goes away"): every store call a call's set-up makes is bounded
// by Config.RequestTimeout, a call the store cannot decide is refused with
// 503 and a Retry-After (a carrier fails over), and what a call leaves to
// write once it ended (its active_calls row to delete, its CDRs) is kept
// and written when the database is back.

// waitStore runs fn, a store call, and waits for it no longer than ctx:
// a write, once queued, is not cancelled by its context (it is committed
// or not as a whole), so that a stalled database would otherwise hold the
// caller for the writer's own bounds. fn goes on by itself if given up.
func waitStore(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errStoreSlow, ctx.Err())
	}
}

// errStoreSlow answers a store call that did not finish in the request's time.
var errStoreSlow = xc5.Errorf(xc5.EUNAVAILABLE, "the database did not answer in time")

// unavailable reports an error saying the store cannot serve for now.
func unavailable(err error) bool { return xc5.ErrorCode(err) == xc5.EUNAVAILABLE }

// storeRetryHeader is the Retry-After of a 503 sent because the store
// cannot serve, spread as storeFailed spreads it.
func storeRetryHeader() sip.Header {
	return sip.NewHeader("Retry-After", seconds(storeRetryAfter+rand.N(storeRetryAfter)))
}

// storeDown records that the store could not answer a question the call's
// set-up asked (its account's call count, a callee's phones, the trunks):
// unless a leg rang anyway, the call is refused with 503.
func (c *call) storeDown(err error) {
	c.mu.Lock()
	if c.unreachable == nil {
		c.unreachable = err
	}
	c.mu.Unlock()
	c.log.Warn("the store cannot serve the call's set-up", "err", err)
}

// storeFailure is the error storeDown recorded when no leg has rung.
func (c *call) storeFailure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rang {
		return nil
	}
	return c.unreachable
}

// removals deletes the active_calls rows of calls that ended while the
// database could not take the delete, retrying until it can, so that an
// account is not counted at its concurrent_limit for MaxCallDuration
// after the database came back. At most maxPendingRemovals are kept; past
// that the rows are left to expire.
type removals struct {
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]bool // call IDs
	running bool
	dropped int
}

// maxPendingRemovals bounds the call IDs kept for a retry: about 100
// bytes each.
const maxPendingRemovals = 100000

// removalRetry is the first wait between rounds of retries; it doubles up
// to removalRetryMax while the database stays away.
const (
	removalRetry    = 500 * time.Millisecond
	removalRetryMax = 30 * time.Second
)

// add keeps callID for a retry through cc and starts the retries.
func (r *removals) add(ctx context.Context, cc xc5.ActiveCallCounter, callID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[string]bool{}
	}
	if len(r.pending) >= maxPendingRemovals {
		if r.dropped++; r.dropped == 1 {
			r.log.Error("too many ended calls wait for the database; their active_calls rows are left to expire")
		}
		return
	}
	r.pending[callID] = true
	if !r.running {
		r.running = true
		go r.run(ctx, cc)
	}
}

// run retries the pending deletes until none is left or ctx ends.
func (r *removals) run(ctx context.Context, cc xc5.ActiveCallCounter) {
	wait := removalRetry
	for {
		select {
		case <-ctx.Done():
			r.mu.Lock()
			r.running = false
			r.mu.Unlock()
			return
		case <-time.After(wait):
		}
		r.mu.Lock()
		ids := make([]string, 0, len(r.pending))
		for id := range r.pending {
			ids = append(ids, id)
		}
		r.mu.Unlock()
		failed := false
		for _, id := range ids {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := waitStore(rctx, func() error { return cc.RemoveActiveCall(rctx, id) })
			cancel()
			if err != nil {
				failed = true
				break // the database is still away; try again later
			}
			r.mu.Lock()
			delete(r.pending, id)
			r.mu.Unlock()
		}
		r.mu.Lock()
		if len(r.pending) == 0 {
			r.running, r.dropped = false, 0
			r.mu.Unlock()
			r.log.Info("active call counts written again after the database came back")
			return
		}
		r.mu.Unlock()
		if failed {
			wait = min(2*wait, removalRetryMax)
		} else {
			wait = removalRetry
		}
	}
}
