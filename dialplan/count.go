package dialplan

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Parses are counted, for tests only, by the text parsed: a write must
// parse each grammar value it carries once (docs/api.md, "Where a grammar
// is parsed"), and a test proves it by counting the parses of its own
// values while the write runs. Off (no counter) the cost is one atomic load
// per parse.

var (
	counting atomic.Bool // a counter is set: parses look their text up
	countMu  sync.Mutex
	counts   map[string]*int64 // parses by (trimmed) text
)

// CountParses starts counting how often any grammar of this package parses
// text (compared without surrounding white space) and returns a function
// that stops counting and reports the count. It is a test hook; counters
// of different texts may run at once.
func CountParses(text string) (stop func() int) {
	text = strings.TrimSpace(text)
	n := new(int64)
	countMu.Lock()
	if counts == nil {
		counts = map[string]*int64{}
	}
	counts[text] = n
	counting.Store(true)
	countMu.Unlock()
	return func() int {
		countMu.Lock()
		defer countMu.Unlock()
		if counts[text] == n {
			delete(counts, text)
		}
		counting.Store(len(counts) > 0)
		return int(atomic.LoadInt64(n))
	}
}

// counted notes one parse of s when a test counts parses of it.
func counted(s string) {
	if !counting.Load() {
		return
	}
	countMu.Lock()
	if n := counts[strings.TrimSpace(s)]; n != nil {
		atomic.AddInt64(n, 1)
	}
	countMu.Unlock()
}
