package sqlstore_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
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
		s, err := sqlstore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
			t.Fatal(err)
		}
		s.Close()
		db, err := sql.Open("sqlite", filepath.Join(dir, sqlstore.DBFile))
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
		s, err = sqlstore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, r := range storetest.List(t, s, "", resource.Location, resource.Query{}) {
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

// TestShortCodesLocationMigration: an installation bootstrapped before
// <CallRule-ShortCodes> existed gets the shipped one from migration 021; a
// fresh one gets it once, from the bootstrap; one the provider already
// made keeps its value.
func TestShortCodesLocationMigration(t *testing.T) {
	for _, tt := range []struct {
		name         string
		before, want string // before: "" for no location, "-" for a fresh database
	}{
		{"fresh", "-", resource.ShortCodesShipped},
		{"older installation", "", resource.ShortCodesShipped},
		{"provider's own", "105,123", "105,123"},
	} {
		dir := t.TempDir()
		s, err := sqlstore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if tt.before != "-" {
			db, err := sql.Open("sqlite", filepath.Join(dir, sqlstore.DBFile))
			if err != nil {
				t.Fatal(err)
			}
			stmt := `DELETE FROM locations WHERE name = '<CallRule-ShortCodes>'`
			if tt.before != "" {
				stmt = `UPDATE locations SET prefixes = '` + tt.before + `' WHERE name = '<CallRule-ShortCodes>'`
			}
			if _, err := db.Exec(stmt); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 21`); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
		s, err = sqlstore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range storetest.List(t, s, "", resource.Location, resource.Query{}) {
			if r.Values["name"] == resource.ShortCodesLocation {
				got = append(got, r.Values["prefixes"].(string))
				if tt.before == "" && r.Values["description"] != resource.ShortCodesDescription {
					t.Errorf("%s: description %q, want the shipped one", tt.name, r.Values["description"])
				}
			}
		}
		s.Close()
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: %s is %q, want once %q", tt.name, resource.ShortCodesLocation, got, tt.want)
		}
	}
}

// TestCallRuleProviderSetMigration: migration 029 takes existing drop:
// rules and rules naming the Emergency location as the provider's
// (provider_set), other rules as the company's.
func TestCallRuleProviderSetMigration(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	storetest.NewAccount(t, s, "co.test", "")
	want := map[string]int64{}
	for _, tt := range []struct {
		in   resource.Input
		want int64
	}{
		{resource.Input{"order": int64(-14), "location": "<CallRule-International>", "destination": "drop:404:blocked"}, 1},
		{resource.Input{"order": int64(-10), "location": "<CallRule-Emergency>", "destination": "6491110001"}, 1},
		{resource.Input{"order": int64(-2), "prefix_raw": "77", "destination": "61299998888"}, 0},
	} {
		want[storetest.Put(t, s, "", resource.CallRule, "co.test", "", tt.in, resource.Create).GUID] = tt.want
	}
	s.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlstore.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The database as an older xc5 left it: before migration 029.
	for _, q := range []string{`ALTER TABLE callrules DROP COLUMN provider_set`, `DELETE FROM schema_migrations WHERE version = 29`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if s, err = sqlstore.Open(dir); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for guid, w := range want {
		var got int64
		if err := db.QueryRow(`SELECT provider_set FROM callrules WHERE guid = ?`, guid).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("callrule %s: provider_set %d after migrating, want %d", guid, got, w)
		}
	}
}
