package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
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

// writer owns the only writing connection and runs group commits.
type writer struct {
	conn *sql.Conn
	ops  chan *op
	quit chan struct{}
	dead chan struct{}
}

func startWriter(conn *sql.Conn) *writer {
	w := &writer{conn: conn, ops: make(chan *op, maxBatch), quit: make(chan struct{}), dead: make(chan struct{})}
	go w.loop()
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
	w.conn.Close()
}

func (w *writer) loop() {
	defer close(w.dead)
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
		w.run(batch)
	}
}

// run executes one batch as one transaction.
func (w *writer) run(batch []*op) {
	ctx := context.Background()
	fail := func(err error) {
		for _, o := range batch {
			o.done <- err
		}
	}
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	results := make([]error, len(batch))
	for i, o := range batch {
		results[i] = w.runOne(ctx, o)
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		slog.Error("group commit failed", "err", err, "writes", len(batch))
		w.conn.ExecContext(ctx, "ROLLBACK")
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, o := range batch {
		o.done <- results[i]
	}
}

// runOne runs one write inside its own savepoint, undoing it alone when
// it fails or panics.
func (w *writer) runOne(ctx context.Context, o *op) (err error) {
	if _, err := w.conn.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic in store write", "panic", p)
			err = fmt.Errorf("panic in store write: %v", p)
		}
		if err != nil {
			w.conn.ExecContext(ctx, "ROLLBACK TO w")
		}
		w.conn.ExecContext(ctx, "RELEASE w")
	}()
	return o.fn(ctx, w.conn)
}
