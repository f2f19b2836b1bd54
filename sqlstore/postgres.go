package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"xc5"
)

// pgWriters is how many connections write to PostgreSQL at once. Each runs
// group commits of its own; PostgreSQL's WAL flush already batches commits
// of concurrent sessions, so several writers beat one big one.
const pgWriters = 8

// pgMaxConns bounds a node's connections to PostgreSQL: the writers' and
// those of concurrent reads.
const pgMaxConns = 32 + pgWriters

// migrationLock is the advisory lock key that serialises migrations when
// several nodes start at once ("xc5" in ASCII).
const migrationLock = 0x786335

// OpenPostgres opens the store on a PostgreSQL database (a postgres://
// URL) and applies pending migrations under an advisory lock, so that
// nodes starting together migrate once.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(pgMaxConns)
	db.SetMaxIdleConns(pgMaxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := MigratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{d: postgresDialect, read: db, write: db, order: newChangeOrder()}
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&s.schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("current schema: %w", err)
	}
	if s.stmts, err = prepare(db); err != nil {
		db.Close()
		return nil, err
	}
	var conns []*sql.Conn
	for i := 0; i < pgWriters; i++ {
		c, err := db.Conn(ctx)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			db.Close()
			return nil, err
		}
		conns = append(conns, c)
	}
	s.w = startWriter(postgresDialect, db, conns)
	return s, nil
}

// MigratePostgres applies pending migrations to a PostgreSQL database.
func MigratePostgres(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock)
	return migrate(ctx, conn, postgresDialect, migrations, "migrations")
}

// MigrationsDigest is a hash of the migrations as PostgreSQL runs them
// (names and DDL after the dialect's rewrite): the tests keep one migrated
// template database per digest and copy it for each test, so a changed
// migration (or rewrite) makes a new template instead of reusing a stale one.
func MigrationsDigest() string {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	h := sha256.New()
	for _, n := range names { // fs.Glob sorts them
		body, err := fs.ReadFile(migrations, n)
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		ddl := postgresDialect.ddl(string(body))
		fmt.Fprintf(h, "%s\n%d\n%s", n, len(ddl), ddl)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// pgError maps PostgreSQL constraint violations by their SQLSTATE codes.
func pgError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	if badText(err) {
		return errBadText
	}
	switch pe.Code {
	case "23505": // unique_violation
		return xc5.Errorf(xc5.ECONFLICT, "a record with the same unique value already exists")
	case "23503": // foreign_key_violation
		return xc5.Errorf(xc5.ECONFLICT, "the record is still referenced, or refers to a record that does not exist")
	}
	return err
}
