package sqlstore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

type spoilableDump struct {
	Format  string                      `json:"format"`
	Version int                         `json:"version"`
	Tables  map[string][]map[string]any `json:"tables"`
}

// smallDump exports a small installation: a company, two users, a
// number, a route, a callrule and an accountresource.
func smallDump(t *testing.T) []byte {
	t.Helper()
	src, _ := openStore(t, storetest.Backends(t)[0])
	company := storetest.NewAccount(t, src, "rv.test", "")
	user := storetest.NewAccount(t, src, "u@rv.test", company.GUID)
	storetest.NewAccount(t, src, "v@rv.test", company.GUID)
	storetest.NewNumber(t, src, user.GUID, "6497770021")
	storetest.Put(t, src, "", resource.Route, user.GUID, "", resource.Input{"order": int64(200), "destination": "email:u@rv.test"}, resource.Create)
	storetest.Put(t, src, "", resource.CallRule, company.GUID, "", resource.Input{"order": int64(-2), "prefix_raw": "600", "username": "u@rv.test", "destination": ":600"}, resource.Create)
	storetest.Put(t, src, "", resource.AccountResource, company.GUID, "", resource.Input{"name": "api_access", "value": "user"}, resource.Create)
	var good bytes.Buffer
	if err := src.Export(ctx, &good); err != nil {
		t.Fatal(err)
	}
	return good.Bytes()
}

func decodeDump(t *testing.T, b []byte) spoilableDump {
	t.Helper()
	var d spoilableDump
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestImportRefusesWhatTheAPIRefuses: every spoiled dump below is a
// dump the API could never have written; the dry run and the import must
// each report the problem with its place (ImportProblems), write nothing,
// and never panic.
func TestImportRefusesWhatTheAPIRefuses(t *testing.T) {
	good := smallDump(t)
	rowOf := func(d spoilableDump, table, key, val string) map[string]any {
		for _, r := range d.Tables[table] {
			if r[key] == val {
				return r
			}
		}
		t.Fatalf("no %s with %s=%s in the dump", table, key, val)
		return nil
	}
	cases := []struct {
		name  string
		spoil func(d spoilableDump) []byte
		place string
	}{
		{"api_access value the API refuses (CheckAccountResource)", func(d spoilableDump) []byte {
			rowOf(d, "account_resources", "name", "api_access")["value"] = "root"
			return reorder(t, d.Format, d.Version, d.Tables)
		}, "tables.account_resources[0]"},
		{"callrule with no destination, username or record_email (CheckRecord)", func(d spoilableDump) []byte {
			r := rowOf(d, "callrules", "prefix_raw", "600")
			r["destination"], r["username"] = "", ""
			return reorder(t, d.Format, d.Version, d.Tables)
		}, "tables.callrules"},
		{"callrule username naming no account (checkRefs)", func(d spoilableDump) []byte {
			rowOf(d, "callrules", "prefix_raw", "600")["username"] = "ghost@nowhere.test"
			return reorder(t, d.Format, d.Version, d.Tables)
		}, "tables.callrules"},
		{"boolean column given a string", func(d spoilableDump) []byte {
			rowOf(d, "accounts", "username", "v@rv.test")["enabled"] = "yes"
			return reorder(t, d.Format, d.Version, d.Tables)
		}, "tables.accounts["},
		{"unknown column", func(d spoilableDump) []byte {
			rowOf(d, "accounts", "username", "v@rv.test")["colour"] = "red"
			return reorder(t, d.Format, d.Version, d.Tables)
		}, "tables.accounts["},
		{"account without a guid", func(d spoilableDump) []byte {
			delete(rowOf(d, "accounts", "username", "v@rv.test"), "guid")
			return reorder(t, d.Format, d.Version, d.Tables)
		}, "tables.accounts["},
		{"guid that is not a GUID", func(d spoilableDump) []byte {
			rowOf(d, "accounts", "username", "v@rv.test")["guid"] = "not a guid"
			return reorder(t, d.Format, d.Version, d.Tables)
		}, "tables.accounts["},
		{"the same GUID twice, in another case", func(d spoilableDump) []byte {
			v := rowOf(d, "accounts", "username", "v@rv.test")
			v["guid"] = strings.ToLower(rowOf(d, "accounts", "username", "u@rv.test")["guid"].(string))
			return reorder(t, d.Format, d.Version, d.Tables)
		}, "tables.accounts["},
		{"the same username twice, once JSON-escaped", func(d spoilableDump) []byte {
			rowOf(d, "accounts", "username", "v@rv.test")["username"] = "u@rv.test"
			b := reorder(t, d.Format, d.Version, d.Tables)
			// The second u@rv.test spelled \u0075@rv.test: the same string.
			i := bytes.LastIndex(b, []byte(`"username":"u@rv.test"`))
			return append(append(append([]byte{}, b[:i]...), []byte(`"username":"\u0075@rv.test"`)...), b[i+len(`"username":"u@rv.test"`):]...)
		}, "tables.accounts["},
		{"a row with no columns", func(d spoilableDump) []byte {
			d.Tables["locations"] = append(d.Tables["locations"], map[string]any{})
			return reorder(t, d.Format, d.Version, d.Tables)
		}, "tables.locations["},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := c.spoil(decodeDump(t, good))
			for _, dry := range []bool{true, false} {
				for _, b := range storetest.Backends(t) { // a fresh database each
					func() {
						dst := b.Open(t)
						defer dst.Close()
						defer func() {
							if p := recover(); p != nil {
								t.Errorf("%s (dry run %v): panic %v", b.Name, dry, p)
							}
						}()
						_, err := dst.ImportDump(ctx, bytes.NewReader(bad), sqlstore.ImportOptions{DryRun: dry})
						var p sqlstore.ImportProblems
						if !errors.As(err, &p) || !strings.Contains(err.Error(), c.place) {
							t.Errorf("%s (dry run %v): %v; want ImportProblems naming %s", b.Name, dry, err, c.place)
						}
						if n := countAccounts(t, dst); n != 0 {
							t.Errorf("%s (dry run %v): wrote %d accounts", b.Name, dry, n)
						}
					}()
				}
			}
		})
	}
}

