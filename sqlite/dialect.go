package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// dialect holds what differs between the SQL engines behind the store. The
// store's SQL is written once, with "?" placeholders, in the subset both
// SQLite and PostgreSQL understand.
type dialect struct {
	name string
	// begin starts a writer transaction.
	begin string
	// like is the case-insensitive LIKE (SQLite's LIKE already is).
	like string
	// rebind turns "?" placeholders into "$1", "$2", … (PostgreSQL).
	rebind bool
}

var (
	sqliteDialect   = &dialect{name: "sqlite", begin: "BEGIN IMMEDIATE", like: "LIKE"}
	postgresDialect = &dialect{name: "postgres", begin: "BEGIN", like: "ILIKE", rebind: true}
)

// rebound caches rewritten queries: the store's queries come from a fixed
// set of templates, so the cache stays small.
var rebound sync.Map

// bind rewrites a query for the dialect.
func (d *dialect) bind(q string) string {
	if !d.rebind || !strings.Contains(q, "?") {
		return q
	}
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	rebound.Store(q, out)
	return out
}

// wrap adapts an execer to the dialect's placeholders.
func (d *dialect) wrap(e execer) execer {
	if !d.rebind {
		return e
	}
	return boundExecer{e: e, d: d}
}

type boundExecer struct {
	e execer
	d *dialect
}

func (b boundExecer) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return b.e.ExecContext(ctx, b.d.bind(q), args...)
}

func (b boundExecer) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return b.e.QueryContext(ctx, b.d.bind(q), args...)
}

func (b boundExecer) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return b.e.QueryRowContext(ctx, b.d.bind(q), args...)
}
