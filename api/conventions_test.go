package api_test

// Tests of the HTTP conventions of issue 2 and the document's "API Usage"
// part: framing, errors, methods, HAL links, GUIDs, PUT/PATCH semantics,
// bodies, OPTIONS, filters, paging and streaming.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"xc5/api"
)

// ---------------------------------------------------------------------
// Framing, index, errors, methods.

// TestIndex: GET /api-sys/ lists the available APIs with HAL _links.
func TestIndex(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/api-sys/", "/api-sys"} {
		recs := e.must(http.StatusOK, "GET", path, "").records(t)
		if len(recs) == 0 {
			t.Fatalf("GET %s: empty index", path)
		}
		hrefs := map[string]bool{}
		for _, r := range recs {
			h := href(r, "self")
			if !strings.HasPrefix(h, "/api-sys/") {
				t.Errorf("GET %s: entry %v has self href %q, want one under /api-sys/", path, r, h)
			}
			hrefs[h] = true
		}
		for _, want := range []string{"/api-sys/account", "/api-sys/guid"} {
			if !hrefs[want] {
				t.Errorf("GET %s: index lacks %s; hrefs %v", path, want, hrefs)
			}
		}
		// Sub-resources of accounts are listed with a templated href.
		sawNumber := false
		for h := range hrefs {
			if strings.HasPrefix(h, "/api-sys/account/") && strings.HasSuffix(h, "/number") {
				sawNumber = true
			}
		}
		if !sawNumber {
			t.Errorf("GET %s: index lacks the account number API; hrefs %v", path, hrefs)
		}
	}
}

// TestResponsesAreHALArrays: every answer, success or error, streamed or
// not, is a JSON array with Content-Type application/hal+json; errors are
// [{"error": "…"}].
func TestResponsesAreHALArrays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("frame.test", "")
	n := e.createNumber("frame.test", "6497770001")
	tests := []struct {
		user, method, target, body string
		status                     int
	}{
		{adminUser, "GET", "/api-sys/", "", 200},
		{adminUser, "GET", "/api-sys/account", "", 200},
		{adminUser, "GET", "/api-sys/account?limit=1", "", 200},
		{adminUser, "GET", "/api-sys/account/frame.test", "", 200},
		{adminUser, "GET", "/api-sys/account/frame.test/number", "", 200},
		{adminUser, "GET", "/api-sys/account/frame.test/number/" + str(t, n, "guid"), "", 200},
		{adminUser, "GET", "/api-sys/account/frame.test/child", "", 200},
		{adminUser, "GET", "/api-sys/account/frame.test/numberallocate", "", 200},
		{adminUser, "GET", "/api-sys/guid", "", 200},
		{adminUser, "OPTIONS", "/api-sys/account/*/number", "", 200},
		{adminUser, "PUT", "/api-sys/account/frame.test/number", `{"number":"6497770002"}`, 201},
		{adminUser, "PATCH", "/api-sys/account/frame.test", `{"cfna_duration":9}`, 200},
		{adminUser, "DELETE", "/api-sys/account/frame.test/number/" + str(t, n, "guid"), "", 200},
		{adminUser, "PUT", "/api-sys/account/frame.test/number", `[]`, 400},
		{"", "GET", "/api-sys/account", "", 401},
		{adminUser, "GET", "/api-sys/account/nosuch.test", "", 404},
		{adminUser, "GET", "/api-sys/x", "", 404},
		{adminUser, "PATCH", "/api-sys/account", `{}`, 405},
		{adminUser, "PUT", "/api-sys/account/frame.test/number", `{"number":"6497770002"}`, 409},
		{adminUser, "PUT", "/api-sys/account/", `{"username":"` + strings.Repeat("a", api.MaxBody) + `"}`, 413},
	}
	for _, tt := range tests {
		r := e.doAs(tt.user, adminPassword, tt.method, tt.target, tt.body)
		if r.Status != tt.status {
			t.Errorf("%.200v\nwant status %d", r, tt.status)
			continue
		}
		r.records(t) // Content-Type and array framing
		if tt.status >= 400 {
			r.errorText(t)
		}
	}
}

