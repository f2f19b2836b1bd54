// Package storetest gives tests the stores they must hold to one
// behaviour: SQLite always, and PostgreSQL when XC5_TEST_POSTGRES holds a
// postgres:// URL (CI sets it; on a laptop without PostgreSQL those runs
// are skipped). Every PostgreSQL run gets a database of its own, a copy
// of a template migrated once, dropped at the end, so tests never see
// each other's data.
//
// Open is the store every adapter package's tests (api, sipserver,
// portal, …) run on. XC5_TEST_STORE chooses its backend: unset or
// "sqlite" is SQLite in t.TempDir(); "postgres" is a fresh database on the
// XC5_TEST_POSTGRES server, and then a missing XC5_TEST_POSTGRES fails
// the test rather than skipping it. So one package's tests run on
// PostgreSQL with
//
//	XC5_TEST_STORE=postgres XC5_TEST_POSTGRES=postgres://… go test ./api
//
// as CI does (.ci/run) after the default run on SQLite.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for schema set-up

	"xc5/internal/poll"
	"xc5/sqlstore"
)

// EnvPostgres names the variable holding the test PostgreSQL URL.
const EnvPostgres = "XC5_TEST_POSTGRES"

// EnvStore names the variable choosing Open's backend: "sqlite" (the
// default) or "postgres".
const EnvStore = "XC5_TEST_STORE"

