package api_test

// Rows of docs/api.md "What a partitioned user may do" about what the
// provider sets: numbering and the provider's callrules.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Row: country_code is set by the provider (it decides what is
// international, so the provider's International block depends on it);
// and no destination may name the system's country code followed by 0
// (640…), which would leave as a National call past that block.
func TestTenantTrunkZeroDestinations(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		const a1 = "/api-sys/account/a1@acme.test"
		e.as("PATCH", a1, `{"country_code":"39"}`).wantError(t, http.StatusForbidden, "country_code")
		e.as("PUT", "/api-sys/account/", `{"username":"c@acme.test","parent":"acme.test","country_code":"39"}`).wantError(t, http.StatusForbidden, "country_code")
		e.as("PATCH", "/api-sys/account/acme.test", `{"country_code":"39"}`).wantError(t, http.StatusForbidden, "country_code")
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", a1, `{"area_code":"9"}`)
		for _, tt := range []struct{ method, target, body, field string }{
			{"PATCH", a1, `{"cfna_dest":"64061299998888"}`, "cfna_dest"},
			{"PUT", a1 + "/route", `{"order":1,"destination":"64061299998888"}`, "destination"},
			{"PUT", a1 + "/callrule", `{"order":1,"prefix_raw":"55","destination":"64061299998888"}`, "destination"},
			{"PUT", a1 + "/fork", `{"destination":"64061299998888"}`, "destination"},
			{"PATCH", a1 + "/number/" + e.g["6491110001"], `{"cfa":"64061299998888"}`, "cfa"},
		} {
			e.as(tt.method, tt.target, tt.body).wantError(t, http.StatusBadRequest, tt.field, "64061299998888")
			// The provider cannot write one either: no such number exists.
			e.do(tt.method, tt.target, tt.body).wantError(t, http.StatusBadRequest, tt.field)
		}
		// The provider may number an account +39 (where 390… is real); its
		// calls to 640… still never leave.
		e.must(http.StatusOK, "PATCH", a1, `{"country_code":"39"}`)
		for _, dial := range []string{"+64061299998888", "0064061299998888"} {
			r := e.must(http.StatusOK, "GET", "/api-sys/calltrace?from=a1@acme.test&dial="+url.QueryEscape(dial), "")
			if body := string(r.Body); !strings.Contains(body, "Invalid Number") || strings.Contains(body, `"external"`) {
				t.Errorf("a1 numbered +39 dialing %s: %s", dial, body)
			}
		}
	})
}
