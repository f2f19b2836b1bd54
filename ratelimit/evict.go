package ratelimit

import (
	"slices"
	"strings"
	"time"
)

// evictLocked makes room in a full table: after forgetting what holds
// nothing, it evicts down to seven eighths of MaxKeys (so that a flood
// sorts the table once per MaxKeys/8 new keys, not on every one) the
// entries that hold least, in this order:
//
//   - not blocked, then blocked for less time;
//   - fewer budgets used up in a row (strikes);
//   - a smaller share of their budget failed;
//   - an older window.
//
// So a flood of fresh keys, each with a failure or two, evicts itself
// first, and to evict a blocked key (an address guessing, a username
// under attack) an attacker must first hold seven eighths of the table
// with keys blocked for longer, each of which cost it a budget of
// failures from an address of its own. Eviction only forgets failures:
// it never refuses anyone, so filling the table locks no one out.
// Entries with checks in progress stay (their slots point at them); the
// table may then exceed MaxKeys by the checks in progress. Callers hold
// l.mu.
func (l *Limiter) evictLocked(now time.Time) {
	l.pruneLocked(now)
	target := l.cfg.MaxKeys - max(1, l.cfg.MaxKeys/8)
	if len(l.m) <= target {
		return
	}
	type ranked struct {
		key     string
		blocked time.Duration
		strikes int
		share   float64
		start   time.Time
	}
	all := make([]ranked, 0, len(l.m))
	for k, e := range l.m {
		if e.pending > 0 {
			continue
		}
		r := ranked{key: k, blocked: max(0, e.until.Sub(now)), strikes: e.strikes, start: e.start}
		if b := l.budgetOf(k); b > 0 {
			r.share = float64(e.fails) / float64(b)
		}
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b ranked) int {
		switch {
		case a.blocked != b.blocked:
			return cmp(a.blocked < b.blocked)
		case a.strikes != b.strikes:
			return cmp(a.strikes < b.strikes)
		case a.share != b.share:
			return cmp(a.share < b.share)
		}
		return a.start.Compare(b.start)
	})
	for _, r := range all[:min(len(all), len(l.m)-target)] {
		delete(l.m, r.key)
	}
}

// cmp orders by less: -1 when it holds, else 1.
func cmp(less bool) int {
	if less {
		return -1
	}
	return 1
}

// budgetOf returns the budget of a key by its kind.
func (l *Limiter) budgetOf(key string) int {
	for i, p := range prefixes {
		if strings.HasPrefix(key, p) {
			return l.budgets[i]
		}
	}
	return 0
}
