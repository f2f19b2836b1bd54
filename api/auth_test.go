package api_test

// Authentication and partitioned (api_access=user) access.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"xc5/api"
	"xc5/resource"
)

const wantRealm = `Basic realm="api-sys"`

// grant sets accountresource api_access on an account, as admin.
func (e *env) grant(account, level string) {
	e.t.Helper()
	r := e.do("PUT", "/api-sys/account/"+account+"/accountresource/api_access", `{"value":"`+level+`"}`)
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		e.t.Fatalf("%v\nwant api_access=%s granted", r, level)
	}
}

// refused checks that a request was refused for authentication or
// authorisation reasons (401 or 403) with the error shape.
func refused(t *testing.T, r *response) {
	t.Helper()
	if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
		t.Errorf("%v\nwant 401 or 403", r)
		return
	}
	r.errorText(t)
}

// TestAuthRequired: missing or wrong credentials are 401 with
// WWW-Authenticate: Basic realm="api-sys", and write nothing.
func TestAuthRequired(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{FailuresPerIP: 1 << 20, FailuresPerAccount: 1 << 20}})
	e.createAccountWithPassword("known.test", "", "Known-pass-123")
	e.grant("known.test", resource.AccessSystem)
	tests := []struct {
		name       string
		user, pass string
		header     string // a raw Authorization header instead of user/pass
	}{
		{name: "none"},
		{name: "wrong password", user: adminUser, pass: "wrong"},
		{name: "empty password", user: adminUser, pass: ""},
		{name: "other account's password", user: adminUser, pass: "Known-pass-123"},
		{name: "unknown user", user: "nobody.test", pass: adminPassword},
		{name: "empty user", user: "", pass: adminPassword, header: "Basic " + b64(":"+adminPassword)},
		{name: "bearer", header: "Bearer abc"},
		{name: "bad base64", header: "Basic !!!"},
		{name: "no colon", header: "Basic " + b64(adminUser+adminPassword)},
		{name: "password prefix", user: adminUser, pass: adminPassword[:len(adminPassword)-1]},
		{name: "password suffix", user: adminUser, pass: adminPassword + "x"},
	}
	for i, tt := range tests {
		reqs := []struct{ method, target, body string }{
			{"GET", "/api-sys/", ""},
			{"GET", "/api-sys/account", ""},
			{"GET", "/api-sys/account/admin", ""},
			{"PUT", "/api-sys/account/", `{"username":"sneak.test"}`},
			{"DELETE", "/api-sys/account/known.test", ""},
		}
		if i > 1 { // every path for the first two; one each for the rest (each failure costs a slow hash)
			reqs = reqs[i%len(reqs) : i%len(reqs)+1]
		}
		for _, req := range reqs {
			hr := e.newRequest(req.method, req.target, req.body)
			switch {
			case tt.header != "":
				hr.Header.Set("Authorization", tt.header)
			case tt.user != "" || tt.pass != "":
				hr.SetBasicAuth(tt.user, tt.pass)
			}
			r := e.send(hr)
			r.wantError(t, http.StatusUnauthorized)
			if got := r.Header.Get("WWW-Authenticate"); got != wantRealm {
				t.Errorf("%s: %s %s: WWW-Authenticate %q, want %q", tt.name, req.method, req.target, got, wantRealm)
			}
		}
	}
	e.must(http.StatusNotFound, "GET", "/api-sys/account/sneak.test", "")
	e.must(http.StatusOK, "GET", "/api-sys/account/known.test", "")
	// The right credentials work, also for the second account.
	e.mustAs("known.test", "Known-pass-123", http.StatusOK, "GET", "/api-sys/", "")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestAuthFromURL: "Most clients will allow basic auth to be specified on
// the Request Line": GET https://user:pass@host/api-sys/ works.
func TestAuthFromURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pw := "p@ss:w/rd ü"
	e.createAccountWithPassword("url.test", "", pw)
	e.grant("url.test", resource.AccessSystem)
	u, _ := url.Parse(e.URL + "/api-sys/")
	u.User = url.UserPassword("url.test", pw)
	res, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET with user:pass@ in the URL: %d, want 200", res.StatusCode)
	}
}

