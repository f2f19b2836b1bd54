package sqlstore_test

import (
	"os"
	"sync"
	"testing"

	"xc5/sqlstore"
	"xc5/storetest"
)

// TestConformance holds the SQL store to the domain's contract with the
// one suite every store passes: on SQLite, and on PostgreSQL when
// XC5_TEST_POSTGRES is set.
func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		runConformance(t, func(t testing.TB) string { return t.TempDir() }, func(dir string) (*sqlstore.Store, error) {
			return sqlstore.Open(dir)
		})
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(storetest.EnvPostgres) == "" {
			t.Skip("set " + storetest.EnvPostgres + " to run the suite on PostgreSQL")
		}
		runConformance(t, storetest.PostgresURL, func(url string) (*sqlstore.Store, error) {
			return sqlstore.OpenPostgres(ctx, url)
		})
	})
}

// runConformance runs the suite with stores opened by openAt on the
// databases fresh makes (a directory, a schema's URL): each store the
// suite opens on a database of its own, and again on the same one.
func runConformance(t *testing.T, fresh func(t testing.TB) string, openAt func(where string) (*sqlstore.Store, error)) {
	var mu sync.Mutex
	where := map[storetest.Store]string{} // the database of each store opened
	at := func(t testing.TB, db string) *sqlstore.Store {
		s, err := openAt(db)
		if err != nil {
			t.Fatalf("open %s: %v", db, err)
		}
		mu.Lock()
		where[s] = db
		mu.Unlock()
		return s
	}
	open := func(t testing.TB) storetest.Store {
		s := at(t, fresh(t))
		if _, err := s.Bootstrap(ctx, storetest.AdminPassword); err != nil {
			s.Close()
			t.Fatalf("Bootstrap: %v", err)
		}
		return s
	}
	again := func(t testing.TB, s storetest.Store) storetest.Store {
		mu.Lock()
		db, ok := where[s]
		mu.Unlock()
		if !ok {
			t.Fatal("again: a store the suite was not given")
		}
		return at(t, db)
	}
	storetest.Run(t, open, again)
}
