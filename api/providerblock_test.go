package api_test

// Rows of docs/api.md "What a partitioned user may do": a provider's
// restriction on an account (a provider-set drop: callrule) cannot be got
// round by the company below system level.

import (
	"net/http"
	"strings"
	"testing"
)

// Row: a provider-set drop: rule on an account screens its calls before
// its own rules are walked, so the company's own lower-order rule on the
// same account cannot shadow it.
func TestProviderBlockNotShadowedByOwnRule(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		const a1 = "/api-sys/account/a1@acme.test/callrule"
		e.must(http.StatusCreated, "PUT", a1, `{"order":-14,"location":"<CallRule-International>","destination":"drop:404:destination blocked"}`)
		for _, body := range []string{
			`{"order":-100,"location":"<CallRule-International>","destination":"%"}`,
			`{"order":-100,"prefix_raw":"00","destination":"00%"}`,
		} {
			own := str(t, e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", a1, body).one(t), "guid")
			r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/calltrace?from=a1@acme.test&dial=0061299998888", "")
			if b := string(r.Body); !strings.Contains(b, "destination blocked") || strings.Contains(b, `"external"`) {
				t.Errorf("a1's own rule %s shadows the provider's block: %s", body, b)
			}
			e.mustAs(acmeUser, acmePass, http.StatusOK, "DELETE", a1+"/"+own, ``)
		}
		// A company's own drop: on its account is still just one of its
		// rules: its own lower-order rule decides first.
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/callrule", `{"order":-14,"location":"<CallRule-International>","destination":"drop:404:company block"}`)
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/callrule", `{"order":-100,"location":"<CallRule-International>","destination":"%"}`)
		r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/calltrace?from=a2@acme.test&dial=0061299998888", "")
		if b := string(r.Body); strings.Contains(b, "company block") {
			t.Errorf("a2's own lower-order rule does not decide before its own block: %s", b)
		}
	})
}