// TestAuthDisabledAccount: a disabled account cannot use the API, even
// with api_access=system and the right password.
func TestAuthDisabledAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"off.test","password":"Off-pass-123","enabled":false}`)
	e.grant("off.test", resource.AccessSystem)
	for _, target := range []string{"/api-sys/", "/api-sys/account", "/api-sys/account/off.test"} {
		refused(t, e.doAs("off.test", "Off-pass-123", "GET", target, ""))
	}
	r := e.doAs("off.test", "Off-pass-123", "PATCH", "/api-sys/account/off.test", `{"enabled":true}`)
	refused(t, r)
	if got := e.must(http.StatusOK, "GET", "/api-sys/account/off.test", "").one(t)["enabled"]; got != false {
		t.Errorf("a disabled account enabled itself: enabled = %v", got)
	}
	// Enabled again by admin, it works.
	e.must(http.StatusOK, "PATCH", "/api-sys/account/off.test", `{"enabled":true}`)
	e.mustAs("off.test", "Off-pass-123", http.StatusOK, "GET", "/api-sys/", "")
}

// TestAuthNeedsAPIAccess: an enabled account without api_access (or with
// an empty one) is refused; api_access takes only system or user.
func TestAuthNeedsAPIAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccountWithPassword("plain.test", "", "Plain-pass-123")
	refused(t, e.doAs("plain.test", "Plain-pass-123", "GET", "/api-sys/", ""))
	refused(t, e.doAs("plain.test", "Plain-pass-123", "GET", "/api-sys/account/plain.test", ""))
	// Some other resource does not grant access.
	e.must(http.StatusCreated, "PUT", "/api-sys/account/plain.test/accountresource", `{"name":"api","value":"system"}`)
	refused(t, e.doAs("plain.test", "Plain-pass-123", "GET", "/api-sys/", ""))
	e.must(http.StatusBadRequest, "PUT", "/api-sys/account/plain.test/accountresource/api_access", `{"value":"admin"}`)
	e.must(http.StatusBadRequest, "PUT", "/api-sys/account/plain.test/accountresource/api_access", `{"value":"System "}`)
	refused(t, e.doAs("plain.test", "Plain-pass-123", "GET", "/api-sys/", ""))
	e.grant("plain.test", "")
	refused(t, e.doAs("plain.test", "Plain-pass-123", "GET", "/api-sys/", ""))
	e.grant("plain.test", resource.AccessUser)
	e.mustAs("plain.test", "Plain-pass-123", http.StatusOK, "GET", "/api-sys/account/plain.test", "")
	// System accounts other than admin cannot log in at all.
	for _, u := range []string{poolAccount, "_prompt.shared"} {
		r := e.doAs(u, "", "GET", "/api-sys/", "")
		refused(t, r)
	}
}

// partition builds, as admin:
//
//	provider.test
//	├── part.test (api_access=user, password Part-pass-123)
//	│   └── kid@part.test (password Kid-pass-123), with number 6498880002
//	│       └── gk@kid.part.test
//	└── out.test
//	    └── x@out.test, with number 6498880001
func partition(t *testing.T) (*env, map[string]string) {
	t.Helper()
	e := newEnv(t)
	guids := map[string]string{}
	guids["provider.test"] = str(t, e.createAccount("provider.test", ""), "guid")
	for _, a := range []struct{ user, parent, pw string }{
		{"part.test", "provider.test", "Part-pass-123"},
		{"kid@part.test", "part.test", "Kid-pass-123"},
		{"gk@kid.part.test", "kid@part.test", "Gk-pass-123"},
		{"out.test", "provider.test", "Out-pass-123"},
		{"x@out.test", "out.test", "X-pass-123"},
	} {
		guids[a.user] = str(t, e.createAccountWithPassword(a.user, a.parent, a.pw), "guid")
	}
	guids["6498880001"] = str(t, e.createNumber("x@out.test", "6498880001"), "guid")
	guids["6498880002"] = str(t, e.createNumber("kid@part.test", "6498880002"), "guid")
	e.grant("part.test", resource.AccessUser)
	return e, guids
}

const partUser, partPass = "part.test", "Part-pass-123"

// TestAuthUserPartitionReads: api_access=user sees its account and its
// descendants only; everything else is 404 as if it did not exist.
func TestAuthUserPartitionReads(t *testing.T) {
	t.Parallel()
	e, g := partition(t)
	as := func(want int, method, target, body string) *response {
		t.Helper()
		return e.mustAs(partUser, partPass, want, method, target, body)
	}
	var names []string
	for _, r := range as(http.StatusOK, "GET", "/api-sys/account", "").records(t) {
		names = append(names, str(t, r, "username"))
	}
	sort.Strings(names)
	if want := []string{"gk@kid.part.test", "kid@part.test", "part.test"}; !strings.EqualFold(strings.Join(names, ","), strings.Join(want, ",")) {
		t.Errorf("user-level account list %v, want %v", names, want)
	}
	// Paged and filtered lists keep to the partition too.
	recs, _ := pagesAs(t, e, "/api-sys/account?limit=1")
	if len(recs) != 3 {
		t.Errorf("user-level paged account list has %d records, want 3", len(recs))
	}
	if n := len(as(http.StatusOK, "GET", "/api-sys/account?filter=%25out%25", "").records(t)); n != 0 {
		t.Errorf("user-level filter found %d accounts outside", n)
	}
	for _, target := range []string{"/api-sys/account/part.test", "/api-sys/account/kid@part.test", "/api-sys/account/" + g["gk@kid.part.test"],
		"/api-sys/account/part.test/child", "/api-sys/account/kid@part.test/number", "/api-sys/account/kid@part.test/number/" + g["6498880002"],
		"/api-sys/account/part.test/numberallocate", "/api-sys/account/part.test/accountresource", "/api-sys/guid", "/api-sys/"} {
		as(http.StatusOK, "GET", target, "")
	}
	for _, target := range []string{"/api-sys/account/out.test", "/api-sys/account/" + g["out.test"], "/api-sys/account/" + strings.ToLower(g["x@out.test"]),
		"/api-sys/account/x@out.test", "/api-sys/account/admin", "/api-sys/account/provider.test", "/api-sys/account/provider.test/child", "/api-sys/account/" + poolAccount,
		"/api-sys/account/out.test/child", "/api-sys/account/x@out.test/number", "/api-sys/account/x@out.test/number/" + g["6498880001"],
		"/api-sys/account/part.test/number/" + g["6498880001"], "/api-sys/account/out.test/numberallocate",
		"/api-sys/account/admin/accountresource", "/api-sys/account/admin/accountresource/api_access",
		"/api-sys/account/out.test/child/x@out.test", "/api-sys/account/part.test/child/x@out.test"} {
		r := e.doAs(partUser, partPass, "GET", target, "")
		r.wantError(t, http.StatusNotFound)
		if strings.Contains(string(r.Body), "6498880001") {
			t.Errorf("GET %s leaks the outside number: %s", target, r.Body)
		}
	}
}

func pagesAs(t *testing.T, e *env, target string) ([]map[string]any, int) {
	t.Helper()
	var recs []map[string]any
	pages := 0
	for next := target; next != ""; pages++ {
		r := e.mustAs(partUser, partPass, http.StatusOK, "GET", next, "")
		recs = append(recs, r.records(t)...)
		next = ""
		if m := nextLinkRE.FindStringSubmatch(r.Header.Get("Link")); m != nil {
			u, _ := url.Parse(m[1])
			next = u.RequestURI()
		}
		if pages > 100 {
			t.Fatal("paging does not end")
		}
	}
	return recs, pages
}

// TestAuthUserPartitionWrites: a user-level caller writes inside its
// subtree only: no top-level accounts, no children or numbers outside,
// no moves out, no updates or deletes outside.
func TestAuthUserPartitionWrites(t *testing.T) {
	t.Parallel()
	e, g := partition(t)
	as := func(method, target, body string) *response {
		t.Helper()
		return e.doAs(partUser, partPass, method, target, body)
	}
	outBefore := e.do("GET", "/api-sys/account/out.test", "").Body
	xBefore := e.do("GET", "/api-sys/account/x@out.test", "").Body

	// Top-level accounts: refused, nothing created.
	for _, body := range []string{`{"username":"top.test"}`, `{"username":"top.test","parent":""}`} {
		r := as("PUT", "/api-sys/account/", body)
		if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Errorf("%v\nwant 403 (or 404)", r)
		}
	}
	r := as("PUT", "/api-sys/account/top2.test", `{}`)
	if r.Status < 400 || r.Status >= 500 {
		t.Errorf("%v\nwant a 4xx for creating a top-level account by PUT …/{username}", r)
	}
	// Children outside: refused as not found.
	as("PUT", "/api-sys/account/out.test/child", `{"username":"y@out.test"}`).wantError(t, http.StatusNotFound)
	as("PUT", "/api-sys/account/x@out.test/child", `{"username":"y@out.test"}`).wantError(t, http.StatusNotFound)
	as("PUT", "/api-sys/account/", `{"username":"y@out.test","parent":"out.test"}`).wantError(t, http.StatusNotFound)
	as("PUT", "/api-sys/account/", `{"username":"y@out.test","parent":"`+g["out.test"]+`"}`).wantError(t, http.StatusNotFound)
	as("PUT", "/api-sys/account/admin/child", `{"username":"y@admin"}`).wantError(t, http.StatusNotFound)
	// Numbers and resources outside.
	as("PUT", "/api-sys/account/x@out.test/number", `{"number":"6498880009"}`).wantError(t, http.StatusNotFound)
	as("PUT", "/api-sys/account/out.test/accountresource", `{"name":"api_access","value":"user"}`).wantError(t, http.StatusNotFound)
	// Updates and deletes outside.
	as("PATCH", "/api-sys/account/out.test", `{"pickup_group":"Evil"}`).wantError(t, http.StatusNotFound)
	as("PUT", "/api-sys/account/out.test?patch=true", `{"pickup_group":"Evil"}`).wantError(t, http.StatusNotFound)
	as("PATCH", "/api-sys/account/x@out.test/number/"+g["6498880001"], `{"cfa":"6498880002"}`)
	as("DELETE", "/api-sys/account/x@out.test", "").wantError(t, http.StatusNotFound)
	as("DELETE", "/api-sys/account/x@out.test/number/"+g["6498880001"], "").wantError(t, http.StatusNotFound)
	as("DELETE", "/api-sys/account/admin", "").wantError(t, http.StatusNotFound)
	as("PATCH", "/api-sys/account/admin", `{"password":"Taken-over-123"}`).wantError(t, http.StatusNotFound)
	// Moves out of the partition.
	r = as("PATCH", "/api-sys/account/kid@part.test", `{"parent":"out.test"}`)
	r.wantError(t, http.StatusNotFound)
	r = as("PATCH", "/api-sys/account/kid@part.test", `{"parent":""}`)
	if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
		t.Errorf("%v\nwant 403 (or 404) for moving a child to the top level", r)
	}
	for _, parent := range []string{"", "out.test"} {
		r = as("PATCH", "/api-sys/account/part.test", `{"parent":"`+parent+`"}`)
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%v\nwant a 4xx for moving the partition root out", r)
		}
	}
	as("PATCH", "/api-sys/account/out.test", `{"parent":"part.test"}`).wantError(t, http.StatusNotFound)
	r = as("PATCH", "/api-sys/account/part.test", `{"parent":"kid@part.test"}`)
	if r.Status < 400 || r.Status >= 500 {
		t.Errorf("%v\nwant a 4xx for moving the partition root into itself", r)
	}

	// Admin sees nothing changed outside, nothing created.
	for _, u := range []string{"top.test", "top2.test", "y@out.test", "y@admin"} {
		e.must(http.StatusNotFound, "GET", "/api-sys/account/"+u, "")
	}
	if got := e.do("GET", "/api-sys/account/out.test", "").Body; string(got) != string(outBefore) {
		t.Errorf("out.test changed:\n%s\n%s", outBefore, got)
	}
	if got := e.do("GET", "/api-sys/account/x@out.test", "").Body; string(got) != string(xBefore) {
		t.Errorf("x@out.test changed:\n%s\n%s", xBefore, got)
	}
	if got := e.numbersOf("x@out.test"); len(got) != 1 {
		t.Errorf("x@out.test numbers %v", got)
	}
	if n := e.must(http.StatusOK, "GET", "/api-sys/account/x@out.test/number/"+g["6498880001"], "").one(t); n["cfa"] != "" {
		t.Errorf("outside number changed: %v", n)
	}
	for acc, parent := range map[string]string{"kid@part.test": "part.test", "part.test": "provider.test", "out.test": "provider.test"} {
		if got := e.must(http.StatusOK, "GET", "/api-sys/account/"+acc, "").one(t)["parent"]; got != g[parent] {
			t.Errorf("%s moved to %v, want it under %s", acc, got, parent)
		}
	}
	e.mustAs("admin", adminPassword, http.StatusOK, "GET", "/api-sys/", "")

	// Inside its subtree a user-level caller can do the usual things.
	c := e.mustAs(partUser, partPass, http.StatusCreated, "PUT", "/api-sys/account/kid@part.test/child", `{"username":"new@kid.part.test"}`).one(t)
	if c["parent"] != g["kid@part.test"] {
		t.Errorf("created child parent %v", c["parent"])
	}
	e.mustAs(partUser, partPass, http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"new2@part.test","parent":"part.test"}`)
	e.mustAs(partUser, partPass, http.StatusOK, "PATCH", "/api-sys/account/gk@kid.part.test", `{"parent":"part.test"}`)
	// Numbers come from the provider: not created below system level.
	e.mustAs(partUser, partPass, http.StatusForbidden, "PUT", "/api-sys/account/gk@kid.part.test/number", `{"number":"6498880003"}`)
	e.mustAs(partUser, partPass, http.StatusOK, "PUT", "/api-sys/account/part.test", `{"pickup_group":"Alpha"}`)
	e.mustAs(partUser, partPass, http.StatusOK, "DELETE", "/api-sys/account/new2@part.test", "")
	// Pool numbers are visible through numberallocate and can be taken,
	// within the number_limit the provider sets (6498880002 is one).
	e.must(http.StatusCreated, "PUT", "/api-sys/account/part.test/accountresource", `{"name":"number_limit","value":"2"}`)
	pn := e.createNumber(poolAccount, "6498880088")
	free := e.mustAs(partUser, partPass, http.StatusOK, "GET", "/api-sys/account/part.test/numberallocate?filter=%88", "").records(t)
	if len(free) != 1 || free[0]["guid"] != pn["guid"] {
		t.Errorf("user-level numberallocate?filter=%%88 = %v, want the pool number", free)
	}
	e.mustAs(partUser, partPass, http.StatusOK, "PUT", "/api-sys/account/part.test/number/"+str(t, pn, "guid"), "")
	if got := e.numbersOf("part.test"); len(got) != 1 || got[0] != "6498880088" {
		t.Errorf("part.test numbers after allocation %v", got)
	}
	// System (_) accounts are not for user-level callers.
	r = as("PUT", "/api-sys/account/", `{"username":"_sys@part.test","parent":"part.test"}`)
	if r.Status != http.StatusForbidden && r.Status != http.StatusBadRequest {
		t.Errorf("%v\nwant 403 (or 400) for a user-level _ account", r)
	}
	// It cannot delete its own partition root.
	r = as("DELETE", "/api-sys/account/part.test", "")
	if r.Status < 400 || r.Status >= 500 {
		t.Errorf("%v\nwant a 4xx for deleting the caller's own account", r)
	}
}

