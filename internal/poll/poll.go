// Package poll is the one polling helper of the tests: wait, within a
// generous bound, for something another goroutine, node or process does.
// It is imported by tests only.
package poll

import "time"

// T is the part of testing.TB that Until uses.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Interval is how often Until checks its condition.
const Interval = 10 * time.Millisecond

// Until checks cond every Interval until it holds, and fails t when it
// does not within limit. The limit is a bound that only catches a hang,
// never a measure of speed: what names the awaited condition in the
// failure.
func Until(t T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); !cond(); time.Sleep(Interval) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, limit)
			return
		}
	}
}