// TestInvalidPath: an unknown path is 404 [{"error":"invalid path"}],
// exactly as the document shows for GET /api-sys/x.
func TestInvalidPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/api-sys/x", "")
	if r.Status != http.StatusNotFound {
		t.Fatalf("%v\nwant 404", r)
	}
	var got any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if want := []any{map[string]any{"error": "invalid path"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("GET /api-sys/x body %s, want [{\"error\":\"invalid path\"}]", r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != halJSON {
		t.Errorf("Content-Type %q, want %q", ct, halJSON)
	}
	for _, p := range []string{"/api-sys/x/y", "/api-sys/accounts", "/api-sys/account/a.test/x", "/api-sys/account/a.test/number/g/extra",
		"/api-sys/guid/123", "/api-sys/account//number", "/api-sys//account", "/api-sys/account/a.test/numberallocate/x", "/other", "/"} {
		r := e.do("GET", p, "")
		r.wantError(t, http.StatusNotFound)
		if msg := r.errorText(t); msg != "invalid path" {
			t.Errorf("GET %s: error %q, want \"invalid path\"", p, msg)
		}
	}
}

// TestMethodNotAllowed: a method a path does not support is 405 with an
// Allow header listing what it does support; nothing is written.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("meth.test", "")
	n := e.createNumber("meth.test", "6497780001")
	before := e.do("GET", "/api-sys/account/meth.test/number", "").Body
	tests := []struct {
		method, target, body string
		allow, deny          []string
	}{
		{"PATCH", "/api-sys/account", `{"cfna_duration":5}`, []string{"GET", "PUT"}, []string{"PATCH"}},
		{"DELETE", "/api-sys/account", "", []string{"GET", "PUT"}, []string{"DELETE"}},
		{"PATCH", "/api-sys/account/meth.test/number", `{"alert-info":"x"}`, []string{"GET", "PUT"}, []string{"PATCH"}},
		{"DELETE", "/api-sys/account/meth.test/number", "", []string{"GET", "PUT"}, []string{"DELETE"}},
		{"DELETE", "/api-sys/guid", "", []string{"GET"}, []string{"DELETE", "PUT"}},
		{"PUT", "/api-sys/guid", `{}`, []string{"GET"}, []string{"PUT", "DELETE"}},
		{"PUT", "/api-sys/account/meth.test/numberallocate", `{"number":"6497780002"}`, []string{"GET"}, []string{"PUT"}},
		{"POST", "/api-sys/account/meth.test/number", `{"number":"6497780002"}`, []string{"GET", "PUT"}, []string{"POST"}},
		{"PUT", "/api-sys/", `{}`, []string{"GET"}, []string{"PUT"}},
	}
	for _, tt := range tests {
		r := e.do(tt.method, tt.target, tt.body)
		r.wantError(t, http.StatusMethodNotAllowed)
		allow := r.Header.Get("Allow")
		if allow == "" {
			t.Errorf("%s %s: 405 without an Allow header", tt.method, tt.target)
			continue
		}
		set := map[string]bool{}
		for _, m := range strings.Split(allow, ",") {
			set[strings.TrimSpace(m)] = true
		}
		for _, m := range tt.allow {
			if !set[m] {
				t.Errorf("%s %s: Allow %q lacks %s", tt.method, tt.target, allow, m)
			}
		}
		for _, m := range tt.deny {
			if set[m] {
				t.Errorf("%s %s: Allow %q lists %s, which the path refuses", tt.method, tt.target, allow, m)
			}
		}
	}
	// The item path supports what the collection does not.
	e.must(http.StatusOK, "PATCH", "/api-sys/account/meth.test/number/"+str(t, n, "guid"), `{"alert-info":"x"}`)
	e.must(http.StatusOK, "PATCH", "/api-sys/account/meth.test/number/"+str(t, n, "guid"), `{"alert-info":null}`)
	if after := e.do("GET", "/api-sys/account/meth.test/number", "").Body; !bytes.Equal(before, after) {
		t.Errorf("405s changed the numbers:\nbefore %s\nafter  %s", before, after)
	}
}

// TestPatchQueryOnCollectionIs405: "PUT …?patch=true behaves exactly as
// PATCH", so on a collection it is the same 405 with Allow that PATCH gets.
func TestPatchQueryOnCollectionIs405(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("pq.test", "")
	patch := e.do("PATCH", "/api-sys/account/pq.test/number", `{"alert-info":"x"}`)
	put := e.do("PUT", "/api-sys/account/pq.test/number?patch=true", `{"alert-info":"x"}`)
	put.wantError(t, http.StatusMethodNotAllowed)
	if got, want := put.Header.Get("Allow"), patch.Header.Get("Allow"); got == "" || got != want {
		t.Errorf("PUT ?patch=true on a collection: Allow %q, want %q as for PATCH", got, want)
	}
	if n := len(e.get("/api-sys/account/pq.test/number")); n != 0 {
		t.Errorf("PUT ?patch=true on a collection created %d numbers", n)
	}
}

// ---------------------------------------------------------------------
// HAL links and GUIDs.

// TestHALLinksUseGUIDs: self and parent hrefs are built from upper-case
// GUIDs whichever way the request named the records (username, lower-case
// GUID, child path, accountresource name).
func TestHALLinksUseGUIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	top := e.createAccount("hal.test", "")
	kid := e.createAccount("kid@hal.test", "hal.test")
	topG, kidG := str(t, top, "guid"), str(t, kid, "guid")
	n := e.createNumber("kid@hal.test", "6497790001")
	nG := str(t, n, "guid")
	res := e.must(http.StatusCreated, "PUT", "/api-sys/account/kid@hal.test/accountresource", `{"name":"color","value":"red"}`).one(t)
	resG := str(t, res, "guid")

	numSelf := "/api-sys/account/" + kidG + "/number/" + nG
	kidSelf := "/api-sys/account/" + kidG
	tests := []struct {
		target       string
		self, parent string
	}{
		{"/api-sys/account/hal.test", "/api-sys/account/" + topG, ""},
		{"/api-sys/account/" + strings.ToLower(topG), "/api-sys/account/" + topG, ""},
		{"/api-sys/account/kid@hal.test", kidSelf, "/api-sys/account/" + topG},
		{"/api-sys/account/KID@HAL.TEST", kidSelf, "/api-sys/account/" + topG},
		{"/api-sys/account/hal.test/child", kidSelf, "/api-sys/account/" + topG},
		{"/api-sys/account/hal.test/child/kid@hal.test", kidSelf, "/api-sys/account/" + topG},
		{"/api-sys/account/kid@hal.test/number", numSelf, kidSelf},
		{"/api-sys/account/kid@hal.test/number/" + strings.ToLower(nG), numSelf, kidSelf},
		{"/api-sys/account/" + strings.ToLower(kidG) + "/number/" + nG, numSelf, kidSelf},
		{"/api-sys/account/kid@hal.test/accountresource/color", kidSelf + "/accountresource/" + resG, kidSelf},
	}
	for _, tt := range tests {
		recs := e.get(tt.target)
		if len(recs) != 1 {
			t.Errorf("GET %s: %d records, want 1", tt.target, len(recs))
			continue
		}
		if got := href(recs[0], "self"); got != tt.self {
			t.Errorf("GET %s: self %q, want %q", tt.target, got, tt.self)
		}
		if got := href(recs[0], "parent"); got != tt.parent {
			t.Errorf("GET %s: parent %q, want %q", tt.target, got, tt.parent)
		}
	}
	// Writes answer the same links.
	upd := e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@hal.test/number/"+strings.ToLower(nG), `{"alert-info":"dr2"}`).one(t)
	if href(upd, "self") != numSelf || href(upd, "parent") != kidSelf {
		t.Errorf("PATCH answer links %v, want self %s parent %s", upd["_links"], numSelf, kidSelf)
	}
	// Following a self href gives the record back.
	got := e.must(http.StatusOK, "GET", href(upd, "self"), "").one(t)
	if got["guid"] != nG {
		t.Errorf("GET self href gave %v", got)
	}
	// _links sent back by a client are read-only and ignored.
	echo := e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@hal.test",
		`{"pickup_group":"B","_links":{"self":{"href":"/api-sys/account/00000000-0000-0000-0000-000000000000"}}}`).one(t)
	if href(echo, "self") != kidSelf || echo["pickup_group"] != "B" {
		t.Errorf("PATCH with _links: %v", echo)
	}
}

// TestAccountRoundTrip: a client may PUT back the verbose record it got
// (guid and _links included) and nothing changes.
func TestAccountRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("rt.test", "")
	before := e.must(http.StatusOK, "GET", "/api-sys/account/rt.test", "")
	rec := before.one(t)
	rec["cfna_duration"] = 33.0
	after := e.must(http.StatusOK, "PUT", "/api-sys/account/rt.test", jsonBody(t, rec)).one(t)
	if after["cfna_duration"] != 33.0 {
		t.Errorf("round-trip PUT cfna_duration = %v, want 33", after["cfna_duration"])
	}
	after["cfna_duration"] = 20.0
	if orig := before.one(t); !reflect.DeepEqual(after, orig) {
		t.Errorf("round-trip changed more than cfna_duration:\n got %v\nwant %v", after, orig)
	}
}