// TestAuthUserCannotGrantSystem: a user-level caller cannot grant
// api_access=system to anyone, itself included (403), but can grant user.
func TestAuthUserCannotGrantSystem(t *testing.T) {
	t.Parallel()
	e, _ := partition(t)
	for _, tt := range []struct{ method, target, body string }{
		{"PUT", "/api-sys/account/part.test/accountresource/api_access", `{"value":"system"}`},
		{"PATCH", "/api-sys/account/part.test/accountresource/api_access", `{"value":"system"}`},
		{"PUT", "/api-sys/account/part.test/accountresource/api_access?patch=true", `{"value":"system"}`},
		{"PUT", "/api-sys/account/kid@part.test/accountresource", `{"name":"api_access","value":"system"}`},
		{"PUT", "/api-sys/account/kid@part.test/accountresource/api_access", `{"value":"system"}`},
		{"PUT", "/api-sys/account/kid@part.test/accountresource", `{"name":"API_ACCESS","value":"system"}`},
	} {
		e.doAs(partUser, partPass, tt.method, tt.target, tt.body).wantError(t, http.StatusForbidden)
	}
	// Renaming another resource into api_access=system is refused too.
	e.mustAs(partUser, partPass, http.StatusCreated, "PUT", "/api-sys/account/kid@part.test/accountresource", `{"name":"level","value":"system"}`)
	r := e.doAs(partUser, partPass, "PATCH", "/api-sys/account/kid@part.test/accountresource/level", `{"name":"api_access"}`)
	r.wantError(t, http.StatusForbidden)

	// Nothing was granted: kid cannot log in, part.test is still user-level.
	refused(t, e.doAs("kid@part.test", "Kid-pass-123", "GET", "/api-sys/", ""))
	e.mustAs(partUser, partPass, http.StatusNotFound, "GET", "/api-sys/account/out.test", "")
	if v := e.must(http.StatusOK, "GET", "/api-sys/account/part.test/accountresource/api_access", "").one(t)["value"]; v != "user" {
		t.Errorf("part.test api_access = %v, want user", v)
	}

	// Granting user to a descendant is fine, and scopes that descendant
	// to its own subtree.
	e.mustAs(partUser, partPass, http.StatusCreated, "PUT", "/api-sys/account/kid@part.test/accountresource", `{"name":"api_access","value":"user"}`)
	var names []string
	for _, rec := range e.mustAs("kid@part.test", "Kid-pass-123", http.StatusOK, "GET", "/api-sys/account", "").records(t) {
		names = append(names, str(t, rec, "username"))
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "gk@kid.part.test,kid@part.test" {
		t.Errorf("kid's account list %v, want [gk@kid.part.test kid@part.test]", names)
	}
	e.mustAs("kid@part.test", "Kid-pass-123", http.StatusNotFound, "GET", "/api-sys/account/part.test", "")
	// And kid cannot escalate itself either.
	e.doAs("kid@part.test", "Kid-pass-123", "PATCH", "/api-sys/account/kid@part.test/accountresource/api_access", `{"value":"system"}`).
		wantError(t, http.StatusForbidden)
	// An admin-granted system access below cannot be removed by user level
	// (it could not have been granted by it either), but admin can.
	e.grant("gk@kid.part.test", resource.AccessSystem)
	r = e.doAs(partUser, partPass, "DELETE", "/api-sys/account/gk@kid.part.test/accountresource/api_access", "")
	if r.Status != http.StatusForbidden {
		t.Errorf("%v\nwant 403", r)
	}
}

// TestAuthUserCannotProbeOutsideNumbers: a user-level PUT or PATCH naming
// the GUID of a number outside its partition must answer 404 ("as if the
// record did not exist"), not reveal the number.
func TestAuthUserCannotProbeOutsideNumbers(t *testing.T) {
	t.Parallel()
	e, g := partition(t)
	for _, method := range []string{"PUT", "PATCH"} {
		r := e.doAs(partUser, partPass, method, "/api-sys/account/part.test/number/"+g["6498880001"], "")
		r.wantError(t, http.StatusNotFound)
		if strings.Contains(string(r.Body), "6498880001") {
			t.Errorf("%s leaks the outside number: %s", method, r.Body)
		}
	}
}

// TestAuthUserCannotRenameToSystemAccount: user-level callers may not
// create _ (system) accounts; renaming one of theirs to a _ name must be
// refused the same way.
func TestAuthUserCannotRenameToSystemAccount(t *testing.T) {
	t.Parallel()
	e, _ := partition(t)
	r := e.doAs(partUser, partPass, "PATCH", "/api-sys/account/kid@part.test", `{"username":"_sys@part.test","password":"Kid-pass-456"}`)
	if r.Status != http.StatusForbidden && r.Status != http.StatusBadRequest {
		t.Errorf("%v\nwant 403 (or 400)", r)
	}
	e.must(http.StatusOK, "GET", "/api-sys/account/kid@part.test", "")
}

// TestAuthCacheInvalidation: verified credentials are cached (a change
// made behind the API's back does not show until the cache expires), but
// a password change, a disable, an api_access removal or a delete made
// through the API takes effect at once.
func TestAuthCacheInvalidation(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{CacheTTL: time.Hour}})
	e.createAccountWithPassword("cache.test", "", "Pass-one-111")
	e.createAccountWithPassword("kid@cache.test", "cache.test", "Kid-one-111")
	e.grant("cache.test", resource.AccessSystem)
	e.grant("kid@cache.test", resource.AccessUser)
	ok := func(user, pass string) {
		t.Helper()
		e.mustAs(user, pass, http.StatusOK, "GET", "/api-sys/account/kid@cache.test", "")
	}
	no := func(user, pass string) {
		t.Helper()
		refused(t, e.doAs(user, pass, "GET", "/api-sys/account/kid@cache.test", ""))
	}

	// A password changed directly in the store (as the SIP service or
	// another node would) reaches the cache through the store's changes.
	ok("cache.test", "Pass-one-111")
	if _, _, err := e.Store.Put(context.Background(), "", resource.Account, "", "cache.test",
		resource.Input{"password": "Pass-side-000"}, resource.Patch); err != nil {
		t.Fatal(err)
	}
	no("cache.test", "Pass-one-111")
	ok("cache.test", "Pass-side-000")

	// A password change through the API: admin changes it.
	e.must(http.StatusOK, "PATCH", "/api-sys/account/cache.test", `{"password":"Pass-two-222"}`)
	no("cache.test", "Pass-one-111")
	ok("cache.test", "Pass-two-222")

	// The account changes its own password.
	e.mustAs("cache.test", "Pass-two-222", http.StatusOK, "PATCH", "/api-sys/account/cache.test", `{"password":"Pass-three-333"}`)
	no("cache.test", "Pass-two-222")
	ok("cache.test", "Pass-three-333")

	// Through the child path, for a user-level account.
	ok("kid@cache.test", "Kid-one-111")
	e.must(http.StatusOK, "PATCH", "/api-sys/account/cache.test/child/kid@cache.test", `{"password":"Kid-two-222"}`)
	no("kid@cache.test", "Kid-one-111")
	ok("kid@cache.test", "Kid-two-222")
	// With PUT ?patch=true.
	e.must(http.StatusOK, "PUT", "/api-sys/account/kid@cache.test?patch=true", `{"password":"Kid-three-333"}`)
	no("kid@cache.test", "Kid-two-222")
	ok("kid@cache.test", "Kid-three-333")

	// api_access removed: DELETE of the resource, then an empty value.
	e.must(http.StatusOK, "DELETE", "/api-sys/account/kid@cache.test/accountresource/api_access", "")
	no("kid@cache.test", "Kid-three-333")
	e.grant("kid@cache.test", resource.AccessUser)
	ok("kid@cache.test", "Kid-three-333")
	e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@cache.test/accountresource/api_access", `{"value":""}`)
	no("kid@cache.test", "Kid-three-333")
	e.grant("kid@cache.test", resource.AccessUser)
	ok("kid@cache.test", "Kid-three-333")

	// system lowered to user: the partition applies at once.
	e.mustAs("cache.test", "Pass-three-333", http.StatusOK, "GET", "/api-sys/account/admin", "")
	e.grant("cache.test", resource.AccessUser)
	e.mustAs("cache.test", "Pass-three-333", http.StatusNotFound, "GET", "/api-sys/account/admin", "")

	// Disabled.
	e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@cache.test", `{"enabled":false}`)
	no("kid@cache.test", "Kid-three-333")
	e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@cache.test", `{"enabled":true}`)
	ok("kid@cache.test", "Kid-three-333")

	// Deleted.
	e.must(http.StatusOK, "DELETE", "/api-sys/account/kid@cache.test", "")
	no("kid@cache.test", "Kid-three-333")
}

