package api_test

// One tenant never reaches into another: what a partitioned user
// (api_access=user on a company) may do, row by row as docs/api.md "What a
// partitioned user may do" lists it, over real HTTP on SQLite and, when
// XC5_TEST_POSTGRES is set, PostgreSQL.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/api"
	"xc5/resource"
	"xc5/routing"
	"xc5/sqlstore"
	"xc5/storetest"
)

const acmeUser, acmePass = "acme.test", "Acme-pass-123"

// tenancy is a server with two companies under one provider:
//
//	provider.test
//	├── acme.test (api_access=user, concurrent_limit 2)
//	│   ├── a1@acme.test, number 6491110001 (given by admin), concurrent_limit 2
//	│   └── a2@acme.test
//	└── beta.test
//	    └── b1@beta.test, number 6492220001, a route forwarding to 6421999999
//
// and four free numbers 649333000N in the pool.
type tenancy struct {
	*env
	g map[string]string // GUIDs by username or number
}

// eachTenancy runs fn on a fresh tenancy on every store backend.
func eachTenancy(t *testing.T, fn func(t *testing.T, e *tenancy)) {
	t.Parallel()
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	storetest.EachChosen(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		loc, _ := time.LoadLocation("Pacific/Auckland")
		view := routing.NewView(routing.Defaults{Location: loc, CountryCode: "64"})
		view.Follow(s)
		if err := view.Load(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		e := &tenancy{env: envOn(t, s, api.Options{View: view}), g: map[string]string{}}
		for _, a := range []struct{ user, parent string }{
			{"provider.test", ""}, {acmeUser, "provider.test"}, {"a1@acme.test", acmeUser}, {"a2@acme.test", acmeUser},
			{"beta.test", "provider.test"}, {"b1@beta.test", "beta.test"},
		} {
			e.g[a.user] = str(t, e.createAccountWithPassword(a.user, a.parent, acmePass), "guid")
		}
		for acc, n := range map[string]string{"a1@acme.test": "6491110001", "b1@beta.test": "6492220001"} {
			e.g[n] = str(t, e.createNumber(acc, n), "guid")
		}
		for i := 1; i <= 4; i++ {
			n := fmt.Sprintf("649333000%d", i)
			e.g[n] = str(t, e.createNumber(poolAccount, n), "guid")
		}
		e.g["b1 route"] = str(t, e.must(http.StatusCreated, "PUT", "/api-sys/account/b1@beta.test/route", `{"order":5,"destination":"6421999999"}`).one(t), "guid")
		e.must(http.StatusOK, "PATCH", "/api-sys/account/"+acmeUser, `{"concurrent_limit":2}`)
		e.must(http.StatusOK, "PATCH", "/api-sys/account/a1@acme.test", `{"concurrent_limit":2}`)
		e.grant(acmeUser, resource.AccessUser)
		fn(t, e)
	})
}

// as sends a request as the acme.test partition.
func (e *tenancy) as(method, target, body string) *response {
	e.t.Helper()
	return e.doAs(acmeUser, acmePass, method, target, body)
}

// leaks fails when a response to the partition names beta's accounts,
// GUIDs or number, other than what the request itself sent (its path, or
// the given body).
func (e *tenancy) leaks(t *testing.T, r *response, sent ...string) {
	t.Helper()
	sent = append(sent, r.Target)
	for _, secret := range []string{"beta", e.g["beta.test"], e.g["b1@beta.test"], e.g["6492220001"], e.g["b1 route"], "6421999999", "greeting"} {
		echoed := false
		for _, s := range sent {
			echoed = echoed || strings.Contains(strings.ToLower(s), strings.ToLower(secret))
		}
		if !echoed && strings.Contains(strings.ToLower(string(r.Body)), strings.ToLower(secret)) {
			t.Errorf("%v\nleaks %q to the partition", r, secret)
		}
	}
}

