package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"xc5"
)

// The writer's connections when the database goes away: a broken one is
// replaced on the next batch, a batch that waits too long gives its
// connection up, and what fails for want of the database is answered
// EUNAVAILABLE (docs/cluster.md, "When the database goes away").

// wconn is one of the writer's connections with its prepared statements.
type wconn struct {
	conn  *sql.Conn
	cache *stmtCache
	q     execer // cache, in the dialect's placeholders
	// normal says that SQLite's synchronous is NORMAL (commits without
	// an fsync) rather than FULL (see syncFor).
	normal bool
}

func (w *writer) attach(conn *sql.Conn) *wconn {
	cache := newStmtCache(conn)
	return &wconn{conn: conn, cache: cache, q: w.d.wrap(cache)}
}

func (c *wconn) close() {
	c.cache.close()
	c.conn.Close()
}

// reconnectTimeout bounds the wait for a new connection when the old one
// broke: the batch's writes are answered "unavailable" if it runs out.
const reconnectTimeout = 3 * time.Second

// pgBatchTimeout bounds a PostgreSQL batch, from its BEGIN up to (not
// including) its COMMIT. A batch takes milliseconds; one that takes this long is waiting
// on a database that stopped answering without closing the connection
// (packets dropped, not refused), which TCP would take many minutes to
// notice. Its connection is then closed and its writes answered
// "unavailable". A shorter stall only delays the batch. Bulk writes (an
// import, one transaction for a whole installation) are not bounded.
const pgBatchTimeout = 15 * time.Second

// pgCommitTimeout bounds a batch's COMMIT (pgBatchTimeout does not):
// a COMMIT that waits on a synchronous standby is committed locally
// already, and is given up only when the database has clearly stopped
// answering. The write is then answered errOutcomeUnknown.
const pgCommitTimeout = time.Minute

// pgLockTimeout bounds how long one write waits for a row lock another
// session holds (PostgreSQL's lock_timeout, set for each batch): the
// write then fails alone (its savepoint is undone) with errBusy, instead
// of holding its batch until pgBatchTimeout fails every write of it.
const pgLockTimeout = 5 * time.Second

// beginTx starts a batch's transaction on q: on PostgreSQL with the
// lock timeout, in the same round trip (no lock timeout for a bulk
// batch, which is not bounded in time).
func (w *writer) beginTx(ctx context.Context, c *wconn, bulk bool) error {
	if w.d != postgresDialect {
		_, err := c.q.ExecContext(ctx, w.d.begin)
		return err
	}
	lt := time.Duration(w.lockTimeout.Load())
	if bulk {
		lt = 0
	}
	// Two statements in one simple-protocol query (no arguments), run
	// on the connection itself, since they cannot be prepared together.
	_, err := c.conn.ExecContext(ctx, fmt.Sprintf("BEGIN; SET LOCAL lock_timeout = %d", lt.Milliseconds()))
	return err
}

// beginRetries is how many new connections a batch tries when the BEGIN
// finds its connection broken: the pool may hand out idle ones that lost
// their sessions too (each fails at once) before forgetIdle has emptied
// it, up to all of them. A database that refuses connections ends the
// retries at the first (see begin).
const beginRetries = pgMaxConns

// begin starts a batch's transaction on c, or on a new connection when c
// is nil or turns out broken at the BEGIN (the session was terminated
// while idle, say). Nothing of the batch has run then, so trying again on
// a new connection is safe; the batch is failed only when no connection
// can be had, with an EUNAVAILABLE error. c is returned (nil when
// closed) whatever the outcome.
func (w *writer) begin(ctx context.Context, c *wconn, bulk bool) (*wconn, error) {
	for attempt := 0; ; attempt++ {
		if c == nil {
			cctx, cancel := context.WithTimeout(ctx, reconnectTimeout)
			conn, err := w.db.Conn(cctx)
			cancel()
			if err != nil {
				if !w.down.Swap(true) {
					slog.Error("group commit: cannot connect to the database; writes answer unavailable until it is back", "err", err)
				}
				return nil, fmt.Errorf("%w: connect: %w", errUnreachable, err)
			}
			if w.down.Swap(false) {
				slog.Warn("group commit: connected to the database again")
			}
			c = w.attach(conn)
		}
		err := w.beginTx(ctx, c, bulk)
		if err == nil {
			return c, nil
		}
		if !w.broken(c.conn) || attempt >= beginRetries {
			return c, w.failed(c.conn, fmt.Errorf("begin: %w", err))
		}
		c.close()
		c = nil
		if attempt == 0 {
			slog.Warn("group commit: the database connection was lost; reconnecting", "err", err)
			if w.d == postgresDialect {
				w.forget.start(w.db) // they lost their sessions too, most likely
			}
		}
	}
}

// syncFor sets how the SQLite batch's COMMIT reaches the disk, before its
// BEGIN (SQLite refuses the change inside a transaction): without an
// fsync (synchronous=NORMAL) when every write of it allows that
// (op.lazySync, only the refreshes of live bindings), otherwise with one
// (FULL, as every other write always has). The next FULL commit, or the
// checkpointer within a second, makes a NORMAL one durable too, since
// both sync the whole WAL. If FULL cannot be set back the batch fails.
func (w *writer) syncFor(ctx context.Context, c *wconn, batch []*op) error {
	if w.d != sqliteDialect || c == nil {
		return nil
	}
	lazy := !slices.ContainsFunc(batch, func(o *op) bool { return !o.lazySync })
	if lazy == c.normal {
		return nil
	}
	mode := "FULL"
	if lazy {
		mode = "NORMAL"
	}
	if _, err := c.conn.ExecContext(ctx, "PRAGMA synchronous = "+mode); err != nil {
		if lazy {
			return nil // FULL stays: durable anyway
		}
		return fmt.Errorf("set synchronous: %w", err)
	}
	c.normal = lazy
	return nil
}

// broken reports whether conn can no longer be used: database/sql or the
// driver has closed it after a network error, or the server ended the
// session. (SQLite's connections never break so.)
func (w *writer) broken(conn *sql.Conn) bool {
	closed := false
	err := conn.Raw(func(dc any) error {
		if c, ok := dc.(*stdlib.Conn); ok {
			closed = c.Conn().IsClosed()
		}
		return nil
	})
	return err != nil || closed
}

// failed is the answer to a write (or batch) that failed with err on
// conn: when the connection broke meanwhile, the write failed for that
// (whatever error it reported, a lookup answering "not found", say), and
// the client is told the database is unreachable; a full disk likewise
// answers EUNAVAILABLE.
func (w *writer) failed(conn *sql.Conn, err error) error {
	if err == nil {
		return nil
	}
	if w.broken(conn) && xc5.ErrorCode(err) != xc5.EUNAVAILABLE {
		return fmt.Errorf("%w: %w", errUnreachable, err)
	}
	return storeErr(err)
}
