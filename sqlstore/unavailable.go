package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"xc5"
)

// The store's answers when its database cannot serve it for now: the
// adapters map xc5.EUNAVAILABLE to 503 with Retry-After (HTTP and SIP), so
// that clients come back later instead of taking a 500 for a bug.
var (
	errUnreachable = xc5.Errorf(xc5.EUNAVAILABLE, "the database is unreachable; try again later")
	errStorageFull = xc5.Errorf(xc5.EUNAVAILABLE, "the server's storage is full; try again later")
	errStorageFail = xc5.Errorf(xc5.EUNAVAILABLE, "the server cannot write to its storage; try again later")
	errBusy        = xc5.Errorf(xc5.EUNAVAILABLE, "the database is too busy to take the write in time; try again later")
	// errClosed answers a write that reaches a store being shut down:
	// another node (or this one, restarted) will take it.
	errClosed = xc5.Errorf(xc5.EUNAVAILABLE, "the store is closed (shutting down); try again shortly")
	// errOutcomeUnknown answers the writes of a batch whose COMMIT was
	// sent but never answered: it may have committed. A client that
	// retries a create blindly may create it twice (docs/cluster.md).
	errOutcomeUnknown = xc5.Errorf(xc5.EUNAVAILABLE, "the database did not confirm the write, so the outcome is unknown: read before retrying")
)

// commitUnanswered reports a COMMIT that PostgreSQL never answered (the
// connection broke or timed out while it was under way), as opposed to
// one it refused, which it rolled back.
func commitUnanswered(d *dialect, err error) bool {
	var pe *pgconn.PgError
	return d == postgresDialect && !errors.As(err, &pe) && connectionLost(err)
}

// lockTimedOut reports a statement given up by PostgreSQL's lock_timeout
// (55P03 lock_not_available) or statement_timeout (57014).
func lockTimedOut(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "55P03" || pe.Code == "57014")
}

// storeErr turns an error that says the database is out of reach (a
// lost or refused connection, a server shutting down) or cannot write
// (disk full, I/O errors) into the matching EUNAVAILABLE error, which
// still wraps err for the log. Anything else is returned unchanged.
func storeErr(err error) error {
	switch {
	case err == nil || xc5.ErrorCode(err) != xc5.EINTERNAL:
		return err
	case badText(err): // a value no record can hold reached PostgreSQL
		return errBadText
	case storageFull(err):
		return fmt.Errorf("%w: %w", errStorageFull, err)
	case storageFailing(err):
		return fmt.Errorf("%w: %w", errStorageFail, err)
	case connectionLost(err):
		return fmt.Errorf("%w: %w", errUnreachable, err)
	case lockTimedOut(err):
		return fmt.Errorf("%w: %w", errBusy, err)
	}
	return err
}

// missing answers a lookup that failed with err: "not found" (the
// message) when the row is not there, the store's error otherwise, so
// that an unreachable database never reads as a missing record (a 404 to
// the API, a 403 to a registering phone).
func missing(err error, format string, args ...any) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) || xc5.ErrorCode(err) == xc5.ENOTFOUND {
		return notFound(format, args...)
	}
	return storeErr(err)
}

// sessionLost reports that a statement failed because its connection's
// session had ended, on a connection the pool already held, so that
// running it again on another (or a new) connection may succeed; a
// failure to connect at all does not count.
func sessionLost(err error) bool {
	var ce *pgconn.ConnectError
	return err != nil && connectionLost(err) && !errors.As(err, &ce) &&
		!errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err)
}

// forgetIdle closes the idle connections of a PostgreSQL pool once one
// of them was found to have lost its session. When PostgreSQL ends
// sessions (a restart, a failover, pg_terminate_backend) it ends them
// all, but the pool finds out only when it next uses each one, so that
// every idle connection would fail one request after the database is
// back. It runs in a goroutine of its own: closing a connection to a
// database that does not answer takes pgx up to 5 s.
func forgetIdle(db *sql.DB) {
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(db.Stats().MaxOpenConnections) // the store's pools keep all their connections
}

// idleForgetter runs forgetIdle for one pool at most once at a time and
// at most once per forgetEvery: during an outage every read fails, and a
// goroutine per failed read (each blocked up to 5 s closing connections)
// would pile up by the thousand.
type idleForgetter struct {
	running atomic.Bool
	last    atomic.Int64 // UnixNano of the last start
}

// forgetEvery is the least time between two forgetIdle runs of a pool.
const forgetEvery = time.Second

// start runs forgetIdle(db) in a goroutine unless one runs or ran less
// than forgetEvery ago; it reports whether it started one.
func (f *idleForgetter) start(db *sql.DB) bool {
	now := time.Now().UnixNano()
	if now-f.last.Load() < int64(forgetEvery) || !f.running.CompareAndSwap(false, true) {
		return false
	}
	f.last.Store(now)
	go func() {
		defer f.running.Store(false)
		forgetIdle(db)
	}()
	return true
}

// storageFull reports a write refused for want of space: SQLite's
// SQLITE_FULL, PostgreSQL's disk_full.
func storageFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_FULL // the primary code of an extended one
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "53100"
}

// storageFailing reports a write that the disk failed: SQLite's
// SQLITE_IOERR family, PostgreSQL's class 58 (system errors, I/O).
func storageFailing(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_IOERR
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && strings.HasPrefix(pe.Code, "58")
}

// connectionLost reports an error of the path to PostgreSQL rather than
// of the statement: the connection is gone or cannot be made, or the
// server is shutting down or refusing sessions (pg_terminate_backend
// gives 57P01). Timeouts count too: a database that does not answer is
// unavailable to the client however it failed.
func connectionLost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		c := pe.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "57P") || c == "53300" || c == "53000"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}
