package sqlstore

import (
	"context"
	"testing"
)

// TestSyncForLazyBatches: on SQLite a batch of only lazySync writes (the
// refreshes of live bindings) commits with synchronous=NORMAL, and every
// other batch, also one right after it, with FULL.
func TestSyncForLazyBatches(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	mode := func(lazy bool) int {
		t.Helper()
		var m int
		fn := func(ctx context.Context, q execer) error {
			return q.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&m)
		}
		if lazy {
			err = s.w.doRegsLazy(ctx, fn)
		} else {
			err = s.w.do(ctx, fn)
		}
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	const normal, full = 1, 2
	for i, c := range []struct {
		lazy bool
		want int
	}{{false, full}, {true, normal}, {true, normal}, {false, full}, {true, normal}, {false, full}} {
		if got := mode(c.lazy); got != c.want {
			t.Errorf("batch %d (lazy %v): synchronous = %d, want %d", i, c.lazy, got, c.want)
		}
	}
}
