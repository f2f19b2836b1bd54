package sqlstore_test

import (
	"bytes"
	"database/sql"
	"slices"
	"testing"

	"xc5/sqlstore"
	"xc5/storetest"
)

// schemaShape lists the indexes and constraints of the schema a URL
// names, each as PostgreSQL would create it.
func schemaShape(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()
		UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
		FROM pg_constraint WHERE connamespace = current_schema()::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestImportRestoresIndexes: on PostgreSQL the import drops the foreign
// keys and secondary indexes while it loads and makes them again after;
// the schema must be the one the migrations made, after an import and
// after a refused one, and the foreign keys must hold again.
func TestImportRestoresIndexes(t *testing.T) {
	u := storetest.PostgresURL(t)
	if u == "" {
		t.Skip("PostgreSQL only; set " + storetest.EnvPostgres)
	}
	good := smallDump(t)
	bad := append([]byte{}, good...)
	bad = bytes.Replace(bad, []byte(`"number":"6497770021"`), []byte(`"number":6497770021`), 1) // refused: a number
	dst, err := sqlstore.OpenPostgres(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := schemaShape(t, db)
	if len(want) < 20 {
		t.Fatalf("only %d indexes and constraints: %v", len(want), want)
	}
	if err := dst.Import(ctx, bytes.NewReader(bad)); err == nil {
		t.Fatal("the spoiled dump was imported")
	}
	if got := schemaShape(t, db); !slices.Equal(got, want) {
		t.Fatalf("after a refused import the schema differs:\n%v\nwant\n%v", got, want)
	}
	if err := dst.Import(ctx, bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	if got := schemaShape(t, db); !slices.Equal(got, want) {
		t.Fatalf("after the import the schema differs:\n%v\nwant\n%v", got, want)
	}
	if _, err := db.Exec(`INSERT INTO numbers (guid, account, number) VALUES ('9A0F2A5C-0000-4000-8000-00000000000F', 'NO-SUCH-ACCOUNT', '6497770099')`); err == nil {
		t.Error("a number of no account was accepted: the foreign key is gone")
	}
}
