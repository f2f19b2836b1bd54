package sqlstore_test

import (
	"fmt"
	"testing"

	"xc5"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestBatchFailures: in one group commit, writes that fail in every way
// (before writing, after writing, with a failing statement, with a panic)
// are wholly absent, every other write of the batch is committed, each
// gets its own answer, and a rerunnable write is run again only when a
// failure after writing forced its run of savepoint-free writes to be
// undone.
func TestBatchFailures(t *testing.T) { forEachBackend(t, testBatchFailures) }

func testBatchFailures(t *testing.T, b storetest.Backend) {
	t.Parallel()
	s, _ := openStore(t, b)
	type want struct {
		code string // "" for success, "!" for any error without a code
		runs int
	}
	check := func(t *testing.T, ws []*sqlstore.BatchWrite, errs []error, wants []want) {
		t.Helper()
		for i, w := range ws {
			switch got := xc5.ErrorCode(errs[i]); {
			case w.Fail == "" && errs[i] != nil:
				t.Errorf("%s: %v, want success", w.Name, errs[i])
			case w.Fail != "" && errs[i] == nil:
				t.Errorf("%s: succeeded, want its failure", w.Name)
			case wants[i].code != "!" && got != wants[i].code:
				t.Errorf("%s: %v (code %q), want code %q", w.Name, errs[i], got, wants[i].code)
			}
			if w.Runs != wants[i].runs {
				t.Errorf("%s ran %d times, want %d", w.Name, w.Runs, wants[i].runs)
			}
			if got, want := s.HasSetting(t, w.Name), w.Fail == ""; got != want && w.Fail != "sql" {
				t.Errorf("%s: row present %v, want %v", w.Name, got, want)
			}
		}
	}

	t.Run("clean failures need no rerun", func(t *testing.T) {
		ws := []*sqlstore.BatchWrite{
			{Name: "c1", Rerunnable: true},
			{Name: "c2", Rerunnable: true, Fail: "before"},
			{Name: "c3", Rerunnable: true},
		}
		check(t, ws, s.RunBatch(t, ws), []want{{"", 1}, {xc5.ENOTFOUND, 1}, {"", 1}})
	})

	t.Run("a failure after writing undoes the run and reruns it", func(t *testing.T) {
		ws := []*sqlstore.BatchWrite{
			{Name: "a1", Rerunnable: true},
			{Name: "a2", Rerunnable: true, Fail: "before"},
			{Name: "a3", Rerunnable: true},
			{Name: "a4", Rerunnable: true, Fail: "after"},
			{Name: "a5", Rerunnable: true},
			{Name: "a1", Rerunnable: true, Fail: "sql"}, // a1's row is there: unique violation
			{Name: "a7"}, // not rerunnable: its own savepoint
			{Name: "a8", Rerunnable: true, Fail: "panic"},
			{Name: "a9", Rerunnable: true},
		}
		// a1…a4 ran bare, then again each in a savepoint; the rest, once,
		// in savepoints.
		check(t, ws, s.RunBatch(t, ws), []want{
			{"", 2}, {xc5.ENOTFOUND, 2}, {"", 2}, {xc5.EINVALID, 2}, {"", 1},
			{xc5.ECONFLICT, 1}, {"", 1}, {"!", 1}, {"", 1},
		})
	})

	t.Run("a run after a savepointed write is undone to its own mark", func(t *testing.T) {
		ws := []*sqlstore.BatchWrite{
			{Name: "m1"},
			{Name: "m2", Rerunnable: true},
			{Name: "m3", Rerunnable: true, Fail: "after"},
			{Name: "m4", Rerunnable: true},
		}
		// m1 is not run again: only m2 and m3 were undone.
		check(t, ws, s.RunBatch(t, ws), []want{{"", 1}, {"", 2}, {xc5.EINVALID, 2}, {"", 1}})
	})

	t.Run("a failed statement before any write", func(t *testing.T) {
		ws := []*sqlstore.BatchWrite{
			{Name: "s1", Rerunnable: true},
			{Name: "s2", Rerunnable: true, Fail: "badselect"},
			{Name: "s3", Rerunnable: true},
		}
		// PostgreSQL aborts the transaction on any failed statement, so
		// s1 and s2 are run again; SQLite undoes only the statement.
		runs := 1
		if b.Name == "postgres" {
			runs = 2
		}
		check(t, ws, s.RunBatch(t, ws), []want{{"", runs}, {"!", runs}, {"", 1}})
	})

	t.Run("a write that hides a failed statement", func(t *testing.T) {
		// On PostgreSQL the failed statement aborted the transaction,
		// whose COMMIT would roll back silently: that write is told it
		// failed and the others are kept. SQLite undid only the statement.
		for _, rerunnable := range []bool{true, false} {
			for _, alone := range []bool{true, false} {
				name := fmt.Sprintf("h-%v-%v-", rerunnable, alone)
				ws := []*sqlstore.BatchWrite{{Name: name + "1", Rerunnable: rerunnable, Fail: "swallow"}}
				if !alone {
					ws = append(ws, &sqlstore.BatchWrite{Name: name + "2", Rerunnable: rerunnable})
				}
				errs := s.RunBatch(t, ws)
				for i, w := range ws {
					if failed := w.Fail != "" && b.Name == "postgres"; (errs[i] != nil) != failed {
						t.Errorf("%s: %v, want failure %v", w.Name, errs[i], failed)
					}
					if got := s.HasSetting(t, w.Name); got != (w.Fail == "") {
						t.Errorf("%s: row present %v", w.Name, got)
					}
				}
			}
		}
	})

	t.Run("a failure in a batch of rerunnable writes alone", func(t *testing.T) {
		ws := []*sqlstore.BatchWrite{
			{Name: "p1", Rerunnable: true},
			{Name: "p2", Rerunnable: true, Fail: "panic"},
		}
		check(t, ws, s.RunBatch(t, ws), []want{{"", 2}, {"!", 2}})
	})
}