// Row: usernames stay in the partition's domain: local@acme.test or a
// sub-domain of acme.test; other companies' names are 403 and not created.
func TestTenantUsernames(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		for _, u := range []string{"x@acme.test", "sub.acme.test", "y@sub.acme.test"} {
			e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"`+u+`","parent":"acme.test"}`)
		}
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/child", `{"username":"z@a2.acme.test"}`)
		for _, u := range []string{"ceo@beta.test", "othercompany.co.nz", "acme.test.evil.nz", "x@xacme.test", "xacme.test", "acme.test@evil.nz"} {
			e.as("PUT", "/api-sys/account/", `{"username":"`+u+`","parent":"acme.test"}`).wantError(t, http.StatusForbidden, "username", "domain")
			e.as("PUT", "/api-sys/account/a1@acme.test/child", `{"username":"`+u+`"}`).wantError(t, http.StatusForbidden, "username")
			e.as("PUT", "/api-sys/account/"+u, `{"parent":"acme.test"}`).wantError(t, http.StatusForbidden, "username")
			e.as("PATCH", "/api-sys/account/a2@acme.test", `{"username":"`+u+`","password":"New-pass-123"}`).wantError(t, http.StatusForbidden, "username")
			e.must(http.StatusNotFound, "GET", "/api-sys/account/"+u, "")
		}
		// A name of the domain the provider gave an account elsewhere is
		// refused without telling where.
		e.createAccount("ghost@acme.test", "beta.test")
		r := e.as("PUT", "/api-sys/account/", `{"username":"ghost@acme.test","parent":"acme.test"}`)
		r.wantError(t, http.StatusForbidden, "not available")
		e.leaks(t, r)
		// A partition rooted at a user names its accounts under local.domain.
		e.grant("a2@acme.test", resource.AccessUser)
		e.mustAs("a2@acme.test", acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/child", `{"username":"w@a2.acme.test"}`)
		e.doAs("a2@acme.test", acmePass, "PUT", "/api-sys/account/a2@acme.test/child", `{"username":"w2@acme.test"}`).wantError(t, http.StatusForbidden, "a2.acme.test")
	})
}

// Row: numbers come only from the provider: no number is created below
// system level (111 and other companies' DDIs included), allocation from
// the pool within number_limit, moves inside the subtree, DELETE returns
// the number to the pool, and a held number cannot be renumbered.
func TestTenantNumbersFromPool(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		for _, n := range []string{"111", "6492220001", "6499999999", "6493330001"} {
			r := e.as("PUT", "/api-sys/account/a1@acme.test/number", `{"number":"`+n+`"}`)
			r.wantError(t, http.StatusForbidden, "numberallocate")
			e.leaks(t, r)
		}
		e.as("PUT", "/api-sys/account/a1@acme.test/number/"+resource.NewGUID(), `{"number":"111"}`).wantError(t, http.StatusForbidden)
		// No number_limit set by the provider: nothing to allocate.
		pool := "/api-sys/account/a2@acme.test/number/"
		e.as("PUT", pool+e.g["6493330001"], "").wantError(t, http.StatusForbidden, "number_limit")
		// number_limit 2 on the company: a1 holds one, one more fits.
		e.must(http.StatusCreated, "PUT", "/api-sys/account/acme.test/accountresource", `{"name":"number_limit","value":"2"}`)
		got := e.mustAs(acmeUser, acmePass, http.StatusOK, "PUT", pool+e.g["6493330001"], "").one(t)
		if got["assigned"] != "a2@acme.test" {
			t.Errorf("allocated number %v, want assigned to a2@acme.test", got)
		}
		e.as("PUT", pool+e.g["6493330002"], "").wantError(t, http.StatusForbidden, "number_limit", "2")
		// A move inside the subtree does not count against the limit.
		moved := e.mustAs(acmeUser, acmePass, http.StatusOK, "PUT", "/api-sys/account/a2@acme.test/number/"+e.g["6491110001"], "").one(t)
		if moved["assigned"] != "a2@acme.test" {
			t.Errorf("moved number %v, want assigned to a2@acme.test", moved)
		}
		// A held number is not renumbered.
		e.as("PATCH", "/api-sys/account/a2@acme.test/number/"+e.g["6491110001"], `{"number":"111"}`).wantError(t, http.StatusForbidden, "number")
		// DELETE returns numbers to the pool, also one the provider created
		// directly, and frees room under the limit.
		for _, n := range []string{"6491110001", "6493330001"} {
			e.mustAs(acmeUser, acmePass, http.StatusOK, "DELETE", "/api-sys/account/a2@acme.test/number/"+e.g[n], "")
			if a := e.must(http.StatusOK, "GET", "/api-sys/account/"+poolAccount+"/number/"+e.g[n], "").one(t)["assigned"]; a != poolAccount {
				t.Errorf("%s after a user-level DELETE is assigned to %v, want %s", n, a, poolAccount)
			}
		}
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PUT", pool+e.g["6493330002"], "")
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PUT", pool+e.g["6493330003"], "")
		e.as("PUT", pool+e.g["6493330004"], "").wantError(t, http.StatusForbidden, "number_limit")
		// Another company's number is not found, whatever the method.
		for _, m := range []string{"PUT", "PATCH", "DELETE"} {
			r := e.as(m, "/api-sys/account/a1@acme.test/number/"+e.g["6492220001"], "")
			r.wantError(t, http.StatusNotFound)
			e.leaks(t, r)
		}
	})
}

// TestTenantNumberLimitConcurrent: concurrent allocations by the
// partition cannot overshoot number_limit.
func TestTenantNumberLimitConcurrent(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.must(http.StatusCreated, "PUT", "/api-sys/account/acme.test/accountresource", `{"name":"number_limit","value":"3"}`)
		var guids []string
		for i := 0; i < 8; i++ {
			guids = append(guids, str(t, e.createNumber(poolAccount, fmt.Sprintf("64944400%02d", i)), "guid"))
		}
		e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/", "") // credentials cached before the race
		start := make(chan struct{})
		var wg sync.WaitGroup
		statuses := make([]int, len(guids))
		for i, g := range guids {
			acc := []string{"a1@acme.test", "a2@acme.test"}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i] = e.as("PUT", "/api-sys/account/"+acc+"/number/"+g, "").Status
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusForbidden:
			default:
				t.Errorf("allocation answered %d, want 200 or 403", s)
			}
		}
		held := len(e.numbersOf("a1@acme.test")) + len(e.numbersOf("a2@acme.test"))
		if ok != 2 || held != 3 {
			t.Errorf("%d allocations succeeded and the company holds %d numbers, want 2 and 3 (number_limit 3): %v", ok, held, statuses)
		}
	})
}

// Row: a: numbers only for numbers the partition holds.
func TestTenantAliasNumbers(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/number", `{"number":"a:6491110001"}`)
		for _, n := range []string{"a:6492220001", "a:111", "a:6493330001"} {
			r := e.as("PUT", "/api-sys/account/a2@acme.test/number", `{"number":"`+n+`"}`)
			r.wantError(t, http.StatusForbidden, n)
			e.leaks(t, r)
		}
		alias := e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a1@acme.test/number", `{"number":"a:6491110001"}`).one(t)
		e.as("PATCH", "/api-sys/account/a1@acme.test/number/"+str(t, alias, "guid"), `{"number":"a:6492220001"}`).wantError(t, http.StatusForbidden)
		// Nor by taking an a: number from the pool.
		e.must(http.StatusCreated, "PUT", "/api-sys/account/acme.test/accountresource", `{"name":"number_limit","value":"5"}`)
		pooled := str(t, e.createNumber(poolAccount, "a:6492220001"), "guid")
		e.as("PUT", "/api-sys/account/a1@acme.test/number/"+pooled, "").wantError(t, http.StatusForbidden)
		// Returning the number takes its aliases with it.
		e.mustAs(acmeUser, acmePass, http.StatusOK, "DELETE", "/api-sys/account/a1@acme.test/number/"+e.g["6491110001"], "")
		if got := append(e.numbersOf("a1@acme.test"), e.numbersOf("a2@acme.test")...); len(got) != 0 {
			t.Errorf("after returning 6491110001 the company still holds %v", got)
		}
	})
}

// TestTenantDeletedAccountNumbers: deleting an account returns its plain
// numbers to the pool with every a: alias of them (the partition once kept
// presenting a number after it went to another company), and deletes the
// account's own a: numbers instead of pooling them; whoever deletes it.
func TestTenantDeletedAccountNumbers(t *testing.T) {
	for _, deleter := range []string{"the partition", "the provider"} {
		t.Run(deleter, func(t *testing.T) {
			eachTenancy(t, func(t *testing.T, e *tenancy) {
				e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/number", `{"number":"a:6491110001"}`)
				e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a1@acme.test/number", `{"number":"a:6491110001"}`)
				if deleter == "the partition" {
					// The provider lifts its limit on a1 first: an account
					// holding one is not the company's to delete.
					e.must(http.StatusOK, "PATCH", "/api-sys/account/a1@acme.test", `{"concurrent_limit":0}`)
					e.mustAs(acmeUser, acmePass, http.StatusOK, "DELETE", "/api-sys/account/a1@acme.test", "")
				} else {
					e.must(http.StatusOK, "DELETE", "/api-sys/account/a1@acme.test", "")
				}
				if got := e.numbersOf("a2@acme.test"); len(got) != 0 {
					t.Errorf("a2 still presents %v after 6491110001 went back to the pool", got)
				}
				pool := e.numbersOf(poolAccount)
				held := false
				for _, n := range pool {
					held = held || n == "6491110001"
					if strings.HasPrefix(n, "a:") {
						t.Errorf("the deleted account's alias %s went into the pool", n)
					}
				}
				if !held {
					t.Errorf("6491110001 is not back in the pool: %v", pool)
				}
			})
		})
	}
}

// TestTenantDisabledCompany: disabling a company (enabled:false on its
// root) disables every account below it: their API access, their calls
// and calls to them. It once stopped only the root itself.
func TestTenantDisabledCompany(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.grant("a1@acme.test", resource.AccessUser)
		e.mustAs("a1@acme.test", acmePass, http.StatusOK, "GET", "/api-sys/account/a1@acme.test", "")
		e.must(http.StatusOK, "PATCH", "/api-sys/account/provider.test", `{"enabled":false}`)
		r := e.doAs("a1@acme.test", acmePass, "GET", "/api-sys/account/a1@acme.test", "")
		r.wantError(t, http.StatusForbidden, "disabled")
		for _, tt := range []struct{ from, dial, want string }{
			{"a1@acme.test", "6492220001", "403"},
			{"6421555000", "6491110001", "480"},
		} {
			r := e.must(http.StatusOK, "GET", "/api-sys/calltrace?from="+tt.from+"&dial="+tt.dial+"&registered=*", "")
			recs := r.records(t)
			if out := recs[len(recs)-1]; out["outcome"] != routing.Dropped || fmt.Sprint(out["code"]) != tt.want {
				t.Errorf("%s dials %s below a disabled provider: %v, want dropped %s\n%s", tt.from, tt.dial, out, tt.want, r.Body)
			}
		}
		e.must(http.StatusOK, "PATCH", "/api-sys/account/provider.test", `{"enabled":true}`)
		e.mustAs("a1@acme.test", acmePass, http.StatusOK, "GET", "/api-sys/account/a1@acme.test", "")
	})
}

// TestTenantProviderAccountRefStays: a username field the provider set to
// an account outside the partition once made every user-level edit of the
// record 400, unlike destinations; now it stays, and changing it to
// another outside account is still 400.
func TestTenantProviderAccountRefStays(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		a1 := "/api-sys/account/a1@acme.test"
		route := str(t, e.must(http.StatusCreated, "PUT", a1+"/route", `{"order":7,"username":"b1@beta.test"}`).one(t), "guid")
		rule := str(t, e.must(http.StatusCreated, "PUT", a1+"/callrule", `{"order":3,"prefix_raw":"55","username":"b1@beta.test"}`).one(t), "guid")
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", a1+"/route/"+route, `{"order":9}`)
		e.as("PATCH", a1+"/route/"+route, `{"username":"beta.test"}`).wantError(t, http.StatusBadRequest, "username")
		// A callrule the provider wrote is the provider's as a whole
		// (TestTenantProviderCallRules).
		e.as("PATCH", a1+"/callrule/"+rule, `{"order":4}`).wantError(t, http.StatusForbidden, "set by the provider")
		if got := e.get(a1 + "/route/" + route)[0]; got["order"] != float64(9) || got["username"] != "b1@beta.test" {
			t.Errorf("route after the partition's edit: %v", got)
		}
	})
}

// TestTenantMoveNumberLimit: moving an account with numbers into a
// sub-group once ignored the sub-group's number_limit.
func TestTenantMoveNumberLimit(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"sales.acme.test","parent":"acme.test"}`)
		e.must(http.StatusCreated, "PUT", "/api-sys/account/sales.acme.test/accountresource", `{"name":"number_limit","value":"0"}`)
		e.as("PATCH", "/api-sys/account/a1@acme.test", `{"parent":"sales.acme.test"}`).wantError(t, http.StatusForbidden, "number_limit")
		if got := e.get("/api-sys/account/a1@acme.test")[0]["parent"]; got != e.g[acmeUser] {
			t.Errorf("a1 moved anyway: parent %v", got)
		}
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", "/api-sys/account/a2@acme.test", `{"parent":"sales.acme.test"}`)
		e.must(http.StatusOK, "PUT", "/api-sys/account/sales.acme.test/accountresource/number_limit", `{"value":"1"}`)
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", "/api-sys/account/a1@acme.test", `{"parent":"sales.acme.test"}`)
	})
}