// TestGUIDs: generated GUIDs are upper-case 8-4-4-4-12; paths accept them
// in any case; a lower-case GUID in a creating PUT is stored upper-case.
func TestGUIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acc := e.createAccount("guid.test", "")
	n := e.createNumber("guid.test", "6497800001")
	res := e.must(http.StatusCreated, "PUT", "/api-sys/account/guid.test/accountresource", `{"name":"x","value":"y"}`).one(t)
	for _, g := range []any{acc["guid"], n["guid"], res["guid"]} {
		if s, _ := g.(string); !guidRE.MatchString(s) {
			t.Errorf("generated GUID %v is not upper-case 8-4-4-4-12", g)
		}
	}
	for _, r := range e.get("/api-sys/account") {
		if !guidRE.MatchString(str(t, r, "guid")) {
			t.Errorf("account %v has GUID %v", r["username"], r["guid"])
		}
	}
	accG, nG := str(t, acc, "guid"), str(t, n, "guid")
	lower := "/api-sys/account/" + strings.ToLower(accG) + "/number/" + strings.ToLower(nG)
	e.must(http.StatusOK, "GET", lower, "")
	e.must(http.StatusOK, "PATCH", lower, `{"alert-info":"a"}`)
	e.must(http.StatusOK, "PUT", lower+"?patch=true", `{"alert-info":"b"}`)
	mixed := "/api-sys/account/" + accG[:4] + strings.ToLower(accG[4:]) + "/number/" + nG
	if got := e.must(http.StatusOK, "GET", mixed, "").one(t)["alert-info"]; got != "b" {
		t.Errorf("alert-info %v, want b", got)
	}

	newG := "6f1c7a4e-0b2d-4c3e-9f8a-1b2c3d4e5f60"
	r := e.must(http.StatusCreated, "PUT", "/api-sys/account/guid.test/number/"+newG, `{"number":"6497800002"}`)
	created := r.one(t)
	if created["guid"] != strings.ToUpper(newG) {
		t.Errorf("PUT with lower-case GUID created guid %v, want %s", created["guid"], strings.ToUpper(newG))
	}
	if loc := r.Header.Get("Location"); loc != "/api-sys/account/"+accG+"/number/"+strings.ToUpper(newG) {
		t.Errorf("Location %q, want upper-case GUIDs", loc)
	}
	e.must(http.StatusOK, "GET", "/api-sys/account/guid.test/number/"+strings.ToUpper(newG), "")
	// The same GUID in the other case is the same record, not a new one.
	e.must(http.StatusOK, "PUT", "/api-sys/account/guid.test/number/"+strings.ToUpper(newG), `{"alert-info":"c"}`)
	if got := len(e.get("/api-sys/account/guid.test/number")); got != 2 {
		t.Errorf("guid.test has %d numbers, want 2", got)
	}
	e.must(http.StatusOK, "DELETE", "/api-sys/account/guid.test/number/"+newG, "")
	e.must(http.StatusNotFound, "GET", "/api-sys/account/guid.test/number/"+strings.ToUpper(newG), "")
}

// TestGUIDEndpoint: GET /api-sys/guid answers [{"guid": "…"}], a fresh
// upper-case GUID each time.
func TestGUIDEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		rec := e.must(http.StatusOK, "GET", "/api-sys/guid", "").one(t)
		if got := keys(rec); !reflect.DeepEqual(got, []string{"guid"}) {
			t.Fatalf("GET /api-sys/guid record keys %v, want [guid]", got)
		}
		g := str(t, rec, "guid")
		if !guidRE.MatchString(g) {
			t.Errorf("GET /api-sys/guid = %q, not upper-case 8-4-4-4-12", g)
		}
		if seen[g] {
			t.Errorf("GET /api-sys/guid repeated %s", g)
		}
		seen[g] = true
	}
	// A GUID handed out can be used to create a record.
	g := str(t, e.must(http.StatusOK, "GET", "/api-sys/guid", "").one(t), "guid")
	e.must(http.StatusCreated, "PUT", "/api-sys/account/"+g, `{"username":"fromguid.test"}`)
	if got := e.must(http.StatusOK, "GET", "/api-sys/account/fromguid.test", "").one(t)["guid"]; got != g {
		t.Errorf("account created at %s has guid %v", g, got)
	}
}

// ---------------------------------------------------------------------
// PUT and PATCH.

// TestPutCreatesOnCollection: PUT on a collection creates a new record
// with a new GUID: 201 with a Location equal to the self href.
func TestPutCreatesOnCollection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tt := range []struct{ target, body string }{
		{"/api-sys/account/", `{"username":"coll.test"}`},
		{"/api-sys/account", `{"username":"coll2.test"}`},
		{"/api-sys/account/coll.test/child", `{"username":"kid@coll.test"}`},
		{"/api-sys/account/coll.test/number", `{"number":"6497810001"}`},
		{"/api-sys/account/coll.test/number/", `{"number":"6497810002"}`},
		{"/api-sys/account/coll.test/accountresource", `{"name":"n","value":"v"}`},
	} {
		r := e.must(http.StatusCreated, "PUT", tt.target, tt.body)
		rec := r.one(t)
		loc := r.Header.Get("Location")
		if loc == "" || loc != href(rec, "self") {
			t.Errorf("PUT %s: Location %q, want the self href %q", tt.target, loc, href(rec, "self"))
			continue
		}
		again := e.must(http.StatusOK, "GET", loc, "").one(t)
		if again["guid"] != rec["guid"] {
			t.Errorf("GET Location %s gave guid %v, want %v", loc, again["guid"], rec["guid"])
		}
	}
	// Two PUTs on a collection are two records with different GUIDs.
	a := e.createNumber("coll.test", "6497810003")
	b := e.createNumber("coll.test", "6497810004")
	if a["guid"] == b["guid"] {
		t.Errorf("two creations got the same GUID %v", a["guid"])
	}
}

// TestPutUpsertAndPatch: PUT on …/{guid} creates that GUID when missing
// and updates it otherwise (200); PATCH and PUT ?patch=true on a missing
// record are 404 and create nothing; updates are partial and answer the
// full record.
func TestPutUpsertAndPatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("ups.test", "")
	const g = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
	item := "/api-sys/account/ups.test/number/" + g

	// PATCH and PUT ?patch=true do not create.
	e.must(http.StatusNotFound, "PATCH", item, `{"number":"6497820001"}`).wantError(t, http.StatusNotFound)
	e.must(http.StatusNotFound, "PUT", item+"?patch=true", `{"number":"6497820001"}`).wantError(t, http.StatusNotFound)
	e.must(http.StatusNotFound, "GET", item, "")
	if n := len(e.get("/api-sys/account/ups.test/number")); n != 0 {
		t.Fatalf("PATCH on a missing record created %d numbers", n)
	}

	// PUT creates that GUID.
	r := e.must(http.StatusCreated, "PUT", item, `{"number":"6497820001","cfa":"6497820099"}`)
	rec := r.one(t)
	if rec["guid"] != g {
		t.Errorf("PUT …/{guid} created guid %v, want %s", rec["guid"], g)
	}
	if loc := r.Header.Get("Location"); loc != href(rec, "self") {
		t.Errorf("Location %q, want %q", loc, href(rec, "self"))
	}

	// PUT again is a partial update: 200, only alert-info changes, the
	// full record comes back.
	full := e.must(http.StatusOK, "PUT", item, `{"alert-info":"dr4"}`).one(t)
	want := map[string]any{"guid": g, "number": "6497820001", "assigned": "ups.test", "is-pilot": false,
		"cfa": "6497820099", "alert-info": "dr4", "account-code": ""}
	for k, v := range want {
		if full[k] != v {
			t.Errorf("after partial PUT %s = %#v, want %#v", k, full[k], v)
		}
	}
	if _, ok := full["_links"]; !ok {
		t.Errorf("update answer lacks _links: %v", full)
	}
	// PATCH: partial, 200, full record.
	full = e.must(http.StatusOK, "PATCH", item, `{"is-pilot":true}`).one(t)
	if full["is-pilot"] != true || full["alert-info"] != "dr4" || full["cfa"] != "6497820099" || full["number"] != "6497820001" {
		t.Errorf("after PATCH %v", full)
	}
	// PUT ?patch=true on an existing record: same as PATCH.
	full = e.must(http.StatusOK, "PUT", item+"?patch=true", `{"account-code":"ac1"}`).one(t)
	if full["account-code"] != "ac1" || full["is-pilot"] != true || full["alert-info"] != "dr4" {
		t.Errorf("after PUT ?patch=true %v", full)
	}
	// Null resets a field to its default; others stay.
	full = e.must(http.StatusOK, "PATCH", item, `{"alert-info":null,"is-pilot":null}`).one(t)
	if full["alert-info"] != "" || full["is-pilot"] != false || full["account-code"] != "ac1" {
		t.Errorf("after null reset %v, want alert-info \"\" is-pilot false account-code ac1", full)
	}
	// An empty update is fine and changes nothing.
	same := e.must(http.StatusOK, "PATCH", item, `{}`).one(t)
	if !reflect.DeepEqual(same, full) {
		t.Errorf("empty PATCH changed the record:\n%v\n%v", same, full)
	}
	// GET agrees with the last answer.
	if got := e.must(http.StatusOK, "GET", item, "").one(t); !reflect.DeepEqual(got, full) {
		t.Errorf("GET %v\nwant %v", got, full)
	}
	// A body GUID that contradicts the path is refused.
	e.must(http.StatusBadRequest, "PUT", "/api-sys/account/ups.test/number/1A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",
		`{"number":"6497820002","guid":"2A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"}`)
	if n := len(e.get("/api-sys/account/ups.test/number")); n != 1 {
		t.Errorf("ups.test has %d numbers, want 1", n)
	}

	// Accounts: PUT on …/{username} creates that account, PATCH on a
	// missing account is 404.
	e.must(http.StatusNotFound, "PATCH", "/api-sys/account/made.test", `{"cfna_duration":5}`)
	e.must(http.StatusNotFound, "PUT", "/api-sys/account/made.test?patch=true", `{"cfna_duration":5}`)
	e.must(http.StatusNotFound, "GET", "/api-sys/account/made.test", "")
	made := e.must(http.StatusCreated, "PUT", "/api-sys/account/made.test", `{"cfna_duration":5}`).one(t)
	if made["username"] != "made.test" || made["cfna_duration"] != 5.0 {
		t.Errorf("PUT /api-sys/account/made.test created %v", made)
	}
	upd := e.must(http.StatusOK, "PUT", "/api-sys/account/made.test", `{"cfna_active":true}`).one(t)
	if upd["cfna_duration"] != 5.0 || upd["cfna_active"] != true {
		t.Errorf("partial PUT on an account lost data: %v", upd)
	}
	// The document's exact null example on an account-level string field.
	upd = e.must(http.StatusOK, "PATCH", "/api-sys/account/made.test", `{"cfna_duration":null}`).one(t)
	if upd["cfna_duration"] != 20.0 {
		t.Errorf("cfna_duration after null = %v, want default 20", upd["cfna_duration"])
	}
}

