package storetest

import (
	"context"
	"database/sql"
	"testing"
)

// TestDropOldTemplates: a new template drops the templates of other
// migrations, and leaves its own and one still being built.
func TestDropOldTemplates(t *testing.T) {
	base := RequirePostgres(t)
	ctx := context.Background()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // after the drops below
	names := []string{"xc5tmpl_droptestold", "xc5tmpl_droptestkeep", "xc5tmpl_droptestkeep_new"}
	for _, n := range names {
		db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n)
		if _, err := db.ExecContext(ctx, "CREATE DATABASE "+n); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+n) })
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Only this test's names: the real templates are other test processes'.
	dropOldTemplates(ctx, conn, "xc5tmpl_droptest", "xc5tmpl_droptestkeep")
	for _, n := range names {
		var exists bool
		if err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", n).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if want := n != "xc5tmpl_droptestold"; exists != want {
			t.Errorf("%s exists: %v, want %v", n, exists, want)
		}
	}
}
