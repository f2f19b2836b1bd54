package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

var csvType = map[string]string{"Content-Type": "text/csv"}

const newbieCSV = "username,extension,voicemail\nnewbie,650,newbie@acmebrick.x.co.nz\n"

// csvAs sends a CSV body with Basic credentials.
func (e *env) csvAs(user, pass, target, body string) *response {
	e.t.Helper()
	req := e.newRequest("PUT", target, body)
	req.Header.Set("Content-Type", "text/csv")
	req.SetBasicAuth(user, pass)
	return e.send(req)
}

// TestBulkPartition: a partitioned user onboards into its own company only,
// under the same rules as its PUTs (usernames in its domain, pool numbers
// within number_limit), and a refused file writes nothing.
func TestBulkPartition(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		r := e.csvAs(acmeUser, acmePass, "/api-sys/account/beta.test/bulk", "username\nnew1\n")
		r.wantError(t, http.StatusNotFound)
		e.leaks(t, r)
		r = e.csvAs(acmeUser, acmePass, "/api-sys/account/acme.test/bulk", "username,ddi\nnew1,\nx@beta.test,\nnew2,6493330001\n")
		var problems []struct{ Error string }
		if r.Status != http.StatusBadRequest || json.Unmarshal(r.Body, &problems) != nil || len(problems) != 2 ||
			!strings.HasPrefix(problems[0].Error, "line 3: username x@beta.test is outside") ||
			!strings.HasPrefix(problems[1].Error, "line 4: number_limit") {
			t.Errorf("%v\nwant 400 with the problems of lines 3 and 4", r)
		}
		e.must(http.StatusNotFound, "GET", "/api-sys/account/new1@acme.test", "")
		r = e.csvAs(acmeUser, acmePass, "/api-sys/account/acme.test/bulk", "username,extension,voicemail\nnew1,700,new1@acme.test\n")
		if r.Status != http.StatusCreated {
			t.Fatalf("%v", r)
		}
		got := r.one(t)
		if got["username"] != "new1@acme.test" || got["password"] == "" || got["extension"] != "700" {
			t.Errorf("onboarded %v", got)
		}
		e.mustAs("new1@acme.test", got["password"].(string), http.StatusForbidden, "GET", "/api-sys/account/new1@acme.test", "")
		// The routing view has the new rule: a colleague dials 700.
		if trace := e.must(http.StatusOK, "GET", "/api-sys/calltrace?from=a1@acme.test&dial=700", ""); !strings.Contains(string(trace.Body), "new1@acme.test") {
			t.Errorf("dialling 700 does not reach new1: %s", trace.Body)
		}
		rules := e.must(http.StatusOK, "GET", "/api-sys/account/acme.test/callrule", "")
		if !strings.Contains(string(rules.Body), `"prefix_raw":"700"`) {
			t.Errorf("no extension 700 in %s", rules.Body)
		}
	})
}
