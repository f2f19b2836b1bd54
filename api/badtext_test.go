package api_test

import (
	"net/http"
	"testing"
)

// TestBadTextIsClientError: a NUL byte or invalid UTF-8 in a name, a GUID,
// a filter or a value can be no record's (PostgreSQL's text refuses
// both): on every backend the API answers 4xx, never the 500 of a
// database error, and a login with such a name is an ordinary 401.
func TestBadTextIsClientError(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		tests := []struct {
			method, target, body string
			want                 int
		}{
			{"GET", "/api-sys/account/a%00b", "", http.StatusNotFound},
			{"GET", "/api-sys/account/a%FFb", "", http.StatusNotFound},
			{"GET", "/api-sys/account/a%00b/number/", "", http.StatusNotFound},
			{"GET", "/api-sys/account/a1@acme.test/number/6491110001%00", "", http.StatusNotFound},
			{"GET", "/api-sys/account/a1@acme.test/route/x%FF", "", http.StatusNotFound},
			{"GET", "/api-sys/account/a1@acme.test/cdr/", "", http.StatusOK},
			{"GET", "/api-sys/account/?filter=%00", "", http.StatusBadRequest},
			{"GET", "/api-sys/account/a1@acme.test/number/?filter=a%00", "", http.StatusBadRequest},
			{"GET", "/api-sys/account/" + e.g["a1@acme.test"] + "/voicemail/x%00", "", http.StatusNotFound},
			{"DELETE", "/api-sys/account/a%00b", "", http.StatusNotFound},
			{"PATCH", "/api-sys/account/a%00b", `{"cfna_duration":20}`, http.StatusNotFound},
			{"PUT", "/api-sys/account/a%00b/route/", `{"order":1,"destination":"6421999999"}`, http.StatusNotFound},
			{"PATCH", "/api-sys/account/a1@acme.test", `{"cfna_dest":"a\u0000b"}`, http.StatusBadRequest},
			{"PUT", "/api-sys/account/a1@acme.test/prompt/", `{"description":"night\u0000"}`, http.StatusBadRequest},
		}
		for _, tt := range tests {
			for _, as := range []struct{ user, pass string }{{adminUser, adminPassword}, {acmeUser, acmePass}} {
				r := e.doAs(as.user, as.pass, tt.method, tt.target, tt.body)
				if r.Status >= 500 || (r.Status != tt.want && !(tt.want == http.StatusOK && r.Status < 300)) {
					t.Errorf("%v (as %s)\nwant %d", r, as.user, tt.want)
				}
			}
		}
		for _, user := range []string{"a1@acme.test\x00", "a1@acme.test\xff"} {
			if r := e.doAs(user, acmePass, "GET", "/api-sys/account/", ""); r.Status != http.StatusUnauthorized {
				t.Errorf("login as %q: %v, want 401", user, r)
			}
		}
	})
}
