package sipserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/api"

	"xc5"
	"xc5/resource"
)

// TestPartitionCannotTakeEmergencyNumber: a company with user-level API
// access (a partition) once could create the number 111 and so receive
// another company's emergency calls. Now the store refuses the number, and
// a phone of another company dialing 111 never rings the partition.
func TestPartitionCannotTakeEmergencyNumber(t *testing.T) {
	x := newPBX(t, Config{})
	const co = "acmebrick.x.co.nz"
	x.put(resource.AccountResource, co, "", `{"name":"api_access","value":"user"}`, resource.Create)
	root, err := x.store.Get(context.Background(), "", resource.Account, "", co)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := resource.Decode(resource.Number, []byte(`{"number":"111"}`))
	_, _, err = x.store.Put(context.Background(), resource.Scope(root.Path), resource.Number, reception, "", in, resource.Create)
	if xc5.ErrorCode(err) != xc5.EFORBIDDEN {
		t.Errorf("the partition creating 111: %v, want %s", err, xc5.EFORBIDDEN)
	}
	x.account("", `{"username":"beta.test"}`)
	x.account("beta.test", `{"username":"b1@beta.test","password":"B1-pw-123"}`)
	rec := x.phone(reception, password, "UDP")
	b1 := x.phone("b1@beta.test", "B1-pw-123", "UDP")
	out := b1.dial("111")
	rec.none(2 * time.Second)
	out.cancel()
}

// TestPickupStaysInCompany: pickup_group names are chosen by each company,
// so a phone of another company with the same group name once answered
// acmebrick's ringing call with *8 (and **600 through an inherited
// extension plan). Only a call ringing in the picker's company (its
// nearest api_access=user ancestor, else its top-level account) is picked
// up: for another top-level company, and for a partition placed below
// acmebrick itself.
func TestPickupStaysInCompany(t *testing.T) {
	for _, tc := range []struct{ name, parent string }{
		{"another top-level company", ""},
		{"a partition below acmebrick", "acmebrick.x.co.nz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newPBX(t, Config{})
			x.trunk("", "", "")
			x.patch(reception, `{"cfna_duration":10,"pickup_group":"office"}`)
			x.account(tc.parent, `{"username":"beta.test"}`)
			x.put(resource.AccountResource, "beta.test", "", `{"name":"api_access","value":"user"}`, resource.Create)
			x.account("beta.test", `{"username":"b1@beta.test","password":"B1-pw-123","pickup_group":"office"}`)
			rec := x.phone(reception, password, "UDP")
			b1 := x.phone("b1@beta.test", "B1-pw-123", "UDP")
			car := x.carrier("6421555000")
			out := car.dial("6491231234")
			in := rec.next(3 * time.Second)
			in.ring()
			out.ringing(t)
			for _, code := range []string{"*8", "**600"} {
				res := b1.dial(code).result(3 * time.Second)
				if res.StatusCode == 200 {
					t.Fatalf("%s: another company's phone picked up acmebrick's call", code)
				}
				if res.StatusCode != 404 {
					t.Errorf("%s: %d %s, want 404", code, res.StatusCode, res.Reason)
				}
			}
			// The company's own phone still picks it up.
			sal := x.phone(sales, salesPassword, "UDP")
			x.patch(sales, `{"pickup_group":"office"}`)
			sal.dial("*8").answered(3 * time.Second)
			out.answered(3 * time.Second)
			if err := out.hangup(); err != nil {
				t.Fatal(err)
			}
			x.idle()
		})
	}
}

