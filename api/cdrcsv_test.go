package api_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"xc5/api"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestCDRAsCSV lists call records with Accept: text/csv on every backend:
// a header of the field names, one properly quoted row a record, the
// JSON listing's filters and paging, and the partition's 404.
func TestCDRAsCSV(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	storetest.EachChosen(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		e := envOn(t, s, api.Options{})
		acct := str(t, e.createAccount("cdr.test", ""), "guid")
		e.createAccountWithPassword("other.test", "", "Other-pass-123")
		e.grant("other.test", resource.AccessUser)
		for i, c := range []struct{ from, to, started string }{
			{`Smith, "J" <6491110001>`, "600", "2026-11-01T10:00:00Z"},
			{"cdr.test", "601", "2026-11-15T10:00:00Z"},
			{"cdr.test", "6021\nx", "2026-12-01T10:00:00Z"},
		} {
			if err := s.AddCDR(context.Background(), acct, map[string]any{"direction": "in", "from": c.from, "to": c.to, "started": c.started,
				"ended": c.started, "outcome": "answered", "duration": int64(40 + i)}); err != nil {
				t.Fatal(err)
			}
		}
		get := func(target string) (*response, [][]string) {
			t.Helper()
			req := e.newRequest("GET", target, "")
			req.Header.Set("Accept", "text/csv")
			req.SetBasicAuth(adminUser, adminPassword)
			r := e.send(req)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("%v", r)
			}
			rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
			if err != nil || len(rows) == 0 || strings.Join(rows[0], ",") != "guid,direction,from,to,started,answered,ended,duration,outcome,answered_by,code,call_id,withheld,recorded,transfers" {
				t.Fatalf("CSV %q: %v", r.Body, err)
			}
			return r, rows[1:]
		}
		_, rows := get("/api-sys/account/cdr.test/cdr")
		if len(rows) != 3 || rows[0][2] != `Smith, "J" <6491110001>` || rows[2][3] != "6021\nx" || rows[1][7] != "41" || rows[0][12] != "false" {
			t.Errorf("rows: %q", rows)
		}
		if _, rows := get("/api-sys/account/cdr.test/cdr?since=2026-11-10T00:00:00Z&until=2026-12-01T00:00:00Z"); len(rows) != 1 || rows[0][3] != "601" {
			t.Errorf("time range: %q", rows)
		}
		if _, rows := get("/api-sys/account/cdr.test/cdr?filter=60_"); len(rows) != 2 {
			t.Errorf("filter: %q", rows)
		}
		r, rows := get("/api-sys/account/cdr.test/cdr?limit=2")
		if len(rows) != 2 || !strings.Contains(r.Header.Get("Link"), `rel="next"`) {
			t.Errorf("limit=2: %q, Link %q", rows, r.Header.Get("Link"))
		}
		req := e.newRequest("GET", "/api-sys/account/cdr.test/cdr", "")
		req.Header.Set("Accept", "text/csv")
		req.SetBasicAuth("other.test", "Other-pass-123")
		if r := e.send(req); r.Status != http.StatusNotFound || strings.Contains(string(r.Body), "6491110001") {
			t.Errorf("another company: %v", r)
		}
	})
}
