package sipserver

import "time"

// bucket is one token bucket of the throttle.
type bucket struct {
	tokens float64
	last   time.Time
	// A carrier trunk's source is not throttled: it is looked up (at most
	// once a minute) when its bucket runs dry.
	trunkChecked time.Time
	checking     bool // a lookup is in flight
	overflow     bool // the table's shared bucket, not one source's
}

// take refills b for the time since its last use at rate up to burst, and
// takes a token if there is one.
func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.tokens+dt*rate, burst)
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// table holds the buckets of one kind (sources, or addresses), at most
// cap of them. A bucket that has refilled is forgotten (a new one would
// be the same). When the table is full of buckets still in use, it
// forgets the refilled ones at most once a second (a pass over the
// table), and until there is room again new keys share one overflow
// bucket of the same budget: a flood from more addresses than the table
// holds is throttled as one source, costs O(1) a packet, and does not
// evict what the table knows about the sources already in it.
type table struct {
	rate, burst float64
	cap         int
	m           map[string]*bucket
	overflow    bucket
	lastPrune   time.Time
}

func newTable(rate, burst float64, cap int) *table {
	return &table{rate: rate, burst: burst, cap: cap, m: map[string]*bucket{},
		overflow: bucket{tokens: burst, overflow: true}}
}

// get returns key's bucket, a new full one (scale times the burst) if it
// had none, or the overflow bucket when the table is full.
func (t *table) get(key string, now time.Time, scale float64) *bucket {
	if b := t.m[key]; b != nil {
		return b
	}
	if len(t.m) >= t.cap {
		if now.Sub(t.lastPrune) >= time.Second {
			t.prune(now)
		}
		if len(t.m) >= t.cap {
			return &t.overflow
		}
	}
	b := &bucket{tokens: t.burst * scale, last: now}
	t.m[key] = b
	return b
}

// take takes a token from b, a bucket of t with scale times its budget
// (the overflow bucket is never scaled: it is shared).
func (t *table) take(b *bucket, now time.Time, scale float64) bool {
	if b.overflow {
		scale = 1
	}
	return b.take(now, t.rate*scale, t.burst*scale)
}

// prune forgets the buckets that are full again (at the table's budget:
// a bucket of a known address is made anew at its own), unless a trunk lookup
// is in flight or was made within the minute.
func (t *table) prune(now time.Time) {
	t.lastPrune = now
	for k, b := range t.m {
		if b.checking || (!b.trunkChecked.IsZero() && now.Sub(b.trunkChecked) < time.Minute) {
			continue
		}
		if b.tokens+now.Sub(b.last).Seconds()*t.rate >= t.burst {
			delete(t.m, k)
		}
	}
}
