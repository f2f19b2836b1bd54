package conference

import "time"

// Start runs the room's clock: a tick every 20 ms, scheduled from the
// start time (tick k is due at start + k·20 ms), so that waking late never
// accumulates drift. A tick that comes late is run at once; the clock
// catches up by running due ticks back to back, and when it has fallen 3
// ticks behind (the process was stopped) it skips to now instead. Start on
// a running clock does nothing.
func (r *Room) Start() {
	r.clockMu.Lock()
	defer r.clockMu.Unlock()
	if r.stop != nil {
		return
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go r.run(r.stop, r.done)
}

// Close stops the clock and waits for its goroutine to end.
func (r *Room) Close() {
	r.clockMu.Lock()
	stop, done := r.stop, r.done
	r.stop, r.done = nil, nil
	r.clockMu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
}

func (r *Room) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTimer(TickInterval)
	defer t.Stop()
	start := time.Now()
	for k := int64(1); ; k++ {
		due := start.Add(time.Duration(k) * TickInterval)
		if d := time.Until(due); d > 0 {
			t.Reset(d)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		} else {
			select {
			case <-stop:
				return
			default:
			}
		}
		began := time.Now()
		late := began.Sub(due)
		if behind := int64(late / TickInterval); behind >= maxBehind {
			r.skip(int(behind))
			r.skipped.Add(behind)
			k += behind
		}
		r.Tick()
		r.count(late, time.Since(began))
	}
}

func (r *Room) count(late, busy time.Duration) {
	r.ticks.Add(1)
	if late > r.cfg.LateAfter {
		r.late.Add(1)
	}
	for {
		m := r.maxLate.Load()
		if int64(late) <= m || r.maxLate.CompareAndSwap(m, int64(late)) {
			break
		}
	}
	r.busy.Add(int64(busy))
}

// Stats are the clock's counters so far.
func (r *Room) Stats() Stats {
	return Stats{Ticks: r.ticks.Load(), Late: r.late.Load(), Skipped: r.skipped.Load(),
		MaxLate: time.Duration(r.maxLate.Load()), Busy: time.Duration(r.busy.Load())}
}
