// Package sqlstore is the SQL store of xc5: the provisioning model on one
// of two engines, with the same SQL and numbered migrations for both.
//
//   - SQLite, the embedded default: a file in WAL mode through the pure-Go
//     modernc.org/sqlite driver, so that the binary needs no cgo (db.go;
//     unavailable.go and mapping.go read the driver's error codes).
//   - PostgreSQL, for clusters of nodes sharing one database, through pgx:
//     postgres.go opens it; pgfeed.go (announcing) and pgfollow.go
//     (listening, leases) are its LISTEN/NOTIFY change feed and read
//     fence between nodes.
//
// What differs between the engines' SQL is in dialect.go; the other files
// serve both. Its Store implements the contracts the adapters depend on
// instead of this package: resource.Store for the API and the domain's
// store capabilities (package xc5) for the SIP service; contract.go
// asserts them.
//
// All writes go through writer goroutines that group concurrent writes
// into shared transactions (group commit), one writing connection on
// SQLite and several on PostgreSQL. One failing write never undoes its
// neighbours (writer.go says how, with and without savepoints), and every
// caller is answered only after the COMMIT that made its write durable.
// With synchronous=FULL one fsync then serves many requests instead of one
// each. Between PostgreSQL nodes, pgfeed.go keeps in-memory views exact.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"xc5"
	"xc5/resource"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DBFile is the name of the database file inside the data directory.
const DBFile = "xc5.db"

// Store is the SQLite implementation of resource.Store.
type Store struct {
	d     *dialect
	read  *sql.DB
	write *sql.DB
	w     *writer
	stmts *statements

	mu        sync.Mutex
	listeners []func(resource.Change)
	// mailHooks are told when mail was queued (media.go).
	mailHooks []func()
	// eventHooks are told when webhook events may have been queued.
	eventHooks []func()
	// order keeps changes to one record from being applied out of
	// commit order (order.go).
	order *changeOrder
	// regs gathers concurrent registrations into shared writes
	// (registration.go).
	regs regBatcher
	// lazyRefreshes: see SetLazyRefreshes (regbatch.go).
	lazyRefreshes atomic.Bool
	closeOnce     sync.Once

	// The change feed and read fence (PostgreSQL; pgfeed.go).
	clu    *cluster
	clOnce sync.Once
	schema string // PostgreSQL's current schema, which names the feed's channels

	// SQLite's background checkpointer.
	ckpt               *sql.DB
	ckptStop, ckptDone chan struct{}
}

// Open opens (creating if needed) the database in dir and applies pending
// migrations.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, DBFile)
	pragmas := func(extra ...string) string {
		v := url.Values{}
		for _, p := range append([]string{"busy_timeout(10000)", "foreign_keys(1)", "journal_mode(WAL)"}, extra...) {
			v.Add("_pragma", p)
		}
		return "file:" + path + "?" + v.Encode()
	}
	// Checkpoints run in the background (checkpointer), not inside the
	// writer's commits, where they cost a fifth of the writer's time. The
	// WAL file is cut back to walSizeLimit when the log restarts.
	write, err := sql.Open("sqlite", pragmas("synchronous(FULL)", "wal_autocheckpoint(0)",
		fmt.Sprintf("journal_size_limit(%d)", walSizeLimit)))
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := migrateOn(context.Background(), write, sqliteDialect, "migrations"); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", pragmas("query_only(1)"))
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	s := &Store{d: sqliteDialect, read: read, write: write, order: newChangeOrder()}
	if s.stmts, err = prepare(read); err != nil {
		s.Close()
		return nil, err
	}
	conn, err := write.Conn(context.Background())
	if err != nil {
		s.Close()
		return nil, err
	}
	regs := newRegCache() // one writer connection, one process's copy (regcache.go)
	regs.warm(context.Background(), conn)
	s.w = startWriter(sqliteDialect, write, []*sql.Conn{conn})
	s.w.regs = regs // before any write
	if s.ckpt, err = sql.Open("sqlite", pragmas()); err != nil {
		s.Close()
		return nil, err
	}
	s.ckpt.SetMaxOpenConns(1)
	s.ckptStop = make(chan struct{})
	s.ckptDone = make(chan struct{})
	go s.checkpointer()
	return s, nil
}

// Close stops the writer and closes the database.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.close() })
	return err
}

func (s *Store) close() error {
	if s.w != nil {
		s.w.stop() // no write commits from now on
	}
	s.closeFeed() // announces what was committed, then stops
	if s.ckptStop != nil {
		close(s.ckptStop)
		<-s.ckptDone
		s.ckpt.Close()
	}
	err := s.read.Close()
	if s.write != s.read {
		err = errors.Join(err, s.write.Close())
	}
	return err
}