// Row: every field that names an account is checked like username.
func TestTenantAccountFields(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		a1 := "/api-sys/account/a1@acme.test"
		for _, tt := range []struct {
			target, field, body string
		}{
			{a1 + "/route", "destination", `{"order":5,"destination":"%s"}`},
			{a1 + "/route", "username", `{"order":5,"username":"%s"}`},
			{a1 + "/route", "digit_map", `{"order":-8,"menu_level":1,"digit_map":"1=%s"}`},
			{a1 + "/callrule", "destination", `{"order":5,"prefix_raw":"7","destination":"%s"}`},
			{a1 + "/callrule", "username", `{"order":5,"prefix_raw":"7","username":"%s"}`},
			{a1 + "/fork", "destination", `{"destination":"%s"}`},
			{a1, "cfna_dest", `{"cfna_dest":"%s","cfna_active":true}`},
			{"/api-sys/account/", "cfna_dest", `{"username":"new@acme.test","parent":"acme.test","cfna_dest":"%s"}`},
		} {
			for _, outside := range []string{"b1@beta.test", "beta.test", "provider.test", "admin"} {
				r := e.as("PUT", tt.target, fmt.Sprintf(tt.body, outside))
				if outside == "admin" && tt.field != "username" && tt.field != "cfna_dest" && tt.target != a1+"/fork" {
					r.wantError(t, http.StatusBadRequest, tt.field) // not a destination at all
					continue
				}
				r.wantError(t, http.StatusBadRequest, tt.field, "account "+outside+" does not exist")
			}
			e.mustAs(acmeUser, acmePass, map[bool]int{true: http.StatusOK, false: http.StatusCreated}[tt.target == a1],
				"PUT", tt.target, fmt.Sprintf(tt.body, "a2@acme.test"))
		}
		// cfa takes only a number.
		e.as("PATCH", a1+"/number/"+e.g["6491110001"], `{"cfa":"b1@beta.test"}`).wantError(t, http.StatusBadRequest)
		// System level routes anywhere, as before; what it set does not
		// stop the partition from editing the record's other fields.
		route := str(t, e.must(http.StatusCreated, "PUT", a1+"/route", `{"order":7,"destination":"b1@beta.test"}`).one(t), "guid")
		e.must(http.StatusOK, "PATCH", a1, `{"cfna_dest":"b1@beta.test"}`)
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", a1, `{"pickup_group":"Alpha"}`)
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", a1+"/route/"+route, `{"order":8}`)
		e.as("PATCH", a1+"/route/"+route, `{"destination":"beta.test"}`).wantError(t, http.StatusBadRequest, "destination")
	})
}