// TestAuthCacheExpires: a cached credential is re-checked after CacheTTL.
func TestAuthCacheExpires(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{CacheTTL: 150 * time.Millisecond}})
	e.createAccountWithPassword("ttl.test", "", "Ttl-one-111")
	e.grant("ttl.test", resource.AccessSystem)
	e.mustAs("ttl.test", "Ttl-one-111", http.StatusOK, "GET", "/api-sys/", "")
	if _, _, err := e.Store.Put(context.Background(), "", resource.Account, "", "ttl.test",
		resource.Input{"password": "Ttl-two-222"}, resource.Patch); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	refused(t, e.doAs("ttl.test", "Ttl-one-111", "GET", "/api-sys/", ""))
	e.mustAs("ttl.test", "Ttl-two-222", http.StatusOK, "GET", "/api-sys/", "")
}

// TestAuthRateLimitPerIP: after FailuresPerIP failures from one address,
// further uncached attempts get 429, right password or not.
func TestAuthRateLimitPerIP(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{FailuresPerIP: 3, FailuresPerAccount: 1000}})
	e.createAccountWithPassword("rl.test", "", "Rl-pass-123")
	e.grant("rl.test", resource.AccessSystem)
	for i, user := range []string{"a.test", "b.test", "c.test"} {
		r := e.doAs(user, "wrong", "GET", "/api-sys/", "")
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %v\nwant 401", i+1, r)
		}
	}
	r := e.doAs("d.test", "wrong", "GET", "/api-sys/", "")
	r.wantError(t, http.StatusTooManyRequests)
	// Correct, never-cached credentials from the same address are limited.
	r = e.doAs("rl.test", "Rl-pass-123", "GET", "/api-sys/", "")
	r.wantError(t, http.StatusTooManyRequests)
	// No write happens under a 429.
	r = e.doAs("rl.test", "Rl-pass-123", "PUT", "/api-sys/account/", `{"username":"limited.test"}`)
	r.wantError(t, http.StatusTooManyRequests)
	if _, err := e.Store.Get(context.Background(), "", resource.Account, "", "limited.test"); err == nil {
		t.Errorf("an account was created under a 429")
	}
}

