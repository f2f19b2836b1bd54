package sqlstore

// Test hooks for the writer tests in writer_test.go (package sqlstore_test,
// which runs them on every backend): a batch of hand-made writes run as
// one group commit, each inserting a row into settings and then failing
// (or not) in a chosen way.

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// BatchWrite is one write of RunBatch.
type BatchWrite struct {
	Name       string // the settings row it inserts
	Rerunnable bool
	// Fail is how it fails: "" not at all; "before": an error before it
	// writes anything; "after": an error after its INSERT; "sql": a
	// statement that fails (PostgreSQL then aborts the transaction);
	// "badselect": a failing SELECT before any write (aborts PostgreSQL's
	// transaction, not SQLite's); "panic": a panic after its INSERT;
	// "swallow": a failing SELECT whose error it ignores, reporting
	// success having written nothing; "locked": an UPDATE of the
	// (existing) row Name, waiting for any lock held on it.
	Fail string
	Runs int // how many times it ran
}

// RunBatch runs ws as one batch of s's writer and returns each write's
// error. On SQLite a first write holds the (one) writer until all of ws
// are queued behind it, so that they are drained together; PostgreSQL's
// writer connections take turns, so there the batch runs on a connection
// of its own, through the same run and commit.
func (s *Store) RunBatch(t *testing.T, ws []*BatchWrite) []error {
	t.Helper()
	if len(ws) > maxBatch {
		t.Fatalf("%d writes, more than one batch", len(ws))
	}
	ctx := context.Background()
	ops := make([]*op, len(ws))
	for i, bw := range ws {
		ops[i] = &op{fn: bw.fn, done: make(chan error, 1), rerunnable: bw.Rerunnable}
	}
	if s.d == postgresDialect {
		conn, err := s.write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := s.w.attach(conn)
		defer c.cache.close()
		if err := s.w.beginTx(ctx, c, false); err != nil {
			t.Fatal(err)
		}
		if results, ok := s.w.run(ctx, c, ops); ok {
			s.w.commit(ctx, c, ops, results, time.Now())
		}
	} else {
		started, release := make(chan struct{}), make(chan struct{})
		gate := make(chan error, 1)
		go func() {
			gate <- s.w.do(ctx, func(ctx context.Context, q execer) error {
				close(started)
				<-release
				return nil
			})
		}()
		<-started
		for _, o := range ops {
			s.w.ops <- o
		}
		close(release)
		if err := <-gate; err != nil {
			t.Fatalf("gate write: %v", err)
		}
	}
	errs := make([]error, len(ws))
	for i, o := range ops {
		errs[i] = <-o.done
	}
	return errs
}

func (bw *BatchWrite) fn(ctx context.Context, q execer) error {
	bw.Runs++
	switch bw.Fail {
	case "before":
		return notFound("%s: failed before writing", bw.Name)
	case "badselect":
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM no_such_table`).Scan(&n); err != nil {
			return fmt.Errorf("%s: %w", bw.Name, err)
		}
		return nil
	case "swallow":
		var n int
		q.QueryRowContext(ctx, `SELECT count(*) FROM no_such_table`).Scan(&n)
		return nil
	case "locked":
		// Updates the row of Name, which another session may hold locked.
		_, err := q.ExecContext(ctx, `UPDATE settings SET value = 'w' WHERE name = ?`, bw.Name)
		return mapError(err)
	case "sql":
		// The row of the write named in Name exists: a unique violation.
		_, err := q.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, 'dup')`, bw.Name)
		return mapError(err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, 'v')`, bw.Name); err != nil {
		return mapError(err)
	}
	switch bw.Fail {
	case "after":
		return invalid("%s: failed after writing", bw.Name)
	case "panic":
		panic(bw.Name + ": panic after writing")
	}
	return nil
}

// SetBatchTimeout changes how long a batch of s's writer may take before
// its connection is given up (pgBatchTimeout).
func (s *Store) SetBatchTimeout(d time.Duration) { s.w.timeout.Store(int64(d)) }

// SetLockTimeout changes how long a write of s's writer waits for a row
// lock (pgLockTimeout).
func (s *Store) SetLockTimeout(d time.Duration) { s.w.lockTimeout.Store(int64(d)) }

// SetCommitTimeout changes how long a COMMIT may take (pgCommitTimeout).
func (s *Store) SetCommitTimeout(d time.Duration) { s.w.commitTimeout.Store(int64(d)) }

// HasSetting reports whether the settings row name exists (committed).
func (s *Store) HasSetting(t *testing.T, name string) bool {
	t.Helper()
	var n int
	if err := s.reader().QueryRowContext(context.Background(), `SELECT count(*) FROM settings WHERE name = ?`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// WriteThen writes the settings row name through s's writer, calling then
// once the write has run, before its batch's COMMIT is sent.
func (s *Store) WriteThen(ctx context.Context, name string, then func()) error {
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, 'v')`, name); err != nil {
			return mapError(err)
		}
		then()
		return nil
	})
}

// IdleForgetter is the guard that keeps forgetIdle from running once per
// failed read.
type IdleForgetter = idleForgetter

// Start is idleForgetter.start.
func (f *IdleForgetter) Start(db *sql.DB) bool { return f.start(db) }
