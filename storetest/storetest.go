// Package storetest gives tests the stores they must hold to one
// behaviour: SQLite always, and PostgreSQL when XC5_TEST_POSTGRES holds a
// postgres:// URL (CI sets it; on a laptop without PostgreSQL those runs
// are skipped). Every PostgreSQL run gets a schema of its own, dropped at
// the end, so tests never see each other's data.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for schema set-up

	"xc5/sqlstore"
)

// EnvPostgres names the variable holding the test PostgreSQL URL.
const EnvPostgres = "XC5_TEST_POSTGRES"

// Backend opens one test database; Open may be called again to reopen the
// same database (for durability tests).
type Backend struct {
	Name string
	// Dir is the SQLite backend's data directory ("" for PostgreSQL).
	Dir  string
	Open func(t testing.TB) *sqlstore.Store
}

// Backends returns the SQLite backend and, when configured, PostgreSQL.
func Backends(t testing.TB) []Backend {
	dir := t.TempDir()
	out := []Backend{{Name: "sqlite", Dir: dir, Open: func(t testing.TB) *sqlstore.Store {
		s, err := sqlstore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}}
	if u := PostgresURL(t); u != "" {
		out = append(out, Backend{Name: "postgres", Open: func(t testing.TB) *sqlstore.Store {
			s, err := sqlstore.OpenPostgres(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}})
	}
	return out
}

// Each runs fn as a subtest on every backend with a fresh, bootstrapped
// store that is closed afterwards.
func Each(t *testing.T, adminPassword string, fn func(t *testing.T, s *sqlstore.Store)) {
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			t.Cleanup(func() { s.Close() })
			if _, err := s.Bootstrap(context.Background(), adminPassword); err != nil {
				t.Fatal(err)
			}
			fn(t, s)
		})
	}
}

// PostgresURL returns the URL of a fresh schema in the test database, or
// "" when none is configured. The schema is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	base := os.Getenv(EnvPostgres)
	if base == "" {
		return ""
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
