package sqlstore_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"xc5"
	"xc5/sqlstore"
	"xc5/storetest"
)

// scanDoc is a dump whose accounts table holds rows (JSON text).
func scanDoc(rows string) []byte {
	return []byte(`{"format":"` + sqlstore.ExportFormat + `","version":` + strconv.Itoa(sqlstore.ExportVersion) +
		`,"tables":{"settings":[],"accounts":[` + rows + `]}}`)
}

const scanGUID = "9A0F2A5C-0000-4000-8000-0000000000A1"

// scanAccount is a good account row with extra members (JSON text,
// starting with a comma) after its own.
func scanAccount(extra string) string {
	return `{"guid":"` + scanGUID + `","username":"scan.test","path":"/` + scanGUID + `/"` + extra + `}`
}

// checkScanErr: a dump the import cannot take must fail as EINVALID,
// each problem with its place in the file (a byte offset).
func checkScanErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want an error naming %q", want)
	}
	if xc5.ErrorCode(err) != xc5.EINVALID {
		t.Errorf("code %q, want EINVALID: %v", xc5.ErrorCode(err), err)
	}
	if p, ok := err.(sqlstore.ImportProblems); ok {
		for _, line := range p {
			if !strings.Contains(line, "(byte ") && !strings.HasPrefix(line, "…") {
				t.Errorf("problem without its place: %s", line)
			}
		}
	} else if !strings.Contains(err.Error(), "(byte ") {
		t.Errorf("error without its place: %v", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error lacks %q: %v", want, err)
	}
}

// TestImportScanner feeds the row scanner what a spoiled or hostile dump
// may hold: each must be refused with a clear message and its place,
// never a panic, on a dry run (the same reading as the import's).
func TestImportScanner(t *testing.T) {
	dst := storetest.Backends(t)[0].Open(t)
	defer dst.Close()
	cases := []struct{ name, rows, want string }{
		{"malformed: a row cut short", `{"guid":"` + scanGUID, "ends early"},
		{"malformed: a missing colon", `{"guid" "x"}`, "tables.accounts[0]"},
		{"malformed: a bare word", `{"guid":nope}`, "tables.accounts[0]"},
		{"malformed: a trailing comma", scanAccount(`,`), "tables.accounts[0]"},
		{"malformed: invalid UTF-8", scanAccount(`,"timezone":"` + "\xff" + `"`), "UTF-8"},
		{"unknown column", scanAccount(`,"colour":"red"`), `unknown column "colour"`},
		{"unknown column, escaped", scanAccount(`,"c\u006flour":"red"`), `unknown column "colour"`},
		{"a column twice", scanAccount(`,"username":"other.test"`), "column username appears twice"},
		{"a column twice, once escaped", scanAccount(`,"user\u006eame":"other.test"`), "column username appears twice"},
		{"a string for an integer", scanAccount(`,"cfna_duration":"20"`), "cfna_duration must be an integer"},
		{"a float", scanAccount(`,"cfna_duration":2.5`), "not an integer: 2.5"},
		{"an integer too large", scanAccount(`,"cfna_duration":99999999999999999999`), "not an integer"},
		{"an array value", scanAccount(`,"timezone":["x"]`), "timezone: not a column value"},
		{"an object that is not base64", scanAccount(`,"timezone":{"x":1}`), "timezone: unexpected object"},
		{"bad base64", scanAccount(`,"timezone":{"base64":"!!"}`), "timezone: illegal base64"},
		{"base64 for a string field", scanAccount(`,"timezone":{"base64":"eA=="}`), `"timezone" must be a string, not base64 data`},
		{"a boolean for a string", scanAccount(`,"timezone":true`), "timezone must not be a boolean"},
		{"a number for a string", scanAccount(`,"timezone":5`), "timezone must not be a number"},
		{"null for a required column", `{"guid":"` + scanGUID + `","username":null,"path":"/x/"}`, "column username must not be null"},
		{"a row that is an array", `[1,2]`, "a row must be an object, not an array"},
		{"a row that is a string", `"row"`, "a row must be an object, not a string"},
		{"an empty row", `{}`, "a row with no columns"},
		{"a string over the row bound", scanAccount(`,"timezone":"` + strings.Repeat("a", 2<<20) + `"`), "larger than a dump's row can be"},
		{"a deep value", scanAccount(`,"timezone":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000)), "tables.accounts[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := dst.ImportDump(ctx, bytes.NewReader(scanDoc(c.rows)), sqlstore.ImportOptions{DryRun: true})
			checkScanErr(t, err, c.want)
			if testing.Verbose() {
				t.Logf("%.300s", err)
			}
		})
	}
	// The good row alone passes, escapes and whitespace included.
	good := " {\n\"guid\" : \"" + scanGUID + "\", \"user\\u006eame\":\"scan.test\",\"path\":\"\\/" + scanGUID + "/\", \"cfna_duration\": 30 } "
	if rep, err := dst.ImportDump(ctx, bytes.NewReader(scanDoc(good)), sqlstore.ImportOptions{DryRun: true}); err != nil || rep.Rows["accounts"] != 1 {
		t.Fatalf("a good row: %+v, %v", rep.Rows, err)
	}
}

// FuzzImportScanner: whatever the rows of a dump hold, the import's
// dry run returns nil or an EINVALID error, and never panics.
//
//	go test -run '^$' -fuzz FuzzImportScanner -fuzztime 60s ./sqlstore/
func FuzzImportScanner(f *testing.F) {
	for _, seed := range []string{scanAccount(""), scanAccount(`,"colour":1`), scanAccount(`,"timezone":{"base64":"eA=="}`),
		`{"guid":"x"`, `[]`, `{}`, `{"a":[{"b":null}]}`, scanAccount(`,"cfna_duration":-1e3`)} {
		f.Add(seed)
	}
	dst := storetest.Backends(f)[0].Open(f)
	defer dst.Close()
	f.Fuzz(func(t *testing.T, rows string) {
		_, err := dst.ImportDump(ctx, bytes.NewReader(scanDoc(rows)), sqlstore.ImportOptions{DryRun: true})
		if err != nil && xc5.ErrorCode(err) != xc5.EINVALID {
			t.Fatalf("%q: %v (code %q), want EINVALID", rows, err, xc5.ErrorCode(err))
		}
	})
}
