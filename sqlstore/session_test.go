package sqlstore_test

import (
	"database/sql"
	"net/url"
	"testing"
	"time"
	"xc5"

	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// bootstrappedPostgres opens a bootstrapped store on a fresh PostgreSQL
// schema, closed at the end, and its URL; it skips without PostgreSQL.
func bootstrappedPostgres(t *testing.T) (*sqlstore.Store, string) {
	t.Helper()
	u := storetest.PostgresURL(t)
	if u == "" {
		t.Skip(storetest.EnvPostgres + " not set")
	}
	s, err := sqlstore.OpenPostgres(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	return s, u
}

// TestCredentialsSchemaDropped: on PostgreSQL, a store whose schema is
// gone (dropped under it) cannot say whether a password is right either.
func TestCredentialsSchemaDropped(t *testing.T) {
	s, u := bootstrappedPostgres(t)
	parsed, _ := url.Parse(u)
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP SCHEMA " + parsed.Query().Get("search_path") + " CASCADE"); err != nil {
		t.Fatal(err)
	}
	storetest.WantUnavailable(t, s)
}

// TestSessionNULOnPostgres: PostgreSQL's text refuses a NUL byte, so a
// session id with one is refused, as the client's error (EINVALID) and
// not an internal one. (The suite's BadTextLookups allows a store to
// accept it, as SQLite does.)
func TestSessionNULOnPostgres(t *testing.T) {
	s, _ := bootstrappedPostgres(t)
	admin, err := s.Credentials(ctx, resource.AdminUsername)
	if err != nil {
		t.Fatal(err)
	}
	err = s.CreateSession(ctx, "jti\x00", admin.GUID, time.Now().Add(time.Hour))
	storetest.WantCode(t, err, xc5.EINVALID, "CreateSession with a NUL on PostgreSQL")
}
