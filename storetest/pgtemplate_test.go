package storetest_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestPostgresURLCopies: each PostgresURL is a database of its own, copied
// from the migrated template, in a schema named for the test (its
// search_path), holding no other test's data; once its test has ended
// the database is dropped.
func TestPostgresURLCopies(t *testing.T) {
	base := storetest.RequirePostgres(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var first, second string // the two tests' databases
	t.Run("first", func(t *testing.T) {
		u := storetest.PostgresURL(t)
		first = where(t, u)
		s, err := sqlstore.OpenPostgres(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if created, err := s.Bootstrap(ctx, storetest.AdminPassword); err != nil || !created {
			t.Fatalf("bootstrap of a fresh copy: created %v, %v", created, err)
		}
		t.Run("second", func(t *testing.T) {
			u := storetest.PostgresURL(t)
			second = where(t, u)
			if second == first {
				t.Fatalf("two tests got one database and schema: %s", first)
			}
			db, err := sql.Open("pgx", u)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var migrations, accounts int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&migrations); err != nil || migrations < 20 {
				t.Fatalf("the copy holds %d migrations (%v); want the template's, all of them", migrations, err)
			}
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM accounts").Scan(&accounts); err != nil || accounts != 0 {
				t.Fatalf("the second copy holds %d accounts (%v), the first test's admin among them", accounts, err)
			}
		})
	})
	for _, dbSchema := range []string{first, second} {
		name, _, _ := strings.Cut(dbSchema, "?")
		poll.Until(t, 30*time.Second, "the ended tests' databases dropped", func() bool {
			var n int
			admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n)
			return n == 0
		})
	}
}

// where returns the database and schema a test URL reaches, as
// "database?schema", checking that the schema is its search_path.
func where(t *testing.T, u string) string {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var database, schema string
	if err := db.QueryRow("SELECT current_database(), current_schema()").Scan(&database, &schema); err != nil {
		t.Fatal(err)
	}
	parsed, _ := url.Parse(u)
	if want := parsed.Query().Get("search_path"); schema != want {
		t.Fatalf("current schema %q, want the URL's search_path %q", schema, want)
	}
	return database + "?" + schema
}
