package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"
)

// How each write of a batch runs inside the batch's transaction (writer.go):
// in its own savepoint or, when rerunnable, bare with its writing
// statements counted, a panic turned into an error, and a run of bare
// writes undone when one of them fails after writing.

// undoRun rolls back the savepoint-free writes since the batch's write
// number seg: to savepoint s, or the whole transaction when the run began
// with it (then a new one is begun).
func (w *writer) undoRun(ctx context.Context, c *wconn, seg int) error {
	q := c.q
	if seg > 0 {
		if _, err := q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT s"); err != nil {
			return fmt.Errorf("rollback to savepoint: %w", err)
		}
		return nil
	}
	if _, err := q.ExecContext(ctx, "ROLLBACK"); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	if err := w.beginTx(ctx, c, false); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	return nil
}

// usable reports whether the connection's transaction can go on after a
// failed statement. PostgreSQL aborts the whole transaction on any error
// (its state is then 'E' instead of 'T'); SQLite undoes only the failed
// statement. (SQLite rolls a transaction back by itself only on I/O-level
// errors, which fail the batch's COMMIT, savepoints or not.)
func (w *writer) usable(conn *sql.Conn) bool {
	if w.d != postgresDialect {
		return true
	}
	ok := false
	conn.Raw(func(dc any) error {
		if c, isPG := dc.(*stdlib.Conn); isPG {
			ok = c.Conn().PgConn().TxStatus() == 'T'
		}
		return nil
	})
	return ok
}

// runBare runs a rerunnable write without a savepoint. clean reports
// that it failed before writing anything (a SELECT never writes), so
// that the transaction holds nothing of it.
func runBare(ctx context.Context, q execer, o *op) (clean bool, err error) {
	t := &tracker{execer: q}
	panicked, err := runGuarded(ctx, t, o)
	return !panicked && t.writes == 0, err
}

// tracker counts the statements of a write that may have changed
// something: all but SELECTs.
type tracker struct {
	execer
	writes int
}

func (t *tracker) note(q string) {
	q = strings.TrimLeft(q, " \t\r\n")
	if len(q) < 6 || !strings.EqualFold(q[:6], "SELECT") {
		t.writes++
	}
}

func (t *tracker) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	t.note(q)
	return t.execer.ExecContext(ctx, q, args...)
}

func (t *tracker) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.note(q)
	return t.execer.QueryContext(ctx, q, args...)
}

func (t *tracker) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	t.note(q)
	return t.execer.QueryRowContext(ctx, q, args...)
}

// changedNothing tells the writer that the last writing statement q ran
// (an INSERT … ON CONFLICT DO NOTHING that returned no row) changed
// nothing, so that a failure after it still leaves the transaction clean
// and needs no rerun.
func changedNothing(q execer) {
	if r, ok := q.(regWatch); ok {
		q = r.execer
	}
	if t, ok := q.(*tracker); ok && t.writes > 0 {
		t.writes--
	}
}

// runOne runs one write inside its own savepoint, undoing it alone when
// it fails or panics, or when it reports success in a transaction that
// one of its statements aborted (whose COMMIT would silently roll back).
func (w *writer) runOne(ctx context.Context, conn *sql.Conn, q execer, o *op) (err error) {
	if _, err := q.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err = runAlone(ctx, q, o); err == nil && !w.usable(conn) {
		slog.Error("store write reported success after a failed statement")
		err = errAborted
	}
	if err != nil {
		q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w")
	}
	q.ExecContext(ctx, "RELEASE SAVEPOINT w")
	return err
}

// errAborted answers a write that reported success although a statement
// of it failed and aborted the transaction.
var errAborted = errors.New("transaction aborted by a failed statement")

// runAlone runs a write, turning a panic into an error so that one bad
// write cannot take the writer (and every queued write) down.
func runAlone(ctx context.Context, conn execer, o *op) error {
	_, err := runGuarded(ctx, conn, o)
	return err
}

// runGuarded is runAlone that also reports whether fn panicked (and so
// may have stopped anywhere).
func runGuarded(ctx context.Context, conn execer, o *op) (panicked bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic in store write", "panic", p)
			panicked, err = true, fmt.Errorf("panic in store write: %v", p)
		}
	}()
	return false, o.fn(ctx, conn)
}
