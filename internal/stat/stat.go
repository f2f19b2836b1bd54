// Package stat holds the lock-free counters that adapters keep for the
// metrics endpoint: a histogram with fixed buckets, fed with atomic adds
// on hot paths and read whole by a scrape. Adapters use it instead of a
// metrics library so that none of them depends on one (package metrics
// turns these into Prometheus metrics).
package stat

import (
	"math"
	"sync/atomic"
)

// Histogram counts observations into fixed buckets. The zero value is
// unusable: make one with NewHistogram.
type Histogram struct {
	bounds []float64       // upper bounds, ascending
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Uint64   // float64 bits
}

// NewHistogram returns a histogram with the given ascending upper bounds.
func NewHistogram(bounds ...float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe records v: a few atomic operations, no lock.
func (h *Histogram) Observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			break
		}
	}
}

// Snapshot is a histogram as read at one moment.
type Snapshot struct {
	Count uint64
	Sum   float64
	// Buckets maps each upper bound to the observations at or below it
	// (cumulative, as Prometheus wants them).
	Buckets map[float64]uint64
}

// Snapshot reads the histogram. Observations racing with it may be
// counted in some fields and not yet in others; the next read has them.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Buckets: make(map[float64]uint64, len(h.bounds))}
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		s.Buckets[b] = cum
	}
	cum += h.counts[len(h.bounds)].Load()
	s.Count, s.Sum = cum, math.Float64frombits(h.sum.Load())
	return s
}