// Row: provider-set limits are read-only below system level.
func TestTenantProviderFields(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.must(http.StatusCreated, "PUT", "/api-sys/account/acme.test/accountresource", `{"name":"number_limit","value":"2"}`)
		for _, tt := range []struct{ method, target, body, field string }{
			{"PATCH", "/api-sys/account/a1@acme.test", `{"concurrent_limit":0}`, "concurrent_limit"},
			{"PUT", "/api-sys/account/a1@acme.test", `{"concurrent_limit":"3"}`, "concurrent_limit"},
			{"PATCH", "/api-sys/account/acme.test", `{"concurrent_limit":0}`, "concurrent_limit"},
			{"PATCH", "/api-sys/account/acme.test", `{"concurrent_limit":null}`, "concurrent_limit"},
			{"PUT", "/api-sys/account/", `{"username":"c@acme.test","parent":"acme.test","concurrent_limit":5}`, "concurrent_limit"},
			{"PATCH", "/api-sys/account/acme.test", `{"enabled":false}`, "enabled"},
			{"PATCH", "/api-sys/account/acme.test", `{"username":"acme2.test","password":"New-pass-123"}`, "username"},
			{"PATCH", "/api-sys/account/acme.test/accountresource/number_limit", `{"value":"100"}`, "number_limit"},
			{"PUT", "/api-sys/account/acme.test/accountresource/number_limit", `{"value":"100"}`, "number_limit"},
			{"PATCH", "/api-sys/account/acme.test/accountresource/number_limit", `{"name":"renamed"}`, "number_limit"},
			{"DELETE", "/api-sys/account/acme.test/accountresource/number_limit", ``, "number_limit"},
			{"PUT", "/api-sys/account/a1@acme.test/accountresource", `{"name":"number_limit","value":"100"}`, "number_limit"},
		} {
			e.as(tt.method, tt.target, tt.body).wantError(t, http.StatusForbidden, tt.field)
		}
		if got := e.get("/api-sys/account/a1@acme.test")[0]["concurrent_limit"]; got != float64(2) {
			t.Errorf("a1 concurrent_limit = %v, want 2", got)
		}
		if got := e.get("/api-sys/account/acme.test/accountresource/number_limit")[0]["value"]; got != "2" {
			t.Errorf("number_limit = %v, want 2", got)
		}
		// Sending the current values back is fine (GET, modify, PUT: the
		// parent outside the partition included), and a child's enabled
		// is the company's to set.
		root := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/account/acme.test", "").one(t)
		root["pickup_group"] = "A"
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PUT", "/api-sys/account/acme.test", jsonBody(t, root))
		if got := e.get("/api-sys/account/acme.test")[0]; got["pickup_group"] != "A" || got["parent"] != e.g["provider.test"] {
			t.Errorf("after the round trip: %v", got)
		}
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", "/api-sys/account/a1@acme.test", `{"enabled":false}`)
		// The provider changes them.
		e.must(http.StatusOK, "PATCH", "/api-sys/account/a1@acme.test", `{"concurrent_limit":0}`)
		e.must(http.StatusOK, "PATCH", "/api-sys/account/acme.test/accountresource/number_limit", `{"value":"5"}`)
		e.must(http.StatusBadRequest, "PATCH", "/api-sys/account/acme.test/accountresource/number_limit", `{"value":"many"}`)
	})
}