// TestImportThenWrite: after an import (COPY on PostgreSQL), the
// next API writes of every imported table must not collide on id.
func TestImportThenWrite(t *testing.T) {
	good := smallDump(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dst := b.Open(t)
			defer dst.Close()
			if err := dst.Import(ctx, bytes.NewReader(good)); err != nil {
				t.Fatal(err)
			}
			company := storetest.NewAccount(t, dst, "rv2.test", "")
			user := storetest.NewAccount(t, dst, "w@rv2.test", company.GUID)
			storetest.NewNumber(t, dst, user.GUID, "6497770031")
			storetest.Put(t, dst, "", resource.Route, user.GUID, "", resource.Input{"order": int64(200), "destination": "email:w@rv2.test"}, resource.Create)
			storetest.Put(t, dst, "", resource.CallRule, company.GUID, "", resource.Input{"order": int64(-2), "prefix_raw": "601", "username": "w@rv2.test", "destination": ":601"}, resource.Create)
			storetest.Put(t, dst, "", resource.AccountResource, company.GUID, "", resource.Input{"name": "api_access", "value": "user"}, resource.Create)
			// A second import into the now non-empty database is refused.
			if err := dst.Import(ctx, bytes.NewReader(good)); err == nil || !strings.Contains(err.Error(), "empty database") {
				t.Errorf("import into a non-empty database: %v", err)
			}
		})
	}
}

// repeatReader yields head, then n bytes of 'a', then tail, without
// holding them.
type repeatReader struct {
	head, tail []byte
	n          int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	switch {
	case len(r.head) > 0:
		c := copy(p, r.head)
		r.head = r.head[c:]
		return c, nil
	case r.n > 0:
		c := int(min(int64(len(p)), r.n))
		for i := range c {
			p[i] = 'a'
		}
		r.n -= int64(c)
		return c, nil
	case len(r.tail) > 0:
		c := copy(p, r.tail)
		r.tail = r.tail[c:]
		return c, nil
	}
	return 0, io.EOF
}

// TestImportHugeString: one 96 MB string value in a row (a spoiled
// or hostile dump) must be reported as a problem without the import
// holding it: the import's memory is documented as bounded by a batch.
func TestImportHugeString(t *testing.T) {
	const size = 96 << 20
	b := storetest.Backends(t)[0]
	dst := b.Open(t)
	defer dst.Close()
	head := `{"format":"` + sqlstore.ExportFormat + `","version":` + strconv.Itoa(sqlstore.ExportVersion) +
		`,"tables":{"accounts":[{"guid":"9A0F2A5C-0000-4000-8000-000000000001","username":"big.test","pickup_group":"`
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := dst.ImportDump(ctx, &repeatReader{head: []byte(head), tail: []byte(`"}]}}`), n: size}, sqlstore.ImportOptions{DryRun: true})
	runtime.ReadMemStats(&after)
	var p sqlstore.ImportProblems
	if !errors.As(err, &p) {
		t.Errorf("a 96 MB string: %v, want ImportProblems", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > size/2 {
		t.Errorf("the import allocated %d MB for one 96 MB value: memory is not bounded by a batch", grew>>20)
	}
}
