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

// Row: below system level an account holding the provider's restrictions
// (provider-set callrules, a concurrent_limit) cannot be deleted (and
// created again without them), and no account can be moved out from under
// one holding a drop: rule or a concurrent_limit: the restrictions on an
// account's ancestry never shrink. System level does both.
func TestTenantKeepsProviderRestrictions(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		const trace = "/api-sys/calltrace?from=%s&dial=0061299998888"
		blocked := func(from string) bool {
			r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", strings.Replace(trace, "%s", from, 1), "")
			return strings.Contains(string(r.Body), "destination blocked")
		}
		e.must(http.StatusCreated, "PUT", "/api-sys/account/a1@acme.test/callrule", `{"order":-14,"location":"<CallRule-International>","destination":"drop:404:destination blocked"}`)
		e.must(http.StatusOK, "PATCH", "/api-sys/account/a1@acme.test", `{"concurrent_limit":0}`) // only the callrule holds a1
		e.must(http.StatusOK, "PATCH", "/api-sys/account/a2@acme.test", `{"concurrent_limit":2}`)
		e.as("DELETE", "/api-sys/account/a1@acme.test", ``).wantError(t, http.StatusForbidden, "callrule(s) set by the provider")
		e.as("DELETE", "/api-sys/account/a2@acme.test", ``).wantError(t, http.StatusForbidden, "concurrent_limit set by the provider")
		for _, acct := range []string{"kid@acme.test", "kid2@acme.test"} {
			e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"`+acct+`","parent":"a1@acme.test","password":"Xyzzy-12345-abc"}`)
		}
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"kid3@acme.test","parent":"a2@acme.test","password":"Xyzzy-12345-abc"}`)
		if !blocked("kid@acme.test") {
			t.Fatal("kid under a1 is not blocked to begin with")
		}
		// The company deletes and moves its accounts that shed nothing.
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", "/api-sys/account/kid2@acme.test", `{"parent":"kid@acme.test"}`)
		e.mustAs(acmeUser, acmePass, http.StatusOK, "DELETE", "/api-sys/account/kid2@acme.test", ``)
		for _, tt := range []struct{ method, target, body, want string }{
			{"PATCH", "/api-sys/account/kid@acme.test", `{"parent":"acme.test"}`, "a1@acme.test"},
			{"PATCH", "/api-sys/account/kid3@acme.test", `{"parent":"a1@acme.test"}`, "a2@acme.test"},
		} {
			e.as(tt.method, tt.target, tt.body).wantError(t, http.StatusForbidden, tt.want)
		}
		if !blocked("kid@acme.test") || !blocked("a1@acme.test") {
			t.Error("the provider's block on a1 was lost")
		}
		// System level deletes and moves as before.
		e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@acme.test", `{"parent":"acme.test"}`)
		if blocked("kid@acme.test") {
			t.Error("kid is still blocked after the provider moved it out")
		}
		e.must(http.StatusOK, "DELETE", "/api-sys/account/kid3@acme.test", ``)
		e.must(http.StatusOK, "DELETE", "/api-sys/account/a2@acme.test", ``)
	})
}