// Row: anything outside the partition is 404, never a 409 that tells it
// exists; a 409 about a reference from outside names no one.
func TestTenantOutsideIs404(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		b1 := "/api-sys/account/b1@beta.test/"
		res := str(t, e.must(http.StatusCreated, "PUT", b1+"accountresource", `{"name":"colour","value":"blue"}`).one(t), "guid")
		fork := str(t, e.must(http.StatusCreated, "PUT", b1+"fork", `{"destination":"6421999999"}`).one(t), "guid")
		rule := str(t, e.must(http.StatusCreated, "PUT", b1+"callrule", `{"order":1,"prefix_raw":"9","destination":"6421999999"}`).one(t), "guid")
		prompt := str(t, e.must(http.StatusCreated, "PUT", b1+"prompt/", `{"description":"beta greeting"}`).one(t), "guid")
		for _, tt := range []struct{ target, body string }{
			{"/api-sys/account/a1@acme.test/fork/" + fork, `{"destination":"6421000000"}`},
			{"/api-sys/account/a1@acme.test/callrule/" + rule, `{"order":1,"prefix_raw":"9","destination":"6421000000"}`},
			{"/api-sys/account/a1@acme.test/prompt/" + prompt, `{"description":"mine"}`},
			{"/api-sys/account/" + e.g["b1@beta.test"], `{"username":"new@acme.test","parent":"acme.test"}`},
			{"/api-sys/account/" + e.g["beta.test"], `{"username":"new@acme.test","parent":"acme.test"}`},
			{"/api-sys/account/", `{"guid":"` + e.g["b1@beta.test"] + `","username":"new@acme.test","parent":"acme.test"}`},
			{"/api-sys/account/acme.test/child/" + e.g["b1@beta.test"], `{"username":"new@acme.test"}`},
			{"/api-sys/account/a1@acme.test/route/" + e.g["b1 route"], `{"order":5,"destination":"6421000000"}`},
			{"/api-sys/account/a1@acme.test/route/", `{"guid":"` + e.g["b1 route"] + `","order":5,"destination":"6421000000"}`},
			{"/api-sys/account/a1@acme.test/accountresource/" + res, `{"name":"colour","value":"red"}`},
			{"/api-sys/account/a1@acme.test/number/" + e.g["6492220001"], `{"number":"a:6491110001"}`},
			{"/api-sys/account/a1@acme.test/number", `{"guid":"` + e.g["6492220001"] + `","number":"a:6491110001"}`},
		} {
			r := e.as("PUT", tt.target, tt.body)
			r.wantError(t, http.StatusNotFound)
			e.leaks(t, r, tt.body)
		}
		// The provider routes beta to a1: a1 cannot be deleted, and the
		// 409 does not say by whom.
		e.must(http.StatusCreated, "PUT", "/api-sys/account/b1@beta.test/route", `{"order":6,"username":"a1@acme.test"}`)
		r := e.as("DELETE", "/api-sys/account/a1@acme.test", "")
		r.wantError(t, http.StatusConflict, "outside your partition")
		e.leaks(t, r)
		if got := e.get("/api-sys/account/b1@beta.test/route/" + e.g["b1 route"])[0]["destination"]; got != "6421999999" {
			t.Errorf("beta's route changed: destination %v", got)
		}
	})
}