// TestAuthRateLimitPerAccount: after FailuresPerAccount failures for one
// account, an address that is failing for it (CleanTries failures) gets
// 429 even with the right password, while other accounts are unaffected
// and an address that has not been failing still logs in.
func TestAuthRateLimitPerAccount(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{FailuresPerIP: 1000, FailuresPerAccount: 2, CleanTries: 2}})
	e.createAccountWithPassword("victim.test", "", "Victim-pass-123")
	e.grant("victim.test", resource.AccessSystem)
	for i := 0; i < 2; i++ {
		if r := e.doAs("victim.test", "guess", "GET", "/api-sys/", ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %v", i+1, r)
		}
	}
	e.doAs("victim.test", "guess", "GET", "/api-sys/", "").wantError(t, http.StatusTooManyRequests)
	e.doAs("victim.test", "Victim-pass-123", "GET", "/api-sys/", "").wantError(t, http.StatusTooManyRequests)
	// Others are not locked out by victim's failures.
	if r := e.doAs(adminUser, "guess", "GET", "/api-sys/", ""); r.Status != http.StatusUnauthorized {
		t.Errorf("%v\nwant 401 for another account", r)
	}
	e.mustAs(adminUser, adminPassword, http.StatusOK, "GET", "/api-sys/", "")
	if got := loginFrom(t, e, "127.0.0.2", "victim.test", "Victim-pass-123"); got != http.StatusOK {
		t.Errorf("victim from an address that has not been failing: %d, want 200", got)
	}
}

