package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"xc5/resource"
	"xc5/sqlite"
)

// TestEmergencyLocationMigration: an installation bootstrapped with the
// old shipped <CallRule-Emergency> (111,64111) gets 111,112 from
// migration 018; a location the provider edited keeps its value.
func TestEmergencyLocationMigration(t *testing.T) {
	for _, tt := range []struct{ stored, want string }{
		{"111,64111", "111,112"},
		{"111,105", "111,105"},
	} {
		dir := t.TempDir()
		s, err := sqlite.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
			t.Fatal(err)
		}
		s.Close()
		db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.DBFile))
		if err != nil {
			t.Fatal(err)
		}
		// The database as an older xc5 left it: before migration 018.
		if _, err := db.Exec(`UPDATE locations SET prefixes = ? WHERE name = '<CallRule-Emergency>'`, tt.stored); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 18`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s, err = sqlite.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, r := range list(t, s, "", resource.Location, resource.Query{}) {
			if r.Values["name"] == "<CallRule-Emergency>" {
				got, _ = r.Values["prefixes"].(string)
			}
		}
		s.Close()
		if got != tt.want {
			t.Errorf("stored %s: after migrating %q, want %q", tt.stored, got, tt.want)
		}
	}
}