// Row: traces show only the caller's company's steps.
func TestTenantTraceRedacted(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		q := "/api-sys/calltrace?from=a1@acme.test&dial=6492220001&registered=*&noanswer=*"
		full := e.must(http.StatusOK, "GET", q, "")
		if !strings.Contains(string(full.Body), "b1@beta.test") {
			t.Fatalf("the system-level trace does not reach beta: %s", full.Body)
		}
		r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", q, "")
		e.leaks(t, r)
		steps := r.records(t)
		if steps[0]["account"] != "a1@acme.test" {
			t.Errorf("the partition's own first step is not shown: %s", r.Body)
		}
		outside := 0
		for _, st := range steps[:len(steps)-1] {
			if st["kind"] == "outside" {
				outside++
			}
		}
		if outside != 1 {
			t.Errorf("want beta's steps as one outside step, got %d: %s", outside, r.Body)
		}
		// A call from beta into acme: beta's steps hidden, acme's shown.
		r = e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/calltrace?from=b1@beta.test&dial=6491110001&registered=*", "")
		e.leaks(t, r)
		if !strings.Contains(string(r.Body), `"account":"a1@acme.test"`) {
			t.Errorf("the partition's own steps are missing: %s", r.Body)
		}
	})
}

// TestTenantTraceTellsNothingOutside: what a partition's trace once told
// of other companies, and no longer does: (i) whether a name or GUID in
// from is another company's account (now answered exactly as for an
// unknown external caller), (ii) the addresses another company records
// calls to, when the call comes back into the partition, and (iii)
// whether another company's phones are registered.
func TestTenantTraceTellsNothingOutside(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		trace := func(from, dial, extra string) (int, string) {
			r := e.as("GET", "/api-sys/calltrace?from="+from+"&dial="+dial+extra, "")
			e.leaks(t, r)
			return r.Status, strings.ReplaceAll(string(r.Body), from, "FROM")
		}
		for _, dial := range []string{"6491110001", "6421999999"} {
			st, want := trace("nobody@nowhere.test", dial, "&registered=*")
			for _, from := range []string{"b1@beta.test", e.g["b1@beta.test"], "beta.test"} {
				if s, got := trace(from, dial, "&registered=*"); s != st || got != want {
					t.Errorf("from %s dialing %s: %d %s\nwant as for an unknown caller: %d %s", from, dial, s, got, st, want)
				}
			}
		}
		// (ii) beta records calls to b1, then forwards them to a1.
		e.must(http.StatusCreated, "PUT", "/api-sys/account/b1@beta.test/callrule", `{"order":1,"record_email":"rec@beta.test"}`)
		e.must(http.StatusCreated, "PUT", "/api-sys/account/b1@beta.test/route", `{"order":3,"destination":"6491110001"}`)
		e.must(http.StatusCreated, "PUT", "/api-sys/account/a1@acme.test/callrule", `{"order":1,"record_email":"rec@acme.test"}`)
		full := e.must(http.StatusOK, "GET", "/api-sys/calltrace?from=a2@acme.test&dial=6492220001&registered=a1@acme.test", "")
		// A call is recorded by the account that answers it: a1, not b1,
		// which only forwarded it.
		if strings.Contains(string(full.Body), "rec@beta.test") || !strings.Contains(string(full.Body), "rec@acme.test") {
			t.Fatalf("the system-level trace does not record to a1's address alone: %s", full.Body)
		}
		_, got := trace("a2@acme.test", "6492220001", "&registered=a1@acme.test")
		if !strings.Contains(got, `"record":["rec@acme.test"]`) {
			t.Errorf("the partition's own recording address is not kept alone: %s", got)
		}
		// (iii) b1's real registration changes nothing in the partition's trace.
		_, before := trace("a2@acme.test", "6492220001", "")
		if _, err := e.Store.PutRegistration(context.Background(), e.g["b1@beta.test"], "<sip:b1@127.0.0.1:5099>", time.Now().Add(time.Hour), "test", "127.0.0.1:5099", xc5.ContactCap{}); err != nil {
			t.Fatal(err)
		}
		if sys := e.must(http.StatusOK, "GET", "/api-sys/calltrace?from=a2@acme.test&dial=6492220001", ""); !strings.Contains(string(sys.Body), `"by":"b1@beta.test"`) {
			t.Fatalf("system level does not see b1 registered: %s", sys.Body)
		}
		if _, after := trace("a2@acme.test", "6492220001", ""); after != before {
			t.Errorf("b1 registering changed the partition's trace:\n%s\n%s", before, after)
		}
	})
}