// migrateOn runs migrate on one connection of db, since a migration's
// BEGIN and COMMIT must reach the same session.
func migrateOn(ctx context.Context, db *sql.DB, d *dialect, dir string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return migrate(ctx, conn, d, migrations, dir)
}

// migrate applies the embedded migrations that the database lacks, each in
// its own transaction, in the order of their numeric prefix.
func migrate(ctx context.Context, db execer, d *dialect, files fs.FS, dir string) error {
	db = d.wrap(db)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(files, dir+"/*.sql")
	if err != nil {
		return err
	}
	type m struct {
		version int
		name    string
	}
	var list []m
	for _, n := range names {
		base := filepath.Base(n)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		list = append(list, m{v, n})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	for _, mg := range list {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, mg.version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(files, mg.name)
		if err != nil {
			return err
		}
		body = []byte(d.ddl(string(body)))
		if _, err := db.ExecContext(ctx, "BEGIN"); err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, string(body)); err != nil {
			db.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("migration %s: %w", mg.name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, mg.version); err != nil {
			db.ExecContext(ctx, "ROLLBACK")
			return err
		}
		if _, err := db.ExecContext(ctx, "COMMIT"); err != nil {
			return fmt.Errorf("migration %s: %w", mg.name, err)
		}
	}
	return nil
}

// conflict, notFound and invalid are shorthands for domain errors.
func conflict(format string, args ...any) error { return xc5.Errorf(xc5.ECONFLICT, format, args...) }
func notFound(format string, args ...any) error { return xc5.Errorf(xc5.ENOTFOUND, format, args...) }
func invalid(format string, args ...any) error  { return xc5.Errorf(xc5.EINVALID, format, args...) }

// readError maps a failed single-row read: no row is ENOTFOUND, anything
// else (the database unreachable, closed, its schema gone) is
// EUNAVAILABLE, so that a login is answered 503 rather than "wrong
// password" when the store cannot say.
func readError(err error, format string, args ...any) error {
	err = missing(err, format, args...)
	if xc5.ErrorCode(err) == xc5.EINTERNAL {
		return fmt.Errorf("%w: %w", xc5.Errorf(xc5.EUNAVAILABLE, "the account store is unavailable; try again shortly"), err)
	}
	return err
}

// walRestartFrames is the WAL length (in pages, about 32 MiB) past which
// the checkpointer asks the writer to catch up, so that the log restarts.
// walSizeLimit is the size the WAL file is cut back to when it restarts
// (journal_size_limit): room for two seconds of a registration storm's
// writes, so that a storm neither truncates nor regrows the file.
// checkpointEvery is the checkpointer's period. Variables for tests.
var (
	walRestartFrames = 8192
	walSizeLimit     = 64 << 20
	checkpointEvery  = time.Second
)

// checkpointer copies the WAL back into the database file every second,
// off the writer's path. PASSIVE never waits for readers or the writer.
//
// A passive checkpoint never restarts the log while writes keep coming:
// it copies the frames committed when it began, the writer commits more
// meanwhile, and SQLite restarts the log (writes it again from its start)
// only at a write that begins with every frame copied and no reader in
// the log. So when the log is long, the writer itself runs a passive
// checkpoint between two batches: no other connection writes, so it
// copies the few frames left (5-10 ms in a storm of 8,000 REGISTERs a
// second), and its next write restarts the log. It used to run a
// TRUNCATE checkpoint there instead, which waits for every reader in the
// log (up to the busy timeout, 10 s, behind a long read), fsyncs, and
// gives the file's blocks back only for the next writes to allocate them
// again: 25-45 ms each second of a storm, 390 ms in one, with every
// write waiting (docs/benchmarks.md, issue 11). A reader that holds an
// old snapshot for long keeps the log from restarting, as it does in
// any WAL database; the file grows meanwhile, and is cut back to
// walSizeLimit at the first restart after.
func (s *Store) checkpointer() {
	defer close(s.ckptDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	failing := false // logged once when checkpoints start failing (a full disk), once when they work again
	for {
		select {
		case <-s.ckptStop:
			s.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			return
		case <-t.C:
			var busy, log, done int
			err := s.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
			switch {
			case err != nil && !failing:
				slog.Error("wal checkpoint failed; retrying every second", "err", err)
			case err == nil && failing:
				slog.Warn("wal checkpoint works again")
			}
			failing = err != nil
			if err == nil && log > walRestartFrames {
				s.w.catchUp.Store(true)
			}
		}
	}
}
