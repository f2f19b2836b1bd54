package poll

import (
	"fmt"
	"testing"
	"time"
)

// recorder is a T that records a failure instead of ending the test.
type recorder struct{ failed string }

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestUntil(t *testing.T) {
	for _, tc := range []struct {
		name     string
		after    int // checks before cond holds; -1 never
		wantFail string
	}{
		{"at once", 0, ""},
		{"after a few checks", 3, ""},
		{"never", -1, "ready: not within 50ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			checks := 0
			start := time.Now()
			Until(&r, 50*time.Millisecond, "ready", func() bool {
				checks++
				return tc.after >= 0 && checks > tc.after
			})
			if r.failed != tc.wantFail {
				t.Fatalf("failure %q, want %q", r.failed, tc.wantFail)
			}
			if tc.after >= 0 && checks != tc.after+1 {
				t.Fatalf("%d checks, want %d: Until must stop once cond holds", checks, tc.after+1)
			}
			if tc.after < 0 && time.Since(start) < 50*time.Millisecond {
				t.Fatalf("gave up after %v, before the limit", time.Since(start))
			}
		})
	}
}