// TestTenantEmergencyNumberHijack: the partition cannot take 111 (or
// another company's DDI), so another company dialing 111 never reaches it.
func TestTenantEmergencyNumberHijack(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		for _, n := range []string{"111", "6492220001"} {
			if r := e.as("PUT", "/api-sys/account/a1@acme.test/number", `{"number":"`+n+`"}`); r.Status != http.StatusForbidden {
				t.Errorf("%v\nwant 403", r) // go on: the trace shows what the number would do
			}
		}
		for _, dial := range []string{"111", "6492220001"} {
			r := e.must(http.StatusOK, "GET", "/api-sys/calltrace?from=b1@beta.test&dial="+dial+"&registered=*", "")
			if strings.Contains(string(r.Body), "acme") {
				t.Errorf("beta dialing %s reaches acme: %s", dial, r.Body)
			}
		}
	})
}

// Row: CDRs of calls with another company name no one there.
func TestTenantCDRRedacted(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		ctx := context.Background()
		for _, c := range []map[string]any{
			{"direction": "in", "from": "b1@beta.test", "to": "6491110001", "answered_by": "a1@acme.test"},
			{"direction": "out", "from": "a1@acme.test", "to": "6492220001", "answered_by": "b1@beta.test"},
		} {
			c["started"], c["ended"], c["outcome"] = "2026-12-01T10:00:00Z", "2026-12-01T10:01:00Z", "answered"
			if err := e.Store.AddCDR(ctx, e.g["a1@acme.test"], c); err != nil {
				t.Fatal(err)
			}
		}
		if r := e.must(http.StatusOK, "GET", "/api-sys/account/a1@acme.test/cdr?limit=10", ""); !strings.Contains(string(r.Body), "b1@beta.test") {
			t.Fatalf("admin does not see the other party: %s", r.Body)
		}
		for _, target := range []string{"/api-sys/account/a1@acme.test/cdr", "/api-sys/account/a1@acme.test/cdr?limit=1"} {
			r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", target, "")
			e.leaks(t, r)
			recs := r.records(t)
			if recs[0]["from"] != "another company" {
				t.Errorf("%v\nwant from: another company", r)
			}
			g := str(t, recs[0], "guid")
			item := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/account/a1@acme.test/cdr/"+g, "")
			e.leaks(t, item)
			if got := item.one(t)["answered_by"]; got != "a1@acme.test" {
				t.Errorf("the partition's own account is hidden: answered_by %v", got)
			}
		}
		all := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/account/a1@acme.test/cdr", "").records(t)
		if len(all) != 2 {
			t.Errorf("%d CDRs, want 2", len(all))
		}
	})
}

