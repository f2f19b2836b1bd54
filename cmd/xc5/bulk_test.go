package main_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// runXC5 runs the binary and returns its exit code, stdout and stderr.
func runXC5(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportCSVAndImportDryRun onboards the walkthrough's users with
// xc5 import-csv (a bad file first: every problem listed, nothing
// written), logs in as one of them through xc5 serve, then exports the
// installation, spoils the dump and checks that xc5 import --dry-run
// lists every problem and writes nothing, and that the good dump's dry
// run and import work.
func TestImportCSVAndImportDryRun(t *testing.T) {
	dir, files := t.TempDir(), t.TempDir()
	const pw = "bulk-admin-pw"
	s := start(t, dir, "XC5_ADMIN_PASSWORD="+pw)
	for _, req := range [][2]string{
		{"/api-sys/account/", `{"username":"acmebrick.x.co.nz"}`},
		{"/api-sys/account/_unassigned.pool/number", `{"number":"6491231234"}`},
		{"/api-sys/account/_unassigned.pool/number", `{"number":"6499290089"}`},
	} {
		if code, body := s.do(t, "PUT", req[0], "admin", pw, req[1]); code != 201 {
			t.Fatalf("PUT %s: %d %s", req[0], code, body)
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()

	bad := writeFile(t, files, "bad.csv", "username,extension,ddi,voicemail\n"+
		"reception,600,6491231234,reception@acmebrick.x.co.nz\n"+
		"sales,600,6499290089,\n"+ // the extension twice
		"carl,601,6490000001,\n") // no such DDI
	code, stdout, stderr := runXC5(t, "import-csv", "--data", dir, "--company", "acmebrick.x.co.nz", bad)
	if code == 0 || !strings.Contains(stderr, "line 3: extension 600") || !strings.Contains(stderr, "line 4: DDI 6490000001") ||
		strings.Contains(stderr, "line 2") || !strings.Contains(stderr, "2 problem(s); nothing written") {
		t.Fatalf("bad CSV: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	good := writeFile(t, files, "users.csv", "username,extension,ddi,voicemail\n"+
		"reception,600,6491231234,reception@acmebrick.x.co.nz\n"+
		"sales,608,6499290089,\n")
	if code, stdout, stderr := runXC5(t, "import-csv", "--data", dir, "--company", "acmebrick.x.co.nz", "--dry-run", good); code != 0 ||
		!strings.Contains(stdout, "checked 2 users") {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runXC5(t, "import-csv", "--data", dir, "--company", "acmebrick.x.co.nz", good)
	if code != 0 {
		t.Fatalf("import-csv: exit %d\n%s%s", code, stdout, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][1] != "reception@acmebrick.x.co.nz" || rows[1][3] == "" {
		t.Fatalf("import-csv output: %v %q", err, stdout)
	}
	password := rows[1][3]

	s = start(t, dir, "XC5_ADMIN_PASSWORD="+pw)
	if code, body := s.do(t, "GET", "/api-sys/account/reception@acmebrick.x.co.nz/number", "admin", pw, ""); code != 200 ||
		!strings.Contains(body, "6491231234") {
		t.Errorf("reception's numbers: %d %s", code, body)
	}
	if code, body := s.do(t, "GET", "/api-sys/account/acmebrick.x.co.nz/callrule", "admin", pw, ""); code != 200 ||
		!strings.Contains(body, `"destination":":608"`) || !strings.Contains(body, `"username":"sales@acmebrick.x.co.nz"`) {
		t.Errorf("the company's callrules: %d %s", code, body)
	}
	// The generated password is the user's: give it API access and log in.
	if code, body := s.do(t, "PUT", "/api-sys/account/reception@acmebrick.x.co.nz/accountresource/api_access", "admin", pw, `{"value":"user"}`); code/100 != 2 {
		t.Fatalf("api_access: %d %s", code, body)
	}
	if code, body := s.do(t, "GET", "/api-sys/account/reception@acmebrick.x.co.nz", "reception@acmebrick.x.co.nz", password, ""); code != 200 {
		t.Errorf("login with the printed password: %d %s", code, body)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()

	dump := filepath.Join(files, "dump.json")
	if code, out, errs := runXC5(t, "export", "--data", dir, "-o", dump); code != 0 {
		t.Fatalf("export: %d %s%s", code, out, errs)
	}
	text, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	spoiled := strings.Replace(string(text), `"cfna_duration":20`, `"cfna_duration":9999`, 1)
	spoiled = strings.Replace(spoiled, `"username":"sales@acmebrick.x.co.nz"`, `"username":"reception@acmebrick.x.co.nz"`, 1)
	if spoiled == string(text) {
		t.Fatal("the dump was not spoiled")
	}
	badDump := writeFile(t, files, "bad.json", spoiled)
	fresh := t.TempDir()
	for _, args := range [][]string{{"--dry-run"}, nil} {
		code, stdout, stderr := runXC5(t, append(append([]string{"import", "--data", fresh}, args...), badDump)...)
		// Renaming sales also leaves its callrule naming an account the
		// dump no longer has: a third problem.
		if code == 0 || !strings.Contains(stderr, "3 problem(s)") || !strings.Contains(stderr, "cfna_duration") ||
			!strings.Contains(stderr, "account sales@acmebrick.x.co.nz does not exist") ||
			!strings.Contains(stderr, `username "reception@acmebrick.x.co.nz" appears twice`) || !strings.Contains(stderr, "tables.accounts[") {
			t.Errorf("import %v of a spoiled dump: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	// Nothing was written: the good dump's dry run finds an empty database.
	if code, stdout, stderr := runXC5(t, "import", "--data", fresh, "--dry-run", dump); code != 0 || !strings.Contains(stdout, "checked") {
		t.Fatalf("dry run of the good dump: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runXC5(t, "import", "--data", fresh, dump); code != 0 || !strings.Contains(stdout, "imported") {
		t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runXC5(t, "import", "--data", fresh, "--dry-run", dump); code == 0 || !strings.Contains(stderr, "needs an empty database") {
		t.Errorf("dry run into a full database: exit %d\n%s", code, stderr)
	}
}
