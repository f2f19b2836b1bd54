package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// maxBatch bounds how many writes share one transaction, so that a burst
// cannot make one commit (and the callers waiting on it) arbitrarily slow.
const maxBatch = 256

// execer is what a write function may use: the writer's connection, inside
// the batch's transaction and the write's own savepoint.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type op struct {
	fn   func(ctx context.Context, tx execer) error
	done chan error
}

// writer owns the writing connections and runs group commits: SQLite has
// one (it allows one writer at a time), PostgreSQL several, each taking
// the writes queued when it is free.
type writer struct {
	d     *dialect
	conns []*sql.Conn
	ops   chan *op
	quit  chan struct{}
	dead  chan struct{}
	wg    sync.WaitGroup
	// truncate asks the (SQLite) writer to reset the WAL between batches.
	truncate atomic.Bool
}

func startWriter(d *dialect, conns []*sql.Conn) *writer {
	w := &writer{d: d, conns: conns, ops: make(chan *op, maxBatch), quit: make(chan struct{}), dead: make(chan struct{})}
	for _, c := range conns {
		w.wg.Add(1)
		go w.loop(c)
	}
	go func() { w.wg.Wait(); close(w.dead) }()
	return w
}

// do runs fn in a transaction shared with concurrent writes and returns
// once that transaction is durably committed (or fn's error). The
// request's context only bounds the wait: once queued, a write is never
// cancelled half way, so that it is either wholly done or not at all.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx execer) error) error {
	o := &op{fn: fn, done: make(chan error, 1)}
	select {
	case w.ops <- o:
	case <-w.dead:
		return fmt.Errorf("store is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-o.done
}

func (w *writer) stop() {
	close(w.quit)
	<-w.dead
	for _, c := range w.conns {
		c.Close()
	}
}

func (w *writer) loop(conn *sql.Conn) {
	defer w.wg.Done()
	cache := newStmtCache(conn)
	defer cache.close()
	q := w.d.wrap(cache)
	for {
		var first *op
		select {
		case first = <-w.ops:
		case <-w.quit:
			return
		}
		batch := []*op{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case o := <-w.ops:
				batch = append(batch, o)
			default:
				break drain
			}
		}
		w.run(q, batch)
		if w.truncate.Swap(false) {
			if _, err := q.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				slog.Warn("wal truncate", "err", err)
			}
		}
	}
}

// run executes one batch as one transaction.
func (w *writer) run(conn execer, batch []*op) {
	ctx := context.Background()
	fail := func(err error) {
		for _, o := range batch {
			o.done <- err
		}
	}
	if _, err := conn.ExecContext(ctx, w.d.begin); err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	results := make([]error, len(batch))
	if len(batch) == 1 {
		// Alone in its transaction, a write needs no savepoint: a failure
		// rolls the whole transaction back. Two round trips fewer.
		if results[0] = runAlone(ctx, conn, batch[0]); results[0] != nil {
			conn.ExecContext(ctx, "ROLLBACK")
			batch[0].done <- results[0]
			return
		}
	} else {
		for i, o := range batch {
			results[i] = runOne(ctx, conn, o)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		slog.Error("group commit failed", "err", err, "writes", len(batch))
		conn.ExecContext(ctx, "ROLLBACK")
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, o := range batch {
		o.done <- results[i]
	}
}

// runOne runs one write inside its own savepoint, undoing it alone when
// it fails or panics.
func runOne(ctx context.Context, conn execer, o *op) (err error) {
	if _, err := conn.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err = runAlone(ctx, conn, o); err != nil {
		conn.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w")
	}
	conn.ExecContext(ctx, "RELEASE SAVEPOINT w")
	return err
}

// runAlone runs a write, turning a panic into an error so that one bad
// write cannot take the writer (and every queued write) down.
func runAlone(ctx context.Context, conn execer, o *op) (err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic in store write", "panic", p)
			err = fmt.Errorf("panic in store write: %v", p)
		}
	}()
	return o.fn(ctx, conn)
}