// TestAuthRateLimitPerAccountIgnoresCase: usernames are case-insensitive
// (Reception@X logs in as reception@x), so spelling the name in another
// case must not give a fresh allowance of failures.
func TestAuthRateLimitPerAccountIgnoresCase(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{FailuresPerIP: 1000, FailuresPerAccount: 2, CleanTries: 2}})
	e.createAccountWithPassword("victim.test", "", "Victim-pass-123")
	e.grant("victim.test", resource.AccessSystem)
	// Same account, other spelling: the login works with its password.
	e.mustAs("VICTIM.test", "Victim-pass-123", http.StatusOK, "GET", "/api-sys/", "")
	for i := 0; i < 2; i++ {
		e.doAs("victim.test", "guess", "GET", "/api-sys/", "")
	}
	for _, spelling := range []string{"VICTIM.test", "Victim.Test", "victim.TEST"} {
		e.doAs(spelling, "guess", "GET", "/api-sys/", "").wantError(t, http.StatusTooManyRequests)
	}
}

// TestAuthCacheRacePasswordChange: a login that was verifying the old
// password while a password change committed must not put the old
// password back into the cache: once the change has answered and every
// request has finished, the old password is refused.
func TestAuthCacheRacePasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{CacheTTL: time.Hour}})
	e.createAccountWithPassword("race.test", "", "Race-pass-0")
	e.grant("race.test", resource.AccessSystem)
	e.must(http.StatusOK, "GET", "/api-sys/", "") // admin cached: its PATCHes skip the hash
	for i := 1; i <= 8; i++ {
		old, next := fmt.Sprintf("Race-pass-%d", i-1), fmt.Sprintf("Race-pass-%d", i)
		delay := time.Duration(i*8) * time.Millisecond
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			e.must(http.StatusOK, "PATCH", "/api-sys/account/race.test", `{"password":"`+next+`"}`)
		}()
		go func() {
			defer wg.Done()
			time.Sleep(delay)
			e.doAs("race.test", old, "GET", "/api-sys/", "") // uncached: verifies the hash
		}()
		wg.Wait()
		if r := e.doAs("race.test", old, "GET", "/api-sys/", ""); r.Status == http.StatusOK {
			t.Fatalf("round %d (login %v after the change started): the old password still works after the change answered", i, delay)
		}
	}
}

// TestAuthCacheHydraAccount: a password change or delete of a line through
// /api-sys/HydraAccount changes the underlying account, so cached
// credentials of that account must stop working at once as well.
func TestAuthCacheHydraAccount(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{CacheTTL: time.Hour}})
	e.must(http.StatusCreated, "PUT", "/api-sys/HydraAccount/6499878037", `{"password":"Hydra-one-111"}`)
	e.grant("6499878037", resource.AccessSystem)
	e.mustAs("6499878037", "Hydra-one-111", http.StatusOK, "GET", "/api-sys/", "")
	e.must(http.StatusOK, "PATCH", "/api-sys/hydraaccount/6499878037", `{"password":"Hydra-two-222"}`)
	refused(t, e.doAs("6499878037", "Hydra-one-111", "GET", "/api-sys/", ""))
	e.mustAs("6499878037", "Hydra-two-222", http.StatusOK, "GET", "/api-sys/", "")
	e.must(http.StatusOK, "DELETE", "/api-sys/hydraaccount/6499878037", "")
	refused(t, e.doAs("6499878037", "Hydra-two-222", "GET", "/api-sys/", ""))
}
