package api_test

// Rows of docs/api.md "What a partitioned user may do" about what the
// provider sets: numbering and the provider's callrules.

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"xc5/resource"
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

// Row: a callrule written with system-level access (the provider's block
// on the company's own account) is read-only below system level, wherever
// it is in the partition; the company manages its own rules.
func TestTenantProviderCallRules(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		const root, a1 = "/api-sys/account/acme.test/callrule", "/api-sys/account/a1@acme.test/callrule"
		block := str(t, e.must(http.StatusCreated, "PUT", root, `{"order":-14,"location":"<CallRule-International>","destination":"drop:404:destination blocked"}`).one(t), "guid")
		speed := str(t, e.must(http.StatusCreated, "PUT", a1, `{"order":-2,"prefix_raw":"77","destination":"6491110001"}`).one(t), "guid")
		for _, tt := range []struct{ method, target, body string }{
			{"DELETE", root + "/" + block, ``},
			{"PATCH", root + "/" + block, `{"destination":"drop:404:still blocked","order":-13}`},
			{"PATCH", root + "/" + block, `{"order":100}`},
			{"PUT", root + "/" + block, `{"order":-14,"location":"<CallRule-International>","destination":"6491110001"}`},
			{"DELETE", a1 + "/" + speed, ``},
			{"PATCH", a1 + "/" + speed, `{"destination":"6421999999"}`},
		} {
			e.as(tt.method, tt.target, tt.body).wantError(t, http.StatusForbidden, "set by the provider")
		}
		if got := e.get(root + "/" + block)[0]; got["destination"] != "drop:404:destination blocked" || got["order"] != float64(-14) {
			t.Errorf("the provider's block changed: %v", got)
		}
		r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/calltrace?from=a1@acme.test&dial=0061299998888", "")
		if body := string(r.Body); !strings.Contains(body, "destination blocked") {
			t.Errorf("0061299998888 from a1 is not blocked: %s", body)
		}
		// The company's own rules, on its root account and below, are its.
		for _, target := range []string{root, a1} {
			own := str(t, e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", target, `{"order":-3,"prefix_raw":"1","destination":"drop:403:no short codes"}`).one(t), "guid")
			e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", target+"/"+own, `{"destination":"drop:403:none"}`)
			e.mustAs(acmeUser, acmePass, http.StatusOK, "DELETE", target+"/"+own, ``)
		}
		// The provider changes and removes its own.
		e.must(http.StatusOK, "PATCH", root+"/"+block, `{"destination":"drop:404:no"}`)
		e.must(http.StatusOK, "DELETE", root+"/"+block, ``)
	})
}

// Row: an account has at most resource.MaxForks forks, at every level of
// access: each call rings them all at once, each external one a carrier
// leg.
func TestForkCap(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		const a1 = "/api-sys/account/a1@acme.test/fork"
		for i := 0; i < resource.MaxForks; i++ {
			e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", a1, fmt.Sprintf(`{"destination":"64211%05d"}`, i))
		}
		e.as("PUT", a1, `{"destination":"6421199999"}`).wantError(t, http.StatusBadRequest, "fork", strconv.Itoa(resource.MaxForks))
		e.do("PUT", a1, `{"destination":"6421199999"}`).wantError(t, http.StatusBadRequest, "fork")
		if n := len(e.get(a1)); n != resource.MaxForks {
			t.Errorf("a1 has %d forks, want %d", n, resource.MaxForks)
		}
		// Another account has its own.
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/fork", `{"destination":"6421199999"}`)
	})
}

// Row: a conference room is named by the number of the account that owns
// it; below system level a route names only rooms of the partition's own
// numbers (400 naming the room otherwise). System level keeps full power.
func TestTenantConferenceRooms(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		const a1 = "/api-sys/account/a1@acme.test/route"
		for _, body := range []string{
			`{"order":1,"destination":"conference:6492220001"}`,
			`{"order":1,"menu_level":1,"digit_map":"1=conference:6492220001"}`,
			`{"order":1,"destination":"conference:6493330001"}`, // a pool number
			`{"order":1,"destination":"conference:Board_Room"}`,
		} {
			e.as("PUT", a1, body).wantError(t, http.StatusBadRequest, "conference room")
		}
		own := str(t, e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", a1, `{"order":1,"destination":"conference:6491110001"}`).one(t), "guid")
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/route", `{"order":1,"menu_level":1,"digit_map":"5666=conference:6491110001"}`)
		e.as("PATCH", a1+"/"+own, `{"destination":"conference:6492220001"}`).wantError(t, http.StatusBadRequest, "conference room 6492220001")
		// System level keeps full power (a provider's shared room).
		e.must(http.StatusCreated, "PUT", a1, `{"order":2,"destination":"conference:6492220001"}`)
	})
}

// A POTS line's cfna_dest written through HydraAccount is the account's
// cfna_dest: no more a trunk-zero number there than through /account.
func TestHydraAccountTrunkZeroForward(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.do("PUT", "/api-sys/HydraAccount/6499878037", `{"password":"Hydra-one-111","cfna_dest":"64061299998888"}`).wantError(t, http.StatusBadRequest, "cfna_dest", "64061299998888")
		e.must(http.StatusCreated, "PUT", "/api-sys/HydraAccount/6499878037", `{"password":"Hydra-one-111","cfna_dest":"6421999999"}`)
		e.do("PATCH", "/api-sys/hydraaccount/6499878037", `{"cfna_dest":"64061299998888"}`).wantError(t, http.StatusBadRequest, "cfna_dest", "64061299998888")
		if got := e.get("/api-sys/account/6499878037")[0]["cfna_dest"]; got != "6421999999" {
			t.Errorf("cfna_dest after the refused PATCH: %v", got)
		}
	})
}
