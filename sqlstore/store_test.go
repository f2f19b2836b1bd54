package sqlstore_test

// Tests of what only the SQL store has: bootstrap, group commit, the
// load-test seeder, and its database files. The contract's tests are the
// suite (storetest.Run, TestConformance); these helpers serve the tests
// that stay here.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"xc5"
	"xc5/resource"
	"xc5/secret"
	"xc5/sqlstore"
	"xc5/storetest"
)

const adminPassword = "store-admin-password-9"

var (
	ctx    = context.Background()
	guidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)
)

// forEachBackend runs a test of the SQL store on SQLite and, when
// configured, on PostgreSQL.
func forEachBackend(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// open opens (or reopens) the backend's database.
func open(t *testing.T, b storetest.Backend) (*sqlstore.Store, error) { return b.Open(t), nil }

// openStore opens a bootstrapped store on a fresh database.
func openStore(t *testing.T, b storetest.Backend) (*sqlstore.Store, string) {
	t.Helper()
	dir := b.Dir
	s, err := open(t, b)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	created, err := s.Bootstrap(ctx, adminPassword)
	if err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v; want true, nil", created, err)
	}
	return s, dir
}

// TestBootstrap: the first start creates _unassigned.pool, _prompt.shared
// and admin (api_access=system, the given password); later calls, also
// after a reopen and with another password, change nothing.
func TestBootstrap(t *testing.T) { forEachBackend(t, testBootstrap) }

