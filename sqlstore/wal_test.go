package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shrinkWAL makes the checkpointer run every 10 ms and ask the writer to
// catch up past 16 frames, with the WAL file cut back to 256 KiB, for
// the length of a test.
func shrinkWAL(t *testing.T) {
	frames, limit, every := walRestartFrames, walSizeLimit, checkpointEvery
	walRestartFrames, walSizeLimit, checkpointEvery = 16, 256<<10, 10*time.Millisecond
	t.Cleanup(func() { walRestartFrames, walSizeLimit, checkpointEvery = frames, limit, every })
}

// writeSettings writes n settings rows of about 1 KiB each, one write
// (one commit) each, and fails the test if any takes longer than bound.
func writeSettings(t *testing.T, s *Store, prefix string, n int, bound time.Duration) {
	t.Helper()
	pad := strings.Repeat("x", 1000)
	for i := range n {
		done := make(chan error, 1)
		go func() {
			done <- s.w.do(context.Background(), func(ctx context.Context, q execer) error {
				_, err := q.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)`, fmt.Sprintf("%s-%d", prefix, i), pad)
				return err
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(bound):
			t.Fatalf("write %d of %s waited more than %v", i, prefix, bound)
		}
	}
}

func walFrames(t *testing.T, s *Store) int {
	t.Helper()
	var busy, log, done int
	if err := s.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
		t.Fatal(err)
	}
	return log
}

// TestWALRestartsWithoutStallingWrites: under steady writes the log
// restarts, so the WAL file stays bounded; a reader holding an old
// snapshot keeps it from restarting but never holds up a write (the
// writer's TRUNCATE checkpoint waited for such a reader up to the busy
// timeout, 10 s, with every write behind it); and once the reader is
// gone the log restarts and the file is cut back to walSizeLimit.
func TestWALRestartsWithoutStallingWrites(t *testing.T) {
	shrinkWAL(t)
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wal := filepath.Join(dir, DBFile+"-wal")
	size := func() int64 {
		fi, err := os.Stat(wal)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}

	// 1. Steady writes: about 2,000 pages written, the log restarts.
	writeSettings(t, s, "steady", 2000, 5*time.Second)
	if n := walFrames(t, s); n > 1000 {
		t.Fatalf("the log holds %d frames after 2,000 writes: it never restarted", n)
	}

	// 2. A reader holds a snapshot while the log grows past the point
	// where the writer catches up: writes go on, the file grows.
	r, err := sql.Open("sqlite", "file:"+filepath.Join(dir, DBFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tx, err := r.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM settings`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	writeSettings(t, s, "held", 600, 5*time.Second)
	if got := size(); got <= int64(walSizeLimit) {
		t.Fatalf("WAL file %d bytes while a reader held the log: want more than %d (the test holds no snapshot?)", got, walSizeLimit)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	// 3. The reader gone, the log restarts and the file is cut back: at
	// the first commit after a restart, so one write at a time, each
	// after a checkpoint.
	writeSettings(t, s, "after", 50, 5*time.Second)
	for i := 0; size() > int64(walSizeLimit); i++ {
		if i == 100 {
			t.Fatalf("WAL file %d bytes after the reader left: want at most %d", size(), walSizeLimit)
		}
		time.Sleep(20 * time.Millisecond)
		writeSettings(t, s, fmt.Sprintf("last%d", i), 1, 5*time.Second)
	}
}
