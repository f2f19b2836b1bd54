package sipserver

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// regGate lets a few REGISTERs at a time (two per CPU) do the CPU part of
// their work; the others wait their turn, in order of arrival, without
// taking the CPU. Under overload this is what keeps the store's one
// writer, which completes registrations, from waiting to be scheduled
// behind thousands of request goroutines (their run-queue wait reached
// p99 270 ms at 15,000 REGISTERs a second offered, and the writer's
// batches took seconds), and it makes the time a REGISTER waits for its
// turn a measure of the CPU's queue: one that waited MaxRegisterWait and
// starts a registration is refused.
type regGate chan struct{}

func newRegGate() regGate { return make(regGate, max(2, 2*runtime.GOMAXPROCS(0))) }

// enter waits for a turn.
func (g regGate) enter() *gateTurn {
	g <- struct{}{}
	return &gateTurn{g: g}
}

// enterTurn waits for a turn and holds it in t, which a long-lived UDP
// worker reuses (no allocation per REGISTER).
func (g regGate) enterTurn(t *gateTurn) {
	g <- struct{}{}
	t.g, t.left = g, false
}

// gateTurn is one REGISTER's turn; leave ends it (again is harmless).
// away, when set, is called when the registrar leaves the turn before its
// REGISTER's end, to wait for the store: the UDP worker pool grows by
// those workers (udpreg.go).
type gateTurn struct {
	g    regGate
	left bool
	away func()
}

func (t *gateTurn) leave() {
	if !t.left {
		t.left = true
		<-t.g
		if t.away != nil {
			t.away()
		}
	}
}

// slotWidth is the resolution of regWork's arrival times.
const slotWidth = 50 * time.Millisecond

// regWork knows when the REGISTERs in progress arrived, to the nearest
// slotWidth, so that the wait of the oldest is known at once: the queue
// is bounded by how long work waits, not by how much of it there is. A
// count says little: 8,000 REGISTERs are a second of work on a node
// that is keeping up and several on one whose disk has slowed down.
type regWork struct {
	mu    sync.Mutex
	base  time.Time     // slots count from here (monotonic clock)
	slots map[int64]int // slot -> REGISTERs in progress that arrived in it
	min   int64         // the oldest slot with work, when slots is not empty
}

func newRegWork() *regWork { return &regWork{base: time.Now(), slots: map[int64]int{}} }

// start records a REGISTER arriving now and returns its slot, for done.
func (w *regWork) start() int64 {
	s := int64(time.Since(w.base) / slotWidth)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.slots) == 0 || s < w.min {
		w.min = s
	}
	w.slots[s]++
	return s
}

// done records the end of a REGISTER that started in slot s.
func (w *regWork) done(s int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.slots[s]--; w.slots[s] > 0 {
		return
	}
	delete(w.slots, s)
	if s != w.min {
		return
	}
	first := true
	for k := range w.slots {
		if first || k < w.min {
			w.min, first = k, false
		}
	}
}

// oldest is how long the oldest REGISTER in progress has waited (0 when
// there is none).
func (w *regWork) oldest() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.slots) == 0 {
		return 0
	}
	return time.Since(w.base) - time.Duration(w.min)*slotWidth
}

// retryAfter is the Retry-After of a REGISTER refused for overload: a
// whole number of seconds drawn evenly from RetryAfter to RetryAfter +
// RegisterRetrySpread, so that the phones refused together come back
// spread out and the storm thins instead of returning all at once.
func (s *Server) retryAfter() string {
	base := max(s.cfg.RetryAfter, time.Second)
	spread := int64(s.cfg.RegisterRetrySpread / time.Second)
	if spread > 0 {
		base += time.Duration(rand.Int64N(spread+1)) * time.Second
	}
	return seconds(base)
}
