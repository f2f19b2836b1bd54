package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"xc5/api"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestBulkDDIOfAnotherCompanyIsUnknown: a partitioned user asking its CSV
// for another company's DDI must get the answer of a number that does not
// exist (the ordinary PUT …/number/{guid} is 404 for it), never the name
// of the account holding it.
func TestBulkDDIOfAnotherCompanyIsUnknown(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.must(http.StatusCreated, "PUT", "/api-sys/account/acme.test/accountresource", `{"name":"number_limit","value":"5"}`)
		other := e.csvAs(acmeUser, acmePass, "/api-sys/account/acme.test/bulk?dry_run=true", "username,ddi\nnew1,6492220001\n")
		e.leaks(t, other)
		unknown := e.csvAs(acmeUser, acmePass, "/api-sys/account/acme.test/bulk?dry_run=true", "username,ddi\nnew1,6497770001\n")
		if other.Status != unknown.Status || strings.ReplaceAll(string(other.Body), "6492220001", "N") != strings.ReplaceAll(string(unknown.Body), "6497770001", "N") {
			t.Errorf("another company's DDI answers differently from a number that does not exist (an existence oracle):\n%s\nvs\n%s", other.Body, unknown.Body)
		}
	})
}

// TestBulkEmergencyExtension: an extension 111 or 112 must not
// capture a colleague's emergency call.
func TestBulkEmergencyExtension(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		for i, ext := range []string{"111", "112"} {
			user := fmt.Sprintf("em%d", i)
			r := e.csvAs(acmeUser, acmePass, "/api-sys/account/acme.test/bulk", "username,extension\n"+user+","+ext+"\n")
			if r.Status >= 500 {
				t.Fatalf("%v", r)
			}
			trace := e.must(http.StatusOK, "GET", "/api-sys/calltrace?from=a1@acme.test&dial="+ext, "")
			if strings.Contains(string(trace.Body), user+"@acme.test") {
				t.Errorf("dialling %s reaches %s@acme.test (bulk status %d): %s", ext, user, r.Status, trace.Body)
			}
		}
	})
}

// TestBulkContentType: anything but text/csv is 415.
func TestBulkContentType(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	storetest.EachChosen(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		e := envOn(t, s, api.Options{})
		e.createAccount("acme.test", "")
		for _, ct := range []string{"", "application/json", "text/plain", "text/csvx", "multipart/form-data; boundary=x"} {
			req := e.newRequest("PUT", "/api-sys/account/acme.test/bulk", "username\nx\n")
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			req.SetBasicAuth(adminUser, adminPassword)
			if r := e.send(req); r.Status != http.StatusUnsupportedMediaType {
				t.Errorf("Content-Type %q: %v, want 415", ct, r)
			}
		}
	})
}

// TestBulkCSVShapes: malformed and unusual files are 4xx with every
// problem's line, and a spreadsheet's file (BOM, quoted header, CRLF) is read.
func TestBulkCSVShapes(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	storetest.EachChosen(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		e := envOn(t, s, api.Options{})
		e.createAccount("acme.test", "")
		var many strings.Builder
		many.WriteString("username\n")
		for i := range resource.MaxBulkUsers + 1 {
			fmt.Fprintf(&many, "u%d\n", i)
		}
		for _, c := range []struct {
			name, body string
			status     int
			mentions   []string
		}{
			{"BOM and quoted header (Excel's CSV UTF-8)", "\ufeff\"username\",\"extension\"\r\n\"bom1\",\"701\"\r\n", http.StatusOK, []string{"bom1@acme.test"}},
			{"CRLF", "username,extension\r\ncr1,702\r\ncr2,703\r\n", http.StatusOK, []string{"cr1@acme.test", "cr2@acme.test"}},
			{"empty", "", http.StatusBadRequest, []string{"empty"}},
			{"header only", "username,extension\n", http.StatusBadRequest, []string{"no users"}},
			{"unknown column", "username,phone\nx,1\n", http.StatusBadRequest, []string{"phone"}},
			{"ragged", "username,extension\nr1,704\nr2\nr3,705,extra\n", http.StatusBadRequest, []string{"line 3", "line 4"}},
			{"bad quote", "username,extension\n\"q1,706\nq2,707\n", http.StatusBadRequest, []string{"line 2"}},
			{"two problems on different lines", "username,extension\n,708\nok1,709\n,710\n", http.StatusBadRequest, []string{"line 2", "line 4"}},
			{"5,001 users", many.String(), http.StatusBadRequest, []string{"5000"}},
		} {
			r := e.csvAs(adminUser, adminPassword, "/api-sys/account/acme.test/bulk?dry_run=true", c.body)
			if r.Status != c.status {
				t.Errorf("%s: %v, want %d", c.name, r, c.status)
				continue
			}
			for _, m := range c.mentions {
				if !strings.Contains(string(r.Body), m) {
					t.Errorf("%s: %s does not mention %q", c.name, r.Body, m)
				}
			}
		}
	})
}

// TestBulkPartitionLimits: a file cannot take more pool numbers than
// number_limit leaves, whatever its lines; odd values are 4xx, never 5xx,
// and a refused file writes nothing.
func TestBulkPartitionLimits(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.must(http.StatusCreated, "PUT", "/api-sys/account/acme.test/accountresource", `{"name":"number_limit","value":"2"}`)
		// a1 holds one number: one more fits, not two.
		r := e.csvAs(acmeUser, acmePass, "/api-sys/account/acme.test/bulk", "username,ddi\nl1,6493330001\nl2,6493330002\n")
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "line 3") || !strings.Contains(string(r.Body), "number_limit") {
			t.Errorf("%v\nwant 400 naming line 3 and number_limit", r)
		}
		e.must(http.StatusNotFound, "GET", "/api-sys/account/l1@acme.test", "")
		long := strings.Repeat("x", 70000)
		for _, body := range []string{
			"username,voicemail\nv1,\"a@acme.test\r\nBcc: x@beta.test\"\n",
			"username,voicemail\nv1,\"a@acme.test\nx@evil.test\"\n",
			"username,extension\n" + long + ",1\n",
			"username,extension\nv1," + long + "\n",
			"username,ddi\nv1,abc\n",
			"username,extension\nv1,%\n",
			"username,extension\nv1,:\n",
			"username\n\"v1\x00\"\n",
			"username\n_system\n",
			"username\nv1@acme.test@beta.test\n",
		} {
			r := e.csvAs(acmeUser, acmePass, "/api-sys/account/acme.test/bulk", body)
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("%q: %v, want 4xx", body[:min(len(body), 80)], r)
			}
			e.leaks(t, r, body)
		}
		e.must(http.StatusNotFound, "GET", "/api-sys/account/v1@acme.test", "")
	})
}