// Open returns a fresh store, bootstrapped with adminPassword and closed
// when the test ends, on the backend XC5_TEST_STORE chooses (see the
// package doc).
func Open(t testing.TB, adminPassword string) *sqlstore.Store {
	t.Helper()
	var s *sqlstore.Store
	var err error
	if OnPostgres(t) {
		if os.Getenv(EnvPostgres) == "" {
			t.Fatalf("%s=postgres needs %s (a postgres:// URL)", EnvStore, EnvPostgres)
		}
		u := PostgresURL(t)
		if s, err = sqlstore.OpenPostgres(context.Background(), u); err == nil {
			urls.Store(s, u)
			t.Cleanup(func() { urls.Delete(s) })
		}
	} else {
		s, err = sqlstore.Open(t.TempDir())
	}
	if err != nil {
		t.Fatalf("open the test store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	created, err := s.Bootstrap(context.Background(), adminPassword)
	if err != nil {
		t.Fatalf("bootstrap the test store: %v", err)
	}
	if !created {
		t.Fatal("bootstrap of a fresh test store created no admin")
	}
	return s
}

// urls holds the URL each PostgreSQL store of Open's was opened on, for
// Follow.
var urls sync.Map // *sqlstore.Store → string

// Follow makes s, a store of Open's, a node that hears of every write
// (s.Fresh), as xc5 serve's nodes are: on PostgreSQL it follows the change
// feed until the test ends and returns once s is fresh; SQLite is always
// fresh. Tests of what a fresh node may answer from memory use it; an
// unfollowed PostgreSQL store is a node whose feed is down.
func Follow(t testing.TB, s *sqlstore.Store) {
	t.Helper()
	u, ok := urls.Load(s)
	if !ok {
		if !s.Fresh() {
			t.Fatal("storetest.Follow: not a store of storetest.Open's")
		}
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	s.Follow(ctx, u.(string))
	poll.Until(t, 10*time.Second, "the store following the change feed to be fresh", s.Fresh)
}

// OnPostgres reports whether Open gives PostgreSQL stores, for the few
// tests that are about one backend only and skip on the other.
func OnPostgres(t testing.TB) bool {
	t.Helper()
	switch b := os.Getenv(EnvStore); b {
	case "", "sqlite":
		return false
	case "postgres":
		return true
	default:
		t.Fatalf("%s=%q: want sqlite or postgres", EnvStore, b)
		return false
	}
}

// Backend opens one test database; Open may be called again to reopen the
// same database (for durability tests).
type Backend struct {
	Name string
	// Dir is the SQLite backend's data directory ("" for PostgreSQL).
	Dir  string
	Open func(t testing.TB) *sqlstore.Store
}

// Backends returns the SQLite backend and, when configured, PostgreSQL:
// for the packages CI tests once (sqlstore, webhook, mail); the adapter
// packages, which CI tests once per backend, use Chosen.
func Backends(t testing.TB) []Backend {
	out := []Backend{sqliteBackend(t)}
	if u := PostgresURL(t); u != "" {
		out = append(out, postgresBackend(u))
	}
	return out
}

func sqliteBackend(t testing.TB) Backend {
	dir := t.TempDir()
	return Backend{Name: "sqlite", Dir: dir, Open: func(t testing.TB) *sqlstore.Store {
		s, err := sqlstore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

func postgresBackend(u string) Backend {
	return Backend{Name: "postgres", Open: func(t testing.TB) *sqlstore.Store {
		s, err := sqlstore.OpenPostgres(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

// Each runs fn as a subtest on every backend with a fresh, bootstrapped
// store that is closed afterwards.
func Each(t *testing.T, adminPassword string, fn func(t *testing.T, s *sqlstore.Store)) {
	each(t, Backends(t), adminPassword, fn)
}

func each(t *testing.T, backends []Backend, adminPassword string, fn func(t *testing.T, s *sqlstore.Store)) {
	for _, b := range backends {
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

// Chosen returns the one backend XC5_TEST_STORE chooses (see Open), for
// the tests of the adapter packages that would loop over Backends: CI
// runs those packages once per backend (SQLite by default, then again
// with XC5_TEST_STORE=postgres), so looping over both there ran every
// PostgreSQL case twice, and each case now runs once across the passes.
func Chosen(t testing.TB) []Backend {
	t.Helper()
	if !OnPostgres(t) {
		return []Backend{sqliteBackend(t)}
	}
	u := PostgresURL(t)
	if u == "" {
		t.Fatalf("%s=postgres needs %s (a postgres:// URL)", EnvStore, EnvPostgres)
	}
	return []Backend{postgresBackend(u)}
}

// EachChosen is Each on the backend Chosen returns.
func EachChosen(t *testing.T, adminPassword string, fn func(t *testing.T, s *sqlstore.Store)) {
	each(t, Chosen(t), adminPassword, fn)
}

// PostgresOnly returns a fresh database's URL (see PostgresURL) for a
// test of an adapter package that is about PostgreSQL alone. It runs in
// the XC5_TEST_STORE=postgres pass, where a missing XC5_TEST_POSTGRES
// fails it, and is skipped in the default pass, so that CI, which makes
// both passes, runs it once.
func PostgresOnly(t testing.TB) string {
	t.Helper()
	if !OnPostgres(t) {
		t.Skip("PostgreSQL only: runs with " + EnvStore + "=postgres, CI's second pass")
	}
	u := PostgresURL(t)
	if u == "" {
		t.Fatalf("%s=postgres needs %s (a postgres:// URL)", EnvStore, EnvPostgres)
	}
	return u
}

// PostgresURL returns the URL of a fresh, migrated database of the test's
// own (a copy of the template, see pgtemplate.go), or "" when none is
// configured. Its search_path is a schema named for the test alone. The
// database is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		return ""
	}
	if _, err := url.Parse(base); err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	tp := templateFor(base)
	switch {
	case tp.err == nil:
		return tp.copyTemplate(t)
	case errors.Is(tp.err, errNoCreateDB):
		return freshSchema(t, base)
	default:
		t.Fatalf("the PostgreSQL test template: %v", tp.err)
		return ""
	}
}

// freshSchema returns the URL of a fresh schema in the base database,
// dropped when the test ends, for a role that may not create databases:
// the store migrates it when opened.
func freshSchema(t testing.TB, base string) string {
	schema := "t_" + randomID()
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
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