// ---------------------------------------------------------------------
// Bodies.

// TestBodyRejected: arrays, malformed JSON, unknown fields, wrong types,
// out-of-range values and invalid phone numbers are 400, and nothing is
// written: the record and the collection are unchanged afterwards.
func TestBodyRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("body.test", "")
	n := e.createNumber("body.test", "6497830001")
	numItem := "/api-sys/account/body.test/number/" + str(t, n, "guid")
	accItem := "/api-sys/account/body.test"

	snapshot := func() string {
		var b strings.Builder
		for _, target := range []string{"/api-sys/account", accItem, "/api-sys/account/body.test/number", numItem} {
			b.Write(e.must(http.StatusOK, "GET", target, "").Body)
		}
		return b.String()
	}
	before := snapshot()

	tests := []struct {
		name, method, target, body string
		mention                    string
	}{
		{"array", "PUT", numItem, `[{"alert-info":"x"}]`, ""},
		{"empty array", "PATCH", numItem, `[]`, ""},
		{"array create", "PUT", "/api-sys/account/body.test/number", `[{"number":"6497830002"}]`, ""},
		{"array account", "PUT", "/api-sys/account/", `[{"username":"arr.test"}]`, ""},
		{"string", "PATCH", numItem, `"alert-info"`, ""},
		{"number", "PATCH", numItem, `42`, ""},
		{"null body", "PATCH", numItem, `null`, ""},
		{"malformed", "PATCH", numItem, `{"alert-info": "x"`, ""},
		{"malformed 2", "PATCH", numItem, `{"alert-info" "x"}`, ""},
		{"trailing garbage", "PATCH", numItem, `{"alert-info":"x"} {"cfa":"6497830099"}`, ""},
		{"single quotes", "PATCH", numItem, `{'alert-info':'x'}`, ""},
		{"not json", "PATCH", accItem, `cfna_duration=10`, ""},
		{"unknown field", "PATCH", numItem, `{"alert-info":"x","bogus_field":1}`, "bogus_field"},
		{"unknown field create", "PUT", "/api-sys/account/body.test/number", `{"number":"6497830002","ring":"x"}`, "ring"},
		{"unknown field account", "PATCH", accItem, `{"cfna_duration":10,"cfna_seconds":10}`, "cfna_seconds"},
		{"case matters", "PATCH", accItem, `{"CFNA_Duration":10}`, "CFNA_Duration"},
		{"read-only assigned", "PATCH", numItem, `{"assigned":"admin"}`, "assigned"},
		{"string as number", "PATCH", numItem, `{"alert-info":5}`, "alert-info"},
		{"string as object", "PATCH", numItem, `{"alert-info":{"a":1}}`, "alert-info"},
		{"string as array", "PATCH", numItem, `{"alert-info":["x"]}`, "alert-info"},
		{"bool as word", "PATCH", numItem, `{"is-pilot":"maybe"}`, "is-pilot"},
		{"bool as 2", "PATCH", numItem, `{"is-pilot":2}`, "is-pilot"},
		{"number as json number", "PATCH", numItem, `{"number":6497830003}`, "number"},
		{"int as word", "PATCH", accItem, `{"cfna_duration":"ten"}`, "cfna_duration"},
		{"int as float", "PATCH", accItem, `{"cfna_duration":10.5}`, "cfna_duration"},
		{"int as bool", "PATCH", accItem, `{"cfna_duration":true}`, "cfna_duration"},
		{"int as exponent", "PATCH", accItem, `{"cfna_duration":"1e3"}`, "cfna_duration"},
		{"bool as object", "PATCH", accItem, `{"enabled":{}}`, "enabled"},
		{"cfna_duration 0", "PATCH", accItem, `{"cfna_duration":0}`, "cfna_duration"},
		{"cfna_duration 100000", "PATCH", accItem, `{"cfna_duration":100000}`, "cfna_duration"},
		{"cfna_duration -5", "PATCH", accItem, `{"cfna_duration":-5}`, "cfna_duration"},
		{"cfna_duration string 100000", "PATCH", accItem, `{"cfna_duration":"100000"}`, "cfna_duration"},
		{"int overflow", "PATCH", accItem, `{"cfna_duration":99999999999999999999}`, "cfna_duration"},
		{"invalid number", "PATCH", numItem, `{"number":"+64 9 123 4567"}`, ""},
		{"invalid number letters", "PUT", "/api-sys/account/body.test/number", `{"number":"64ABC"}`, ""},
		{"invalid number leading 0", "PUT", "/api-sys/account/body.test/number", `{"number":"094561234"}`, ""},
		{"invalid cfa", "PATCH", numItem, `{"cfa":"not-a-number"}`, ""},
		{"control char", "PATCH", numItem, `{"alert-info":"a\u0000b"}`, "alert-info"},
		{"valid then invalid", "PATCH", accItem, `{"pickup_group":"Beta","cfna_duration":0}`, "cfna_duration"},
		{"valid then unknown", "PATCH", numItem, `{"alert-info":"dr9","zzz":true}`, "zzz"},
		{"bad username create", "PUT", "/api-sys/account/", `{"username":"bad name"}`, ""},
		{"bad guid in body", "PUT", "/api-sys/account/body.test/number", `{"number":"6497830004","guid":"nope"}`, ""},
		{"deep nesting", "PATCH", numItem, `{"alert-info":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.target, tt.body)
			if tt.mention != "" {
				r.wantError(t, http.StatusBadRequest, tt.mention)
			} else {
				r.wantError(t, http.StatusBadRequest)
			}
		})
	}
	if after := snapshot(); after != before {
		t.Errorf("4xx requests changed the data:\nbefore %s\nafter  %s", before, after)
	}
}

// TestBodyAccepted: integer fields take integer strings ("order": "100"
// in the document), booleans take 0/1 ("private":1), duplicate keys are
// tolerated with the last one winning, and an empty body is an empty
// object.
func TestBodyAccepted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("ok.test", "")
	n := e.createNumber("ok.test", "6497840001")
	numItem := "/api-sys/account/ok.test/number/" + str(t, n, "guid")
	tests := []struct {
		target, body string
		want         map[string]any
	}{
		{"/api-sys/account/ok.test", `{"cfna_duration":"15"}`, map[string]any{"cfna_duration": 15.0}},
		{"/api-sys/account/ok.test", `{"cfna_duration":" 16 "}`, map[string]any{"cfna_duration": 16.0}},
		{"/api-sys/account/ok.test", `{"concurrent_limit":"2"}`, map[string]any{"concurrent_limit": 2.0}},
		{"/api-sys/account/ok.test", `{"cfna_duration":1}`, map[string]any{"cfna_duration": 1.0}},
		{"/api-sys/account/ok.test", `{"cfna_duration":600}`, map[string]any{"cfna_duration": 600.0}},
		{"/api-sys/account/ok.test", `{"private":1}`, map[string]any{"private": true}},
		{"/api-sys/account/ok.test", `{"private":0}`, map[string]any{"private": false}},
		{"/api-sys/account/ok.test", `{"callerid":"false"}`, map[string]any{"callerid": false}},
		{"/api-sys/account/ok.test", `{"cfna_duration":5,"cfna_duration":25}`, map[string]any{"cfna_duration": 25.0}},
		{"/api-sys/account/ok.test", `{"cfna_active":true,"cfna_active":false}`, map[string]any{"cfna_active": false}},
		{numItem, `{"alert-info":"a","alert-info":"b"}`, map[string]any{"alert-info": "b"}},
		{numItem, "  \n\t{ \"alert-info\" : \"sp\" }\n", map[string]any{"alert-info": "sp"}},
		{numItem, `{"alert-info":"\u00e9t\u00e9"}`, map[string]any{"alert-info": "été"}},
		{numItem, ``, map[string]any{"alert-info": "été"}},
		{numItem, `{}`, map[string]any{"alert-info": "été"}},
	}
	for _, tt := range tests {
		got := e.must(http.StatusOK, "PATCH", tt.target, tt.body).one(t)
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("PATCH %s %s: %s = %#v, want %#v", tt.target, tt.body, k, got[k], v)
			}
		}
	}
	// Integer strings work on create too.
	c := e.must(http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"str.test","cfna_duration":"12","concurrent_limit":"3"}`).one(t)
	if c["cfna_duration"] != 12.0 || c["concurrent_limit"] != 3.0 {
		t.Errorf("create with integer strings: %v", c)
	}
}