// TestTenantCDRHistory: CDRs once showed other companies' deleted or
// renamed accounts (only current outside accounts were redacted), matched
// ?filter= against the unredacted values (telling which outside name a
// CDR holds), and followed a GUID that the partition gave a new account.
func TestTenantCDRHistory(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		ctx := context.Background()
		a1 := e.g["a1@acme.test"]
		for _, c := range []map[string]any{
			{"direction": "in", "from": "gone@beta.test", "to": "6491110001", "answered_by": "a1@acme.test"},
			{"direction": "in", "from": "old@acme.test", "to": "6491110001", "answered_by": "a1@acme.test"},
			{"direction": "out", "from": "a1@acme.test", "to": "b1@beta.test", "answered_by": "b1@beta.test"},
		} {
			c["started"], c["ended"], c["outcome"] = "2026-12-01T10:00:00Z", "2026-12-01T10:01:00Z", "answered"
			if err := e.Store.AddCDR(ctx, a1, c); err != nil {
				t.Fatal(err)
			}
		}
		cdrs := "/api-sys/account/a1@acme.test/cdr"
		r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", cdrs, "")
		e.leaks(t, r)
		if recs := r.records(t); len(recs) != 3 || recs[0]["from"] != "another company" || recs[1]["from"] != "old@acme.test" {
			t.Errorf("want a gone outside account hidden and the partition's own old name shown: %s", r.Body)
		}
		for _, tt := range []struct {
			filter string
			want   int
		}{{"b1%", 0}, {"%beta%", 0}, {"another%", 1}, {"6491110001", 2}} {
			for _, limit := range []string{"", "&limit=1"} {
				r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", cdrs+"?filter="+url.QueryEscape(tt.filter)+limit, "")
				want := tt.want
				if limit != "" && want > 1 {
					want = 1
				}
				if got := len(r.records(t)); got != want {
					t.Errorf("?filter=%s%s: %d CDRs, want %d: %s", tt.filter, limit, got, want, r.Body)
				}
			}
		}
		// A GUID that CDRs are kept under is not given to a new account.
		gone := resource.NewGUID()
		if err := e.Store.AddCDR(ctx, gone, map[string]any{"direction": "in", "from": "6421555000", "to": "6492220009",
			"started": "2026-12-01T10:00:00Z", "ended": "2026-12-01T10:01:00Z", "outcome": "answered"}); err != nil {
			t.Fatal(err)
		}
		r = e.as("PUT", "/api-sys/account/", `{"guid":"`+gone+`","username":"new@acme.test","parent":"acme.test"}`)
		r.wantError(t, http.StatusNotFound)
		e.as("PUT", "/api-sys/account/"+gone, `{"username":"new@acme.test","parent":"acme.test"}`).wantError(t, http.StatusNotFound)
		if r := e.as("GET", "/api-sys/account/"+gone+"/cdr", ""); r.Status != http.StatusNotFound {
			t.Errorf("%v\nwant 404", r)
		}
	})
}

// Row: OPTIONS documents the provider-set limits.
func TestTenantOptionsDocumentLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tt := range []struct{ path, field, want string }{
		{"/api-sys/account/*/accountresource", "", "number_limit"},
		{"/api-sys/account/*/numberallocate", "", "number_limit"},
		{"/api-sys/account", "concurrent_limit", "provider"},
		{"/api-sys/account", "enabled", "root"},
		{"/api-sys/account", "username", "partition"},
	} {
		doc := e.doAs("", "", "OPTIONS", tt.path, "").one(t)
		text, _ := doc["description"].(string)
		if tt.field != "" {
			f, _ := doc["fields"].(map[string]any)[tt.field].(map[string]any)
			text, _ = f["description"].(string)
		}
		if !strings.Contains(text, tt.want) {
			t.Errorf("OPTIONS %s %s: %q does not mention %q", tt.path, tt.field, text, tt.want)
		}
	}
}

// TestTenantPromptCodeStaysInCompany: a *22 code records a prompt only
// from a phone of the prompt's company. Companies under one provider once
// shared it, as "the organisation" was the top-level account.
func TestTenantPromptCodeStaysInCompany(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		p := e.must(http.StatusCreated, "PUT", "/api-sys/account/beta.test/prompt/", `{"description":"beta's greeting"}`).one(t)
		code := str(t, p, "group_access")
		for _, tt := range []struct{ from, want string }{
			{"b1@beta.test", routing.RecordPrompt},
			{"a1@acme.test", routing.Dropped},
			{"a2@acme.test", routing.Dropped},
		} {
			r := e.must(http.StatusOK, "GET", "/api-sys/calltrace?from="+tt.from+"&dial="+strings.ReplaceAll(code, "*", "%2A")+"&registered=*", "")
			recs := r.records(t)
			if got := recs[len(recs)-1]["outcome"]; got != tt.want {
				t.Errorf("%s dials %s: outcome %v, want %s\n%s", tt.from, code, got, tt.want, r.Body)
			}
		}
	})
}
