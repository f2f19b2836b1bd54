package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

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
)

// storeErr turns an error that says the database is out of reach (a
// lost or refused connection, a server shutting down) or cannot write
// (disk full, I/O errors) into the matching EUNAVAILABLE error, which
// still wraps err for the log. Anything else is returned unchanged.
func storeErr(err error) error {
	switch {
	case err == nil || xc5.ErrorCode(err) != xc5.EINTERNAL:
		return err
	case storageFull(err):
		return fmt.Errorf("%w: %w", errStorageFull, err)
	case storageFailing(err):
		return fmt.Errorf("%w: %w", errStorageFail, err)
	case connectionLost(err):
		return fmt.Errorf("%w: %w", errUnreachable, err)
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