// TestBodyTooLarge: a body over 1 MiB is refused with 413 and writes
// nothing; a body of exactly 1 MiB is read.
func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("big.test", "")
	n := e.createNumber("big.test", "6497850001")
	item := "/api-sys/account/big.test/number/" + str(t, n, "guid")

	pad := func(body string, size int) string { return body + strings.Repeat(" ", size-len(body)) }
	r := e.do("PATCH", item, pad(`{"alert-info":"big"}`, api.MaxBody+1))
	r.wantError(t, http.StatusRequestEntityTooLarge)
	r = e.do("PUT", "/api-sys/account/big.test/number", pad(`{"number":"6497850002"}`, 3*api.MaxBody))
	r.wantError(t, http.StatusRequestEntityTooLarge)
	r = e.do("PUT", "/api-sys/account/", `{"username":"`+strings.Repeat("b", api.MaxBody)+`.test"}`)
	r.wantError(t, http.StatusRequestEntityTooLarge)
	if got := e.must(http.StatusOK, "GET", item, "").one(t)["alert-info"]; got != "" {
		t.Errorf("413 PATCH wrote alert-info %v", got)
	}
	if got := e.numbersOf("big.test"); !reflect.DeepEqual(got, []string{"6497850001"}) {
		t.Errorf("413 PUT created numbers: %v", got)
	}
	// Exactly the limit is fine.
	got := e.must(http.StatusOK, "PATCH", item, pad(`{"alert-info":"edge"}`, api.MaxBody)).one(t)
	if got["alert-info"] != "edge" {
		t.Errorf("1 MiB body: alert-info %v, want edge", got["alert-info"])
	}
}

// ---------------------------------------------------------------------
// OPTIONS.

// The document's OPTIONS /api-sys/account/*/number answer.
const docNumberOptions = `[
{
"description": "Manage account phonenumbers",
"methods": [
"GET",
"PUT",
"PATCH",
"DELETE",
"OPTIONS"
],
"fields": {
"guid": {
"type": "string",
"description": "Unique identifier for each entry"
},
"number": {
"type": "string",
"description": "The e.164 phone number. Numbers must be unique, or prefixed with a: if outgoing rewrite is allowed"
},
"is-pilot": {
"type": "boolean",
"description": "Indicates to use this number a a default for invalid presented caller number"
},
"cfa": {
"type": "string",
"description": "An e.164 destination. Creates a call-forward-all for calls to this number"
},
"alert-info": {
"type": "string",
"description": "Assigns a value to the sip Alert-Info header for distinctive ring"
},
"account-code": {
"type": "string",
"description": "Free for use associated data"
}
}
}
]`

type optionsDoc struct {
	Description string `json:"description"`
	Methods     []string
	Fields      map[string]struct {
		Type        string `json:"type"`
		Description string `json:"description"`
	} `json:"fields"`
}

func decodeOptions(t *testing.T, r *response) optionsDoc {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != halJSON {
		t.Fatalf("%v\nContent-Type %q, want %q", r, ct, halJSON)
	}
	var docs []optionsDoc
	if err := json.Unmarshal(r.Body, &docs); err != nil || len(docs) != 1 {
		t.Fatalf("%v\nwant a one-element array of documentation: %v", r, err)
	}
	return docs[0]
}