// TestCompanyConcurrentLimit: a concurrent_limit on a company bounds the
// calls of its whole subtree. It once bound only the account it was set
// on, so a partition dropped its limits by creating accounts (which start
// with none). With the company at 1 and reception in a call, a call to
// sales (no limit of its own) is busy, on this node and, with shared
// counts, through another node.
func TestCompanyConcurrentLimit(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "one node", true: "two nodes"}[shared], func(t *testing.T) {
			x := newPBX(t, Config{ShareCallCounts: shared})
			x.trunk("", "", "")
			x.patch("acmebrick.x.co.nz", `{"concurrent_limit":1}`)
			addr := x.srv.addr
			if shared {
				other := startServer(t, Config{AuthFailures: -1, ShareCallCounts: true}, x.store)
				if err := other.EnableCalls(x.view); err != nil {
					t.Fatal(err)
				}
				addr = other.addr
			}
			rec := x.phone(reception, password, "UDP")
			sal := x.phone(sales, salesPassword, "UDP")
			car := x.carrier("6421555000")
			out := car.dial("6491231234")
			go rec.next(3 * time.Second).answer()
			out.answered(3 * time.Second)

			car2 := newUAPhone(t, addr, "UDP", "", "")
			car2.number = "6421555001"
			if res := car2.dial("6499290089").result(3 * time.Second); res.StatusCode != 486 {
				t.Fatalf("call to sales while the company is at its limit: %d %s, want 486", res.StatusCode, res.Reason)
			}
			if res := sal.dial("6421555002").result(3 * time.Second); res.StatusCode != 486 {
				t.Fatalf("sales calling out while the company is at its limit: %d %s, want 486", res.StatusCode, res.Reason)
			}
			out.hangup()
			x.idle()
			in := car2.dial("6499290089")
			go sal.next(3 * time.Second).answer()
			in.answered(3 * time.Second)
			in.hangup()
			x.idle()
		})
	}
}

// TestDisabledCompanyRegister: a phone of a company whose root the
// provider disabled cannot register (it once could: only the root was
// disabled); enabled again, it registers.
func TestDisabledCompanyRegister(t *testing.T) {
	x := newPBX(t, Config{})
	p := newPhone(t, x.srv.addr, "UDP")
	contact := []string{"<sip:desk@127.0.0.1:5001>"}
	x.patch("acmebrick.x.co.nz", `{"enabled":false}`)
	res := p.login(p.register(reception, contact, 600), "MD5", reception, password)
	wantStatus(t, res, 403)
	if res.Reason != "Account Disabled" {
		t.Errorf("reason %q, want Account Disabled", res.Reason)
	}
	x.patch("acmebrick.x.co.nz", `{"enabled":true}`)
	wantStatus(t, p.login(p.register(reception, contact, 600), "MD5", reception, password), 200)
}

// TestWithheldCallerCDR: an external caller withholding its number
// (Privacy: id) once had the number shown in the callee company's CDRs.
// The company now reads anonymous; the provider (system level) still
// reads the number, as billing and lawful requests need.
func TestWithheldCallerCDR(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	const co, coPW = "acmebrick.x.co.nz", "Acme-pw-12345"
	x.patch(co, `{"password":"`+coPW+`"}`)
	x.put(resource.AccountResource, co, "", `{"name":"api_access","value":"user"}`, resource.Create)
	rec := x.phone(reception, password, "UDP")
	car := x.carrier("6421555000")
	for _, privacy := range []string{"id", ""} {
		var hdrs []sip.Header
		if privacy != "" {
			hdrs = append(hdrs, sip.NewHeader("Privacy", privacy))
		}
		out := car.dial("6491231234", hdrs...)
		go rec.next(3 * time.Second).answer()
		out.answered(3 * time.Second)
		out.hangup()
		x.idle()
	}
	x.cdrs(reception, 2)

	web := httptest.NewServer(api.New(x.store, api.Options{Logger: testLogger()}))
	defer web.Close()
	froms := func(user, pw string) []any {
		req, _ := http.NewRequest("GET", web.URL+"/api-sys/account/"+reception+"/cdr", nil)
		req.SetBasicAuth(user, pw)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var recs []map[string]any
		if err := json.NewDecoder(res.Body).Decode(&recs); err != nil || res.StatusCode != 200 {
			t.Fatalf("GET cdr as %s: %d %v", user, res.StatusCode, err)
		}
		var out []any
		for _, r := range recs {
			out = append(out, r["from"])
		}
		return out
	}
	if got := froms(co, coPW); len(got) != 2 || got[0] != "anonymous" || got[1] != "6421555000" {
		t.Errorf("the company reads from %v, want [anonymous 6421555000]", got)
	}
	if got := froms("admin", "admin-pw-123"); len(got) != 2 || got[0] != "6421555000" || got[1] != "6421555000" {
		t.Errorf("the provider reads from %v, want the real number twice", got)
	}
}