func testBootstrap(t *testing.T, b storetest.Backend) {
	t.Parallel()
	s, err := open(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if created, err := s.Bootstrap(ctx, adminPassword); err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v; want true, nil", created, err)
	}
	admin, err := s.Credentials(ctx, resource.AdminUsername)
	if err != nil {
		t.Fatal(err)
	}
	if !admin.Enabled || admin.Access != resource.AccessSystem || !guidRE.MatchString(admin.GUID) {
		t.Errorf("admin credentials %+v, want enabled, api_access=system, a GUID", admin)
	}
	if !secret.Verify(admin.Hash, adminPassword) || secret.Verify(admin.Hash, "other") {
		t.Errorf("admin hash does not verify the bootstrap password (only)")
	}
	for _, u := range []string{resource.SystemPool, resource.SharedPrompts} {
		rec, err := s.Get(ctx, "", resource.Account, "", u)
		if err != nil {
			t.Errorf("system account %s: %v", u, err)
			continue
		}
		c, _ := s.Credentials(ctx, u)
		if secret.Verify(c.Hash, "") || c.Access != "" {
			t.Errorf("system account %s can log in or has API access: %+v", u, c)
		}
		if rec.Parent != "" {
			t.Errorf("system account %s has parent %s", u, rec.Parent)
		}
	}
	created, err := s.Bootstrap(ctx, "another-password")
	if err != nil || created {
		t.Errorf("second Bootstrap = %v, %v; want false, nil", created, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := open(t, b)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if created, err := s2.Bootstrap(ctx, "third-password"); err != nil || created {
		t.Errorf("Bootstrap after reopen = %v, %v; want false, nil", created, err)
	}
	again, _ := s2.Credentials(ctx, resource.AdminUsername)
	if again.GUID != admin.GUID || !secret.Verify(again.Hash, adminPassword) {
		t.Errorf("restart changed admin: %+v", again)
	}
	n := 0
	s2.List(ctx, "", resource.Account, resource.Query{}, func(resource.Record) error { n++; return nil })
	if n < 3 {
		t.Errorf("%d accounts after reopen, want the 3 system accounts at least", n)
	}
}

// TestGroupCommit: many concurrent writes, some of them failing, all get
// their own answer; the failures do not undo their neighbours, and every
// acknowledged write is there after a reopen.
func TestGroupCommit(t *testing.T) { forEachBackend(t, testGroupCommit) }

func testGroupCommit(t *testing.T, b storetest.Backend) {
	t.Parallel()
	s, err := open(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	storetest.NewAccount(t, s, "gc.test", "")
	storetest.NewNumber(t, s, "gc.test", "6491260000")
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			number, parent := fmt.Sprint(6491260000+i), "gc.test" // i == 0 conflicts
			switch i % 10 {
			case 5:
				number = "6491260000" // conflicts inside the shared transaction
			case 7:
				parent = "nosuch.test" // fails inside the shared transaction
			}
			_, _, errs[i] = s.Put(ctx, "", resource.Number, parent, "", resource.Input{"number": number}, resource.Create)
		}()
	}
	close(start)
	wg.Wait()
	acked := map[string]bool{"6491260000": true}
	for i, err := range errs {
		switch {
		case i == 0:
			storetest.WantCode(t, err, xc5.ECONFLICT, "the conflicting write")
		case i%10 == 5:
			storetest.WantCode(t, err, xc5.ECONFLICT, fmt.Sprintf("write %d of a duplicate", i))
		case i%10 == 7:
			storetest.WantCode(t, err, xc5.ENOTFOUND, fmt.Sprintf("write %d to a missing account", i))
		case err != nil:
			t.Errorf("write %d: %v", i, err)
		default:
			acked[fmt.Sprint(6491260000+i)] = true
		}
	}
	s.Close()
	s, err = open(t, b)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := map[string]bool{}
	for _, num := range storetest.Numbers(storetest.List(t, s, "", resource.Number, resource.Query{Parent: "gc.test"})) {
		got[num] = true
	}
	for num := range acked {
		if !got[num] {
			t.Errorf("acknowledged number %s lost", num)
		}
	}
	if len(got) != len(acked) {
		t.Errorf("%d numbers stored, %d acknowledged", len(got), len(acked))
	}
}

// TestSeed: the load-test seeder writes companies with ten users each and
// numbers spread over them, all with the given password.
func TestSeed(t *testing.T) { forEachBackend(t, testSeed) }

func testSeed(t *testing.T, b storetest.Backend) {
	t.Parallel()
	s, _ := openStore(t, b)
	base := len(storetest.List(t, s, "", resource.Account, resource.Query{}))
	if err := s.Seed(ctx, 25, 60, "seed-pw"); err != nil {
		t.Fatal(err)
	}
	if got := len(storetest.List(t, s, "", resource.Account, resource.Query{})); got != base+25 {
		t.Errorf("%d accounts after seeding 25, want %d", got, base+25)
	}
	if got := len(storetest.List(t, s, "", resource.Child, resource.Query{Parent: "seed-1.test"})); got != 9 {
		t.Errorf("seed-1.test has %d users, want 9", got)
	}
	c, err := s.Credentials(ctx, "u3@seed-2.test")
	if err != nil || !secret.Verify(c.Hash, "seed-pw") {
		t.Errorf("seeded user credentials %+v %v", c, err)
	}
	total := 0
	for _, a := range storetest.List(t, s, "", resource.Account, resource.Query{Filter: "%seed-%"}) {
		total += len(storetest.List(t, s, "", resource.Number, resource.Query{Parent: a.GUID}))
	}
	if total != 60 {
		t.Errorf("%d seeded numbers, want 60", total)
	}
}

// TestPasswordsNotInDatabaseFiles: no password, given or generated, is
// in the SQLite database's files in clear, nor in any column of the
// accounts table. (How the hashes are made is the suite's
// PasswordsStoredHashed, on every backend.)
func TestPasswordsNotInDatabaseFiles(t *testing.T) {
	b := storetest.Backends(t)[0]
	s, dir := openStore(t, b)
	const pw = "Plaintext-Canary-7731"
	storetest.Put(t, s, "", resource.Account, "", "", resource.Input{"username": "h1.test", "password": pw}, resource.Create)
	storetest.Put(t, s, "", resource.Account, "", "", resource.Input{"username": "h2.test", "password": pw}, resource.Create)
	generated := storetest.Put(t, s, "", resource.Account, "", "", resource.Input{"username": "h3.test"}, resource.Create).Values["password"].(string)
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, secretText := range []string{pw, generated} {
			if bytes.Contains(b, []byte(secretText)) {
				t.Errorf("%s contains a password in clear", filepath.Base(f))
			}
		}
	}
	// And through SQL, in any column of the accounts table.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlstore.DBFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT * FROM accounts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if fmt.Sprint(v) == pw || fmt.Sprint(v) == generated {
				t.Errorf("column %s holds a password in clear", cols[i])
			}
		}
	}
}