// TestOptionsNumberMatchesDocument: OPTIONS /api-sys/account/*/number is
// the document's answer: the same description, methods, and for each of
// the document's fields the same type and description; the only extra
// field is the read-only "assigned".
func TestOptionsNumberMatchesDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.must(http.StatusOK, "OPTIONS", "/api-sys/account/*/number", "")
	got := decodeOptions(t, r)
	var wantDocs []optionsDoc
	if err := json.Unmarshal([]byte(docNumberOptions), &wantDocs); err != nil {
		t.Fatal(err)
	}
	want := wantDocs[0]
	if got.Description != want.Description {
		t.Errorf("description %q, want %q", got.Description, want.Description)
	}
	if !reflect.DeepEqual(got.Methods, want.Methods) {
		t.Errorf("methods %v, want %v", got.Methods, want.Methods)
	}
	for name, wf := range want.Fields {
		gf, ok := got.Fields[name]
		if !ok {
			t.Errorf("field %q missing", name)
			continue
		}
		if gf != wf {
			t.Errorf("field %q = %+v, want %+v", name, gf, wf)
		}
	}
	for name, gf := range got.Fields {
		if _, ok := want.Fields[name]; ok {
			continue
		}
		if name != "assigned" {
			t.Errorf("unexpected field %q: %+v", name, gf)
			continue
		}
		if gf.Type != "string" || !strings.Contains(strings.ToLower(gf.Description), "read-only") {
			t.Errorf("assigned = %+v, want a string documented as read-only", gf)
		}
	}
	if _, ok := got.Fields["assigned"]; !ok {
		t.Errorf("the read-only assigned field is not documented")
	}
	// The document's field order (assigned may sit anywhere).
	var order []string
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if tok == "fields" {
			dec.Token() // {
			for dec.More() {
				k, _ := dec.Token()
				order = append(order, k.(string))
				var skip json.RawMessage
				dec.Decode(&skip)
			}
			break
		}
	}
	if want := []string{"guid", "number", "is-pilot", "cfa", "alert-info", "account-code"}; !reflect.DeepEqual(without(order, "assigned"), want) {
		t.Errorf("field order %v, want the document's %v", order, want)
	}
	// The item path documents the same fields.
	item := decodeOptions(t, e.must(http.StatusOK, "OPTIONS", "/api-sys/account/*/number/*", ""))
	if !reflect.DeepEqual(item.Fields, got.Fields) {
		t.Errorf("OPTIONS …/number/* fields differ from …/number")
	}
}

// TestOptionsEveryPath: every resource path answers OPTIONS with the
// documentation shape, with * as a context placeholder; the documented
// types are the JSON types GET returns.
func TestOptionsEveryPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tt := range []struct {
		path    string
		methods []string
		fields  []string
	}{
		{"/api-sys/account", []string{"GET", "PUT", "OPTIONS"}, []string{"guid", "username", "parent", "password", "enabled", "cfna_duration", "cfna_dest", "cfna_active", "pickup_group", "ums_pin", "concurrent_limit", "private", "callerid", "timezone", "country_code", "area_code"}},
		{"/api-sys/account/*", []string{"GET", "PUT", "PATCH", "DELETE", "OPTIONS"}, []string{"username", "password"}},
		{"/api-sys/account/*/child", []string{"GET", "PUT", "OPTIONS"}, []string{"username", "parent"}},
		{"/api-sys/account/*/accountresource", []string{"GET", "PUT", "OPTIONS"}, []string{"guid", "name", "value"}},
		{"/api-sys/account/*/numberallocate", []string{"GET", "OPTIONS"}, []string{"guid", "number"}},
		{"/api-sys/guid", []string{"GET", "OPTIONS"}, []string{"guid"}},
	} {
		d := decodeOptions(t, e.must(http.StatusOK, "OPTIONS", tt.path, ""))
		if d.Description == "" {
			t.Errorf("OPTIONS %s: empty description", tt.path)
		}
		ms := map[string]bool{}
		for _, m := range d.Methods {
			ms[m] = true
		}
		for _, m := range tt.methods {
			if !ms[m] {
				t.Errorf("OPTIONS %s: methods %v lack %s", tt.path, d.Methods, m)
			}
		}
		for _, f := range tt.fields {
			fd, ok := d.Fields[f]
			if !ok || fd.Type == "" || fd.Description == "" {
				t.Errorf("OPTIONS %s: field %q = %+v, want a type and description", tt.path, f, fd)
			}
		}
	}
	e.must(http.StatusNotFound, "OPTIONS", "/api-sys/x", "").wantError(t, http.StatusNotFound)
	e.must(http.StatusOK, "OPTIONS", "/api-sys/", "").records(t)

	// Documented types match what GET returns.
	e.createAccount("types.test", "")
	e.createNumber("types.test", "6497860001")
	for _, tt := range []struct{ options, get string }{
		{"/api-sys/account/*", "/api-sys/account/types.test"},
		{"/api-sys/account/*/number", "/api-sys/account/types.test/number"},
	} {
		d := decodeOptions(t, e.must(http.StatusOK, "OPTIONS", tt.options, ""))
		rec := e.get(tt.get)[0]
		for name, fd := range d.Fields {
			v, ok := rec[name]
			if !ok {
				if name != "password" {
					t.Errorf("GET %s lacks documented field %q", tt.get, name)
				}
				continue
			}
			var gotType string
			switch v.(type) {
			case string:
				gotType = "string"
			case float64:
				gotType = "integer"
			case bool:
				gotType = "boolean"
			}
			if gotType != fd.Type {
				t.Errorf("%s: field %q documented as %s, GET returns %T", tt.get, name, fd.Type, v)
			}
		}
		for name := range rec {
			if _, ok := d.Fields[name]; !ok && name != "_links" {
				t.Errorf("GET %s returns undocumented field %q", tt.get, name)
			}
		}
	}
}

// ---------------------------------------------------------------------
// Query filters.

// TestFilterNumberAllocate: the document's ?filter=%88 (not valid
// percent-encoding) means "ends in 88"; _ matches exactly one character.
func TestFilterNumberAllocate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("filt.test", "")
	for _, n := range []string{"6490000088", "6490000188", "64900000888", "6490008800", "6488000001", "6490000089"} {
		e.createNumber(poolAccount, n)
	}
	e.createNumber("filt.test", "6491000088") // not in the pool: never listed
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"filter=%88", []string{"6490000088", "6490000188", "64900000888"}},
		{"filter=6490000_88", []string{"6490000088", "6490000188"}},
		{"filter=6490000%88", []string{"6490000088", "6490000188", "64900000888"}},
		{"filter=%25" + "88", []string{"6490000088", "6490000188", "64900000888"}},
		{"filter=6488%", []string{"6488000001"}},
		{"filter=__________", []string{"6490000088", "6490000188", "6490008800", "6488000001", "6490000089"}},
		{"filter=%99", nil},
		{"", []string{"6490000088", "6490000188", "64900000888", "6490008800", "6488000001", "6490000089"}},
	} {
		target := "/api-sys/account/filt.test/numberallocate"
		if tt.query != "" {
			target += "?" + tt.query
		}
		var got []string
		for _, r := range e.get(target) {
			got = append(got, str(t, r, "number"))
		}
		sort.Strings(got)
		want := append([]string(nil), tt.want...)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GET %s = %v, want %v", target, got, want)
		}
	}
	// The same filter on an account's own numbers.
	var got []string
	for _, r := range e.get("/api-sys/account/filt.test/number?filter=%88") {
		got = append(got, str(t, r, "number"))
	}
	if !reflect.DeepEqual(got, []string{"6491000088"}) {
		t.Errorf("GET …/number?filter=%%88 = %v, want [6491000088]", got)
	}
}

// seedAccounts adds accounts through the store (no per-account password
// hash): companies seed-N.test with users uM@seed-N.test, ten a company.
func (e *env) seedAccounts(accounts, numbers int) {
	e.t.Helper()
	if err := e.Store.Seed(context.Background(), accounts, numbers, "seed-password"); err != nil {
		e.t.Fatalf("Seed: %v", err)
	}
}

