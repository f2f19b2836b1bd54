package sqlstore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"xc5"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// countAccounts counts every account of a store, system ones included.
func countAccounts(t *testing.T, s *sqlstore.Store) int {
	t.Helper()
	n := 0
	if err := s.ListAll(ctx, resource.Account, func(resource.Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImportProblems spoils a dump in several places and checks that the
// dry run and the import both report every problem with its place, and
// write nothing; then that the dry run of the good dump passes without
// writing, and its import works.
func TestImportProblems(t *testing.T) {
	src, _ := openStore(t, storetest.Backends(t)[0])
	company := storetest.NewAccount(t, src, "imp.test", "")
	user := storetest.NewAccount(t, src, "u@imp.test", company.GUID)
	storetest.NewAccount(t, src, "v@imp.test", company.GUID)
	storetest.NewNumber(t, src, user.GUID, "6497770011")
	storetest.NewNumber(t, src, user.GUID, "6497770012")
	storetest.Put(t, src, "", resource.Route, user.GUID, "", resource.Input{"order": int64(200), "destination": "email:u@imp.test"}, resource.Create)
	var good bytes.Buffer
	if err := src.Export(ctx, &good); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Format  string                      `json:"format"`
		Version int                         `json:"version"`
		Tables  map[string][]map[string]any `json:"tables"`
	}
	if err := json.Unmarshal(good.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	accounts := doc.Tables["accounts"]
	last := len(accounts) - 1
	accounts[last]["username"] = accounts[last-1]["username"]                   // a duplicate username
	accounts[1]["cfna_duration"] = 9999                                         // out of the API's range
	doc.Tables["numbers"][1]["number"] = doc.Tables["numbers"][0]["number"]     // a number twice
	doc.Tables["routes"][0]["account"] = "9A0F2A5C-0000-4000-8000-000000000000" // no such account
	// encoding/json writes the tables in key order; the import takes
	// them in the order of the foreign keys, so write them so by hand.
	bad := reorder(t, doc.Format, doc.Version, doc.Tables)

	want := []string{
		"tables.accounts[1]", "cfna_duration",
		fmt.Sprintf("tables.accounts[%d]", last), "username",
		"tables.numbers[1]", "appears twice",
		"tables.routes[0]", "not an account",
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dst := b.Open(t)
			defer dst.Close()
			for _, dry := range []bool{true, false} {
				_, err := dst.ImportDump(ctx, bytes.NewReader(bad), sqlstore.ImportOptions{DryRun: dry})
				var p sqlstore.ImportProblems
				if !errors.As(err, &p) || len(p) != 4 {
					t.Fatalf("dry run %v: %v; want 4 problems", dry, err)
				}
				if xc5.ErrorCode(err) != xc5.EINVALID {
					t.Errorf("code %q, want EINVALID", xc5.ErrorCode(err))
				}
				text := err.Error()
				for _, w := range want {
					if !strings.Contains(text, w) {
						t.Errorf("dry run %v: problems lack %q:\n%s", dry, w, text)
					}
				}
				if n := countAccounts(t, dst); n != 0 {
					t.Fatalf("dry run %v wrote %d accounts", dry, n)
				}
			}
			rep, err := dst.ImportDump(ctx, bytes.NewReader(good.Bytes()), sqlstore.ImportOptions{DryRun: true})
			if err != nil || rep.Rows["accounts"] != len(accounts) || rep.Rows["numbers"] != 2 {
				t.Fatalf("dry run of the good dump: %+v, %v", rep, err)
			}
			if n := countAccounts(t, dst); n != 0 {
				t.Fatalf("dry run of the good dump wrote %d accounts", n)
			}
			if err := dst.Import(ctx, bytes.NewReader(good.Bytes())); err != nil {
				t.Fatal(err)
			}
			if n := countAccounts(t, dst); n != len(accounts) {
				t.Fatalf("%d accounts after import, want %d", n, len(accounts))
			}
		})
	}
	for _, broken := range []string{"", "{", `{"format":"xc5-export","version":1,"tables":{"accounts":[{"guid":`, `{"format":"xc5-export","version":1,"tables":{"nosuch":[]}}`, `[]`} {
		if err := src.Import(ctx, strings.NewReader(broken)); xc5.ErrorCode(err) != xc5.EINVALID {
			t.Errorf("import of %q: %v, want EINVALID", broken, err)
		}
	}
}

// reorder writes a dump with its tables in the store's order.
func reorder(t *testing.T, format string, version int, tables map[string][]map[string]any) []byte {
	t.Helper()
	var b bytes.Buffer
	head, _ := json.Marshal(map[string]any{"format": format, "version": version})
	b.Write(head[:len(head)-1])
	b.WriteString(`,"tables":{`)
	for i, name := range []string{"settings", "accounts", "account_resources", "numbers", "routes", "callrules", "forks",
		"prompts", "locations", "timedefinitions", "trunks", "registrations", "cdrs", "voicemails", "mailbox_greetings", "mail_outbox"} {
		if i > 0 {
			b.WriteByte(',')
		}
		rows, _ := json.Marshal(tables[name])
		if tables[name] == nil {
			rows = []byte("[]")
		}
		b.WriteString(`"` + name + `":`)
		b.Write(rows)
	}
	b.WriteString("}}")
	return b.Bytes()
}

// TestImportBatches moves an installation of several batches' worth of
// rows (COPY batches on PostgreSQL, chunked INSERTs on SQLite) and checks
// that the export after the import is the export before it.
func TestImportBatches(t *testing.T) {
	src, _ := openStore(t, storetest.Backends(t)[0])
	if err := src.Seed(ctx, 3000, 7000, "seed-pw"); err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	if err := src.Export(ctx, &first); err != nil {
		t.Fatal(err)
	}
	// The progress callback sees the bytes read grow, on a dry run too.
	var seen []int64
	if _, err := src.ImportDump(ctx, bytes.NewReader(first.Bytes()), sqlstore.ImportOptions{DryRun: true,
		Progress: func(n int64) { seen = append(seen, n) }}); err == nil || !strings.Contains(err.Error(), "needs an empty database") {
		t.Fatalf("dry run into the source: %v", err)
	}
	if len(seen) < 2 || seen[len(seen)-1] > int64(first.Len()) || !slices.IsSorted(seen) {
		t.Errorf("progress %v for %d bytes", seen, first.Len())
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dst := b.Open(t)
			defer dst.Close()
			rep, err := dst.ImportDump(ctx, bytes.NewReader(first.Bytes()), sqlstore.ImportOptions{})
			if err != nil || rep.Rows["numbers"] != 7000 {
				t.Fatalf("import: %+v, %v", rep.Rows, err)
			}
			var again bytes.Buffer
			if err := dst.Export(ctx, &again); err != nil {
				t.Fatal(err)
			}
			if a, b := stripTime(first.String()), stripTime(again.String()); a != b {
				t.Fatalf("export after import differs (%d and %d bytes)", len(a), len(b))
			}
		})
	}
}