// accountNames lists the usernames a GET of the account list returns.
func (e *env) accountNames(target string) []string {
	e.t.Helper()
	var out []string
	for _, r := range e.get(target) {
		out = append(out, str(e.t, r, "username"))
	}
	sort.Strings(out)
	return out
}

// TestFilterAccountsRawQuery: the account list filters on username with
// raw, not re-encoded, queries like the document's ?filter=<CallR%: a
// lone % and an escape that is not UTF-8 stay literal, a valid escape is
// decoded.
func TestFilterAccountsRawQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedAccounts(20, 0) // seed-0.test, u1..u9@seed-0.test, seed-1.test, u1..u9@seed-1.test
	var users1 []string
	for i := 1; i <= 9; i++ {
		users1 = append(users1, fmt.Sprintf("u%d@seed-1.test", i))
	}
	all1 := append([]string{"seed-1.test"}, users1...)
	sort.Strings(all1)
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"filter=<CallR%", nil},
		{"filter=seed-1%", []string{"seed-1.test"}},
		{"filter=seed-_.test", []string{"seed-0.test", "seed-1.test"}},
		{"filter=u1@%", []string{"u1@seed-0.test", "u1@seed-1.test"}},
		{"filter=%@seed-1.test", users1},
		{"filter=u1%40seed-0.test", []string{"u1@seed-0.test"}}, // %40 is "@"
		{"filter=%ed-1%", all1},                                 // %ed alone is not UTF-8: literal "%ed"
		{"filter=%E2%82%AC", nil},                               // "€"
		{"filter=admin", []string{"admin"}},
	} {
		if got := e.accountNames("/api-sys/account?" + tt.query); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("GET /api-sys/account?%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	// The document's line exactly, over a raw TCP connection so that no
	// client library touches the request line.
	for _, tt := range []struct {
		line string
		want int
	}{
		{"GET /api-sys/account?filter=<CallR% HTTP/1.1", 0},
		{"GET /api-sys/account?filter=seed-1% HTTP/1.1", 1},
		{"GET /api-sys/account/seed-0.test/child?filter=u_@seed-0.test HTTP/1.1", 9},
	} {
		status, body := rawRequest(t, e, tt.line)
		if status != http.StatusOK {
			t.Errorf("%s: status %d %s", tt.line, status, body)
			continue
		}
		var recs []map[string]any
		if err := json.Unmarshal(body, &recs); err != nil || len(recs) != tt.want {
			t.Errorf("%s: %d records (%v), want %d: %s", tt.line, len(recs), err, tt.want, body)
		}
	}
}

// rawRequest writes one request line (with admin credentials) on a fresh
// TCP connection and returns the status and body.
func rawRequest(t *testing.T, e *env, line string) (int, []byte) {
	t.Helper()
	u, _ := url.Parse(e.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	auth := base64.StdEncoding.EncodeToString([]byte(adminUser + ":" + adminPassword))
	fmt.Fprintf(conn, "%s\r\nHost: %s\r\nAuthorization: Basic %s\r\nConnection: close\r\n\r\n", line, u.Host, auth)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	return res.StatusCode, buf.Bytes()
}

// ---------------------------------------------------------------------
// Paging and streaming.

var nextLinkRE = regexp.MustCompile(`^<([^>]+)>;\s*rel="next"$`)

// pages follows ?limit= paging from target and returns every record in
// order, checking each page.
func (e *env) pages(target string, limit int) (recs []map[string]any, pages int) {
	e.t.Helper()
	next := target
	for next != "" {
		pages++
		if pages > 1000 {
			e.t.Fatalf("paging from %s does not end", target)
		}
		r := e.must(http.StatusOK, "GET", next, "")
		page := r.records(e.t) // a plain array, not an envelope
		if len(page) > limit {
			e.t.Fatalf("GET %s: %d records, limit %d", next, len(page), limit)
		}
		recs = append(recs, page...)
		link := r.Header.Get("Link")
		if link == "" {
			next = ""
			continue
		}
		if len(page) != limit {
			e.t.Errorf("GET %s: a short page (%d of %d) with a next link", next, len(page), limit)
		}
		m := nextLinkRE.FindStringSubmatch(link)
		if m == nil {
			e.t.Fatalf("GET %s: Link %q is not <…>; rel=\"next\"", next, link)
		}
		u, err := url.Parse(m[1])
		if err != nil {
			e.t.Fatalf("Link target %q: %v", m[1], err)
		}
		next = u.RequestURI()
	}
	return recs, pages
}

// TestPaging: ?limit=N answers N records and a Link rel="next" cursor;
// following it yields every record exactly once, in the unpaged order,
// with a plain array body; the filter carries over.
func TestPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("page.test", "")
	for i := 0; i < 7; i++ {
		e.createNumber("page.test", fmt.Sprintf("649787000%d", i))
	}
	all := e.get("/api-sys/account/page.test/number")
	if len(all) != 7 {
		t.Fatalf("page.test has %d numbers, want 7", len(all))
	}
	first := e.must(http.StatusOK, "GET", "/api-sys/account/page.test/number?limit=2", "")
	if n := len(first.records(t)); n != 2 {
		t.Errorf("?limit=2 answered %d records", n)
	}
	if !nextLinkRE.MatchString(first.Header.Get("Link")) {
		t.Errorf("?limit=2 Link header %q, want <…>; rel=\"next\"", first.Header.Get("Link"))
	}
	for _, limit := range []int{1, 2, 3, 7, 8, 100} {
		got, pages := e.pages("/api-sys/account/page.test/number?limit="+fmt.Sprint(limit), limit)
		if !sameGUIDs(got, all) {
			t.Errorf("limit %d: paged records %v, want %v", limit, guidsOf(got), guidsOf(all))
		}
		if want := (7 + limit - 1) / limit; pages != want {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, want)
		}
	}
	// The last page has no Link.
	if l := e.must(http.StatusOK, "GET", "/api-sys/account/page.test/number?limit=7", "").Header.Get("Link"); l != "" {
		t.Errorf("a page holding everything has Link %q", l)
	}

	// Accounts, lean, with a filter carried through the cursor.
	e.seedAccounts(30, 0)
	allAcc := e.get("/api-sys/account")
	got, _ := e.pages("/api-sys/account?limit=4", 4)
	if !sameGUIDs(got, allAcc) {
		t.Errorf("paged accounts differ from the full list: %d vs %d", len(got), len(allAcc))
	}
	for _, r := range got {
		if len(r) != 4 {
			t.Errorf("paged account record is not lean: %v", keys(r))
			break
		}
	}
	filtered, _ := e.pages("/api-sys/account?filter=u1@%&limit=2", 2)
	var names []string
	for _, r := range filtered {
		names = append(names, str(t, r, "username"))
	}
	if want := []string{"u1@seed-0.test", "u1@seed-1.test", "u1@seed-2.test"}; !reflect.DeepEqual(names, want) {
		t.Errorf("paged filtered accounts %v, want %v", names, want)
	}

	// Invalid limits are 400.
	for _, q := range []string{"limit=0", "limit=-1", "limit=abc", "limit=", "limit=1000000", "after=x&limit=2"} {
		e.do("GET", "/api-sys/account/page.test/number?"+q, "").wantError(t, http.StatusBadRequest)
	}
}

// TestPagingPoolFilter: the document's %88 filter survives the cursor.
func TestPagingPoolFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("pp.test", "")
	var want []string
	for i := 0; i < 10; i++ {
		e.createNumber(poolAccount, fmt.Sprintf("64979%02d088", i))
		e.createNumber(poolAccount, fmt.Sprintf("64979%02d077", i))
		want = append(want, fmt.Sprintf("64979%02d088", i))
	}
	got, pages := e.pages("/api-sys/account/pp.test/numberallocate?filter=%88&limit=3", 3)
	var numbers []string
	for _, r := range got {
		numbers = append(numbers, str(t, r, "number"))
	}
	if !reflect.DeepEqual(numbers, want) || pages != 4 {
		t.Errorf("paged ?filter=%%88 = %v in %d pages, want %v in 4", numbers, pages, want)
	}
}

func guidsOf(recs []map[string]any) []string {
	var out []string
	for _, r := range recs {
		g, _ := r["guid"].(string)
		out = append(out, g)
	}
	return out
}

// sameGUIDs reports whether a and b hold the same GUIDs in the same order
// with none repeated.
func sameGUIDs(a, b []map[string]any) bool {
	ga, gb := guidsOf(a), guidsOf(b)
	seen := map[string]bool{}
	for _, g := range ga {
		if seen[g] {
			return false
		}
		seen[g] = true
	}
	return reflect.DeepEqual(ga, gb)
}

// TestLargeCollectionsStream: GET without a limit returns every record of
// a large collection, streamed (chunked, no Content-Length).
func TestLargeCollectionsStream(t *testing.T) {
	t.Parallel()
	const n = 3000
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		t.Run("numbers", func(t *testing.T) {
			e := newEnv(t)
			e.seedAccounts(1, n) // seed-0.test with numbers 6480000000+i
			r := e.must(http.StatusOK, "GET", "/api-sys/account/seed-0.test/number", "")
			recs := r.records(t)
			if len(recs) != n {
				t.Fatalf("streamed %d numbers, want %d", len(recs), n)
			}
			seen := map[string]bool{}
			for i, rec := range recs {
				num := str(t, rec, "number")
				if want := fmt.Sprint(6480000000 + i); num != want {
					t.Fatalf("record %d is %s, want %s (creation order)", i, num, want)
				}
				if seen[num] {
					t.Fatalf("number %s streamed twice", num)
				}
				seen[num] = true
			}
			if !r.Chunked || r.Header.Get("Content-Length") != "" {
				t.Errorf("a %d-byte listing was not streamed: chunked=%v Content-Length=%q", len(r.Body), r.Chunked, r.Header.Get("Content-Length"))
			}
			// The filtered stream too.
			if got := len(e.get("/api-sys/account/seed-0.test/number?filter=%25" + "5")); got != n/10 {
				t.Errorf("?filter=%%5 streamed %d numbers, want %d", got, n/10)
			}
		})
	}()
	go func() {
		defer wg.Done()
		t.Run("accounts", func(t *testing.T) {
			e := newEnv(t)
			base := len(e.get("/api-sys/account"))
			e.seedAccounts(n, 0)
			r := e.must(http.StatusOK, "GET", "/api-sys/account", "")
			recs := r.records(t)
			if len(recs) != n+base {
				t.Fatalf("streamed %d accounts, want %d", len(recs), n+base)
			}
			seen := map[string]bool{}
			for _, rec := range recs {
				u := str(t, rec, "username")
				if seen[u] {
					t.Fatalf("account %s streamed twice", u)
				}
				seen[u] = true
			}
			if !r.Chunked {
				t.Errorf("a %d-byte account listing was not streamed", len(r.Body))
			}
		})
	}()
	wg.Wait()
}

// TestNoServerErrorsFromInput: odd but possible client input never gets a
// 5xx.
func TestNoServerErrorsFromInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("odd.test", "")
	for _, tt := range []struct{ method, target, body string }{
		{"GET", "/api-sys/account?filter=%00", ""},
		{"GET", "/api-sys/account?filter=%", ""},
		{"GET", "/api-sys/account?filter=%%%%", ""},
		{"GET", "/api-sys/account?filter=" + strings.Repeat("%25", 100), ""},
		{"GET", "/api-sys/account?filter=[a-z]*", ""},
		{"GET", "/api-sys/account?filter='; DROP TABLE accounts; --", ""},
		{"GET", "/api-sys/account?after=99999999999999999999999", ""},
		{"GET", "/api-sys/account?after=9223372036854775807&limit=5", ""},
		{"GET", "/api-sys/account?limit=99999999999999999999999", ""},
		{"GET", "/api-sys/account?=&&&=x&limit", ""},
		{"GET", "/api-sys/account/" + strings.Repeat("z", 256), ""},
		{"GET", "/api-sys/account/" + strings.Repeat("z", 300), ""},
		{"GET", "/api-sys/account/%00", ""},
		{"GET", "/api-sys/account/odd.test/number/not-a-guid", ""},
		{"PUT", "/api-sys/account/odd.test/number/not-a-guid", `{"number":"6497900001"}`},
		{"PUT", "/api-sys/account/odd.test/accountresource/Bad%20Name", `{"value":"x"}`},
		{"PUT", "/api-sys/account/ABCDEF01-2345-6789-ABCD-EF0123456789/number", `{"number":"6497900002"}`},
		{"PUT", "/api-sys/account/odd.test/child/odd.test", `{}`},
		{"PATCH", "/api-sys/account/odd.test", `{"parent":"odd.test"}`},
		{"PATCH", "/api-sys/account/admin", `{"username":"root","password":"Pw-123456789"}`},
		{"PATCH", "/api-sys/account/odd.test", `{"password":""}`},
		{"PATCH", "/api-sys/account/odd.test", `{"password":"` + strings.Repeat("p", 200) + `"}`},
		{"PUT", "/api-sys/account/", `{"username":"odd.test","parent":"odd.test"}`},
		{"DELETE", "/api-sys/account/odd.test/accountresource/nosuch", ""},
		{"HEAD", "/api-sys/account", ""},
		{"GET", "/api-sys/account/*/number", ""},
	} {
		r := e.do(tt.method, tt.target, tt.body)
		if r.Status >= 500 {
			t.Errorf("%v\na client caused a server error", r)
		}
	}
}

// TestLongFilterIsNotAServerError: a filter longer than SQLite's LIKE
// pattern limit (50,000 bytes) must be a 400 or an empty list, never 500.
func TestLongFilterIsNotAServerError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, target := range []string{
		"/api-sys/account?filter=" + strings.Repeat("a", 60000),
		"/api-sys/account/admin/numberallocate?filter=" + strings.Repeat("8", 60000),
		"/api-sys/account?limit=5&filter=" + strings.Repeat("a", 60000),
	} {
		r := e.do("GET", target, "")
		if r.Status >= 500 {
			t.Errorf("GET …?filter=<60000 chars>: %d %s", r.Status, r.Body)
		}
	}
}

// TestNoHTMLEscaping: JSON is written as the document shows it,
// "<CallRule-International>", not "\u003cCallRule-International\u003e".
func TestNoHTMLEscaping(t *testing.T) {
	e := newEnv(t)
	r := e.must(http.StatusOK, "GET", "/api-sys/location/", "")
	if !strings.Contains(string(r.Body), `"<CallRule-International>"`) || strings.Contains(string(r.Body), `\u003c`) {
		t.Fatalf("locations written as %s", r.Body)
	}
}
