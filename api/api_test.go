package api_test

// This file holds the shared test harness (a real server over a real
// SQLite store) and the resource tests: the document's walkthrough,
// accounts and numbers. conventions_test.go covers the HTTP conventions,
// auth_test.go authentication and partitions, fuzz_test.go the path
// parser fuzzer.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"xc5/api"
	"xc5/sqlstore"
	"xc5/storetest"
)

const (
	adminUser     = "admin"
	adminPassword = "test-admin-password-Xq7"
	halJSON       = "application/hal+json"
	poolAccount   = "_unassigned.pool"
)

// guidRE is the document's GUID form: upper-case 8-4-4-4-12 hex.
var guidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// env is one real xc5 API server over a fresh, bootstrapped store
// (storetest.Open: SQLite, or PostgreSQL under XC5_TEST_STORE=postgres).
type env struct {
	t     *testing.T
	URL   string
	Store *sqlstore.Store
	API   *api.Server
}

// newEnv starts a server with default options.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOpts(t, api.Options{})
}

// newEnvOpts starts a server over a fresh store whose admin password is
// adminPassword.
func newEnvOpts(t *testing.T, opts api.Options) *env {
	t.Helper()
	return envOn(t, storetest.Open(t, adminPassword), opts)
}

// envOn starts a server over a bootstrapped store (closed by the caller).
func envOn(t *testing.T, store *sqlstore.Store, opts api.Options) *env {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := api.New(store, opts)
	check := newOpenAPIChecker(t) // every exchange against the document
	srv := httptest.NewServer(check.wrap(a))
	t.Cleanup(srv.Close)
	return &env{t: t, URL: srv.URL, Store: store, API: a}
}

// response is a fully read HTTP response.
type response struct {
	Method, Target string
	Status         int
	Header         http.Header
	Body           []byte
	Chunked        bool
}

func (r *response) String() string {
	return fmt.Sprintf("%s %s: %d %s", r.Method, r.Target, r.Status, bytes.TrimSpace(r.Body))
}

// newRequest builds a request for target ("/api-sys/…?query"). The query
// is set raw, exactly as written, so that the document's non-standard
// queries (?filter=%88, ?filter=<CallR%) reach the server unchanged.
func (e *env) newRequest(method, target, body string) *http.Request {
	e.t.Helper()
	path, rawQuery, _ := strings.Cut(target, "?")
	var rd io.Reader = http.NoBody
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.t.Fatalf("NewRequest %s %s: %v", method, target, err)
	}
	req.URL.RawQuery = rawQuery
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// send performs req and reads the whole response.
func (e *env) send(req *http.Request) *response {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	chunked := false
	for _, te := range res.TransferEncoding {
		if te == "chunked" {
			chunked = true
		}
	}
	target := req.URL.Path
	if req.URL.RawQuery != "" {
		target += "?" + req.URL.RawQuery
	}
	return &response{Method: req.Method, Target: target, Status: res.StatusCode, Header: res.Header, Body: b, Chunked: chunked}
}

// do sends a request as admin.
func (e *env) do(method, target, body string) *response {
	e.t.Helper()
	return e.doAs(adminUser, adminPassword, method, target, body)
}

// doAs sends a request with Basic credentials (none when user is "").
func (e *env) doAs(user, pass, method, target, body string) *response {
	e.t.Helper()
	req := e.newRequest(method, target, body)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	return e.send(req)
}

// must sends a request as admin and fails the test unless the status is
// want.
func (e *env) must(want int, method, target, body string) *response {
	e.t.Helper()
	r := e.do(method, target, body)
	if r.Status != want {
		e.t.Fatalf("%v\nwant status %d", r, want)
	}
	return r
}

// mustAs is must with the given credentials.
func (e *env) mustAs(user, pass string, want int, method, target, body string) *response {
	e.t.Helper()
	r := e.doAs(user, pass, method, target, body)
	if r.Status != want {
		e.t.Fatalf("%v (as %s)\nwant status %d", r, user, want)
	}
	return r
}

// records checks the document's response framing (hal+json, a JSON array
// of objects) and returns the objects.
func (r *response) records(t *testing.T) []map[string]any {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != halJSON {
		t.Fatalf("%v\nContent-Type = %q, want %q", r, ct, halJSON)
	}
	var recs []map[string]any
	if err := json.Unmarshal(r.Body, &recs); err != nil {
		t.Fatalf("%v\nbody is not a JSON array of objects: %v", r, err)
	}
	if recs == nil {
		t.Fatalf("%v\nbody is JSON null, want an array", r)
	}
	return recs
}

// one returns the single record of a response.
func (r *response) one(t *testing.T) map[string]any {
	t.Helper()
	recs := r.records(t)
	if len(recs) != 1 {
		t.Fatalf("%v\ngot %d records, want 1", r, len(recs))
	}
	return recs[0]
}

// errorText checks the error shape [{"error": "…"}] and returns the text.
func (r *response) errorText(t *testing.T) string {
	t.Helper()
	recs := r.records(t)
	if len(recs) != 1 {
		t.Fatalf("%v\nerror body has %d elements, want 1", r, len(recs))
	}
	msg, ok := recs[0]["error"].(string)
	if !ok || msg == "" {
		t.Fatalf("%v\nerror body has no non-empty string \"error\"", r)
	}
	if len(recs[0]) != 1 {
		t.Fatalf("%v\nerror object has keys besides \"error\": %v", r, keys(recs[0]))
	}
	return msg
}

// wantError checks a 4xx answer: status, shape and optionally that the
// message mentions each of the given words.
func (r *response) wantError(t *testing.T, status int, mentions ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%v\nwant status %d", r, status)
	}
	msg := r.errorText(t)
	for _, m := range mentions {
		if !strings.Contains(msg, m) {
			t.Errorf("%v\nerror %q does not mention %q", r, msg, m)
		}
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// str returns a string field of a record, failing when it is not one.
func str(t *testing.T, rec map[string]any, key string) string {
	t.Helper()
	s, ok := rec[key].(string)
	if !ok {
		t.Fatalf("record %v: field %q = %#v, want a string", rec, key, rec[key])
	}
	return s
}

// href returns _links.<rel>.href of a record, or "" when absent.
func href(rec map[string]any, rel string) string {
	links, _ := rec["_links"].(map[string]any)
	l, _ := links[rel].(map[string]any)
	s, _ := l["href"].(string)
	return s
}

// jsonBody marshals v for a request body.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// createAccount creates a top-level account (or a child when parent is
// not "") as admin and returns its record from the 201 response.
func (e *env) createAccount(username, parent string) map[string]any {
	e.t.Helper()
	body := map[string]any{"username": username}
	if parent != "" {
		body["parent"] = parent
	}
	return e.must(http.StatusCreated, "PUT", "/api-sys/account/", jsonBody(e.t, body)).one(e.t)
}

// createAccountWithPassword creates an account with a known password.
func (e *env) createAccountWithPassword(username, parent, password string) map[string]any {
	e.t.Helper()
	body := map[string]any{"username": username, "password": password}
	if parent != "" {
		body["parent"] = parent
	}
	return e.must(http.StatusCreated, "PUT", "/api-sys/account/", jsonBody(e.t, body)).one(e.t)
}

// createNumber adds a number to an account and returns its record.
func (e *env) createNumber(account, number string) map[string]any {
	e.t.Helper()
	return e.must(http.StatusCreated, "PUT", "/api-sys/account/"+account+"/number", `{"number":"`+number+`"}`).one(e.t)
}

// get returns the records of a GET that must answer 200.
func (e *env) get(target string) []map[string]any {
	e.t.Helper()
	return e.must(http.StatusOK, "GET", target, "").records(e.t)
}

// numbersOf returns the numbers of an account, sorted.
func (e *env) numbersOf(account string) []string {
	e.t.Helper()
	var out []string
	for _, r := range e.get("/api-sys/account/" + account + "/number") {
		out = append(out, str(e.t, r, "number"))
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------
// The document's examples, verbatim.

// walkthroughStep is one request of testdata/api-walkthrough.json.
type walkthroughStep struct {
	Note   string           `json:"note"`
	Method string           `json:"method"`
	Path   string           `json:"path"`
	Body   string           `json:"body"`
	Status int              `json:"status"`
	Count  *int             `json:"count"`
	Want   []map[string]any `json:"want"`
	Absent []string         `json:"absent"`
}

// TestDocumentWalkthrough replays the account and number part of the
// document's "business vPBX example" with its request bodies verbatim,
// in order, against one server. Expected values may name another record's
// GUID as {{username}} or {{number}}, learnt from earlier responses.
func TestDocumentWalkthrough(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../testdata/api-walkthrough.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Steps []walkthroughStep `json:"steps"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("testdata/api-walkthrough.json: %v", err)
	}
	if len(doc.Steps) < 10 {
		t.Fatalf("walkthrough has only %d steps", len(doc.Steps))
	}
	e := newEnv(t)
	guids := map[string]string{} // username or number → GUID
	placeholder := regexp.MustCompile(`\{\{([^}]+)\}\}`)
	var subst func(v any) any
	subst = func(v any) any {
		switch x := v.(type) {
		case string:
			return placeholder.ReplaceAllStringFunc(x, func(m string) string {
				name := m[2 : len(m)-2]
				g, ok := guids[name]
				if !ok {
					t.Fatalf("walkthrough names {{%s}} before any response showed its GUID", name)
				}
				return g
			})
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, v := range x {
				out[k] = subst(v)
			}
			return out
		}
		return v
	}
	var passwords []string
	for i, st := range doc.Steps {
		r := e.do(st.Method, st.Path, st.Body)
		if r.Status != st.Status {
			t.Fatalf("step %d (%s): %v\nwant status %d", i, st.Note, r, st.Status)
		}
		recs := r.records(t)
		for _, rec := range recs {
			g, _ := rec["guid"].(string)
			if g != "" && !guidRE.MatchString(g) {
				t.Errorf("step %d: guid %q is not upper-case 8-4-4-4-12", i, g)
			}
			if u, ok := rec["username"].(string); ok && g != "" {
				guids[u] = g
			}
			if n, ok := rec["number"].(string); ok && g != "" {
				guids[n] = g
			}
			if pw, ok := rec["password"].(string); ok {
				passwords = append(passwords, pw)
			}
		}
		if st.Count != nil && len(recs) != *st.Count {
			t.Fatalf("step %d (%s): %v\ngot %d records, want %d", i, st.Note, r, len(recs), *st.Count)
		}
		if len(st.Want) > len(recs) {
			t.Fatalf("step %d (%s): %v\ngot %d records, want at least %d", i, st.Note, r, len(recs), len(st.Want))
		}
		for j, want := range st.Want {
			for k, v := range want {
				if got := recs[j][k]; !reflect.DeepEqual(got, subst(v)) {
					t.Errorf("step %d (%s): record %d field %q = %#v, want %#v", i, st.Note, j, k, got, subst(v))
				}
			}
		}
		for _, rec := range recs {
			for _, k := range st.Absent {
				if _, ok := rec[k]; ok {
					t.Errorf("step %d (%s): record has field %q, want it absent", i, st.Note, k)
				}
			}
		}
		if r.Status == http.StatusCreated {
			if loc := r.Header.Get("Location"); loc == "" || loc != href(recs[0], "self") {
				t.Errorf("step %d (%s): Location %q, want the self href %q", i, st.Note, loc, href(recs[0], "self"))
			}
		}
	}
	// The document: "A password will be generated for you." Three
	// accounts were created without one; each got a distinct password.
	if len(passwords) != 3 {
		t.Errorf("saw %d generated passwords in responses, want 3 (one per created account)", len(passwords))
	}
	seen := map[string]bool{}
	for _, pw := range passwords {
		if len(pw) < 12 || seen[pw] {
			t.Errorf("generated password %q is short or repeated", pw)
		}
		seen[pw] = true
	}
	// The tree the walkthrough built: reception and sales under acmebrick.
	kids := e.get("/api-sys/account/acmebrick.x.co.nz/child")
	var names []string
	for _, k := range kids {
		names = append(names, str(t, k, "username"))
	}
	sort.Strings(names)
	if want := []string{"reception@acmebrick.x.co.nz", "sales@acmebrick.x.co.nz"}; !reflect.DeepEqual(names, want) {
		t.Errorf("children of acmebrick.x.co.nz = %v, want %v", names, want)
	}
}

// The document's number collection response and its ?patch=true example,
// verbatim (the document's HTTP framing lines stripped).
const (
	docAccountGUID = "26DF146A-02E3-4A25-AE3F-08FE87DE6674"
	docNumberGUID  = "E6134D37-104E-4320-AEE8-030300F3BF1A"
	docNumbersBody = `[{
"guid": "E6134D37-104E-4320-AEE8-030300F3BF1A",
"number": "6499740205",
"assigned": "dave@dcom",
"is-pilot": true,
"alert-info": "dr4",
"account-code": "",
"_links": {
"self": {
"href": "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674/number/E6134D37-104E-4320-AEE8-030300F3BF1A"
},
"parent": {
"href": "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674"
}
}
}]`
	docPatchBody     = `{ "alert-info":null }`
	docPatchResponse = `[{
"guid": "E6134D37-104E-4320-AEE8-030300F3BF1A",
"number": "6499740205",
"assigned": "dave@dcom",
"is-pilot": true,
"alert-info": "",
"account-code": "",
"_links": {
"self": {
"href": "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674/number/E6134D37-104E-4320-AEE8-030300F3BF1A"
},
"parent": {
"href": "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674"
}
}
}]`
)

// sameAsDocument compares a response body with the document's body: the
// same records with the same values. The server also shows the number's
// "cfa" field, which OPTIONS documents but the example omits; it is
// allowed only with its empty default. Keys must come in the document's
// order.
func sameAsDocument(t *testing.T, r *response, docBody string) {
	t.Helper()
	var want []map[string]any
	if err := json.Unmarshal([]byte(docBody), &want); err != nil {
		t.Fatal(err)
	}
	got := r.records(t)
	if len(got) != len(want) {
		t.Fatalf("%v\ngot %d records, want %d", r, len(got), len(want))
	}
	for i := range want {
		g := map[string]any{}
		for k, v := range got[i] {
			g[k] = v
		}
		if cfa, ok := g["cfa"]; ok {
			if cfa != "" {
				t.Errorf("record %d: cfa = %#v, want \"\"", i, cfa)
			}
			delete(g, "cfa")
		}
		if !reflect.DeepEqual(g, want[i]) {
			gb, _ := json.MarshalIndent(g, "", "  ")
			wb, _ := json.MarshalIndent(want[i], "", "  ")
			t.Errorf("record %d differs from the document\ngot:  %s\nwant: %s", i, gb, wb)
		}
	}
	// Field order as in the document (cfa, when shown, sits anywhere).
	wantOrder := []string{"guid", "number", "assigned", "is-pilot", "alert-info", "account-code", "_links"}
	if got := topLevelKeys(t, r.Body); !reflect.DeepEqual(without(got, "cfa"), wantOrder) {
		t.Errorf("field order %v, want the document's %v", got, wantOrder)
	}
}

// topLevelKeys lists the keys of the first object of a JSON array in the
// order they appear.
func topLevelKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		t.Fatalf("body does not start with [: %v %v", tok, err)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("first element is not an object: %v %v", tok, err)
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// TestDocumentNumberExamples reproduces the document's number response and
// its "PUT …?patch=true" with { "alert-info":null } example byte for byte
// in content: the same GUIDs (created with PUT on …/{guid}), the same
// account (dave@dcom) and the same values.
func TestDocumentNumberExamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acc := e.must(http.StatusCreated, "PUT", "/api-sys/account/"+docAccountGUID, `{"username":"dave@dcom"}`).one(t)
	if g := str(t, acc, "guid"); g != docAccountGUID {
		t.Fatalf("PUT /api-sys/account/{guid} created guid %s, want %s", g, docAccountGUID)
	}
	e.must(http.StatusCreated, "PUT", "/api-sys/account/"+docAccountGUID+"/number/"+docNumberGUID,
		`{"number":"6499740205","is-pilot":true,"alert-info":"dr4"}`)

	sameAsDocument(t, e.must(http.StatusOK, "GET", "/api-sys/account/"+docAccountGUID+"/number", ""), docNumbersBody)

	r := e.must(http.StatusOK, "PUT", "/api-sys/account/"+docAccountGUID+"/number/"+docNumberGUID+"?patch=true", docPatchBody)
	sameAsDocument(t, r, docPatchResponse)
	// And it stuck.
	sameAsDocument(t, e.must(http.StatusOK, "GET", "/api-sys/account/"+docAccountGUID+"/number/"+docNumberGUID, ""), docPatchResponse)
}

// ---------------------------------------------------------------------
// Accounts.

// TestAccountListIsLean: GET /api-sys/account lists guid, username,
// parent and _links only; the single record is verbose.
func TestAccountListIsLean(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := len(e.get("/api-sys/account")) // the system accounts
	top := e.createAccount("lean.test", "")
	e.createAccount("kid@lean.test", "lean.test")

	recs := e.get("/api-sys/account")
	byName := map[string]map[string]any{}
	for _, r := range recs {
		if got, want := keys(r), []string{"_links", "guid", "parent", "username"}; !reflect.DeepEqual(got, want) {
			t.Errorf("lean list record %v has keys %v, want %v", r["username"], got, want)
		}
		byName[str(t, r, "username")] = r
	}
	for _, u := range []string{"admin", poolAccount, "_prompt.shared", "lean.test", "kid@lean.test"} {
		if byName[u] == nil {
			t.Errorf("account list lacks %s", u)
		}
	}
	if len(recs) != base+2 {
		t.Errorf("account list has %d records, want %d", len(recs), base+2)
	}
	kid := byName["kid@lean.test"]
	if kid != nil && kid["parent"] != top["guid"] {
		t.Errorf("kid parent = %v, want %v", kid["parent"], top["guid"])
	}

	// The child listing is lean too.
	for _, r := range e.get("/api-sys/account/lean.test/child") {
		if got, want := keys(r), []string{"_links", "guid", "parent", "username"}; !reflect.DeepEqual(got, want) {
			t.Errorf("lean child record has keys %v, want %v", got, want)
		}
	}

	// The single record is verbose: every documented field but the
	// write-only password.
	one := e.must(http.StatusOK, "GET", "/api-sys/account/lean.test", "").one(t)
	want := []string{"_links", "area_code", "callerid", "cfna_active", "cfna_dest", "cfna_duration", "concurrent_limit",
		"country_code", "dnd", "enabled", "guid", "hold_prompt", "parent", "pickup_group", "private", "timezone", "ums_pin", "username"}
	if got := keys(one); !reflect.DeepEqual(got, want) {
		t.Errorf("verbose account keys %v, want %v", got, want)
	}
	defaults := map[string]any{"enabled": true, "cfna_duration": 20.0, "cfna_dest": "", "cfna_active": false, "dnd": false,
		"pickup_group": "", "ums_pin": "", "concurrent_limit": 0.0, "private": false, "callerid": true,
		"timezone": "", "country_code": "", "area_code": "", "parent": "", "hold_prompt": ""}
	for k, v := range defaults {
		if one[k] != v {
			t.Errorf("new account %s = %#v, want default %#v", k, one[k], v)
		}
	}
}

// TestAccountByUsernameOrGUID: an account is named by GUID (any case) or
// by username (any case); both give the same record.
func TestAccountByUsernameOrGUID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acc := e.createAccount("alice@example.net", "")
	guid := str(t, acc, "guid")
	for _, id := range []string{guid, strings.ToLower(guid), "alice@example.net", "Alice@Example.NET"} {
		got := e.must(http.StatusOK, "GET", "/api-sys/account/"+id, "").one(t)
		if got["guid"] != guid || got["username"] != "alice@example.net" {
			t.Errorf("GET /api-sys/account/%s = %v/%v, want %s/alice@example.net", id, got["guid"], got["username"], guid)
		}
	}
	e.must(http.StatusNotFound, "GET", "/api-sys/account/bob@example.net", "").wantError(t, http.StatusNotFound)
	e.must(http.StatusNotFound, "GET", "/api-sys/account/"+"00000000-0000-0000-0000-000000000000", "")
}

// TestAccountChildCreate: children are created through …/child or by
// naming "parent" (GUID or username) in the body of PUT /api-sys/account/.
func TestAccountChildCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	top := e.createAccount("tree.test", "")
	topGUID := str(t, top, "guid")
	if top["parent"] != "" || href(top, "parent") != "" {
		t.Errorf("top-level account has parent %v / link %q, want none", top["parent"], href(top, "parent"))
	}

	viaPath := e.must(http.StatusCreated, "PUT", "/api-sys/account/tree.test/child", `{"username":"a@tree.test"}`)
	a := viaPath.one(t)
	viaName := e.must(http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"b@tree.test","parent":"tree.test"}`).one(t)
	viaGUID := e.must(http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"c@tree.test","parent":"`+strings.ToLower(topGUID)+`"}`).one(t)
	for _, c := range []map[string]any{a, viaName, viaGUID} {
		if c["parent"] != topGUID {
			t.Errorf("%v: parent = %v, want %s", c["username"], c["parent"], topGUID)
		}
		if got, want := href(c, "parent"), "/api-sys/account/"+topGUID; got != want {
			t.Errorf("%v: parent link %q, want %q", c["username"], got, want)
		}
		if got, want := href(c, "self"), "/api-sys/account/"+str(t, c, "guid"); got != want {
			t.Errorf("%v: self link %q, want %q", c["username"], got, want)
		}
	}
	if loc := viaPath.Header.Get("Location"); loc != "/api-sys/account/"+str(t, a, "guid") {
		t.Errorf("child create Location %q, want /api-sys/account/%s", loc, a["guid"])
	}

	kids := e.get("/api-sys/account/" + topGUID + "/child")
	if len(kids) != 3 {
		t.Fatalf("tree.test has %d children, want 3", len(kids))
	}
	// A grandchild is not a child.
	e.must(http.StatusCreated, "PUT", "/api-sys/account/a@tree.test/child", `{"username":"x@a.tree.test"}`)
	if n := len(e.get("/api-sys/account/tree.test/child")); n != 3 {
		t.Errorf("after adding a grandchild tree.test lists %d children, want 3", n)
	}
	// Single child by GUID or username under the right parent; not under
	// the wrong one.
	e.must(http.StatusOK, "GET", "/api-sys/account/tree.test/child/a@tree.test", "")
	e.must(http.StatusOK, "GET", "/api-sys/account/tree.test/child/"+str(t, a, "guid"), "")
	e.must(http.StatusNotFound, "GET", "/api-sys/account/b@tree.test/child/a@tree.test", "")

	// A body parent that contradicts the path is refused, nothing created.
	e.must(http.StatusBadRequest, "PUT", "/api-sys/account/tree.test/child", `{"username":"d@tree.test","parent":"b@tree.test"}`)
	e.must(http.StatusNotFound, "GET", "/api-sys/account/d@tree.test", "")
	// A parent that does not exist: 404, nothing created.
	r := e.do("PUT", "/api-sys/account/", `{"username":"e@tree.test","parent":"nosuch.test"}`)
	if r.Status != http.StatusNotFound && r.Status != http.StatusBadRequest {
		t.Errorf("%v\nwant 404 (or 400) for a missing parent", r)
	}
	e.must(http.StatusNotFound, "GET", "/api-sys/account/e@tree.test", "")
	e.must(http.StatusNotFound, "PUT", "/api-sys/account/nosuch.test/child", `{"username":"f@tree.test"}`)
	e.must(http.StatusNotFound, "GET", "/api-sys/account/f@tree.test", "")
}

// TestAccountGeneratedPassword: an account created without a password gets
// a strong one, shown in the create response only; it works for login
// and no GET ever shows a password.
func TestAccountGeneratedPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.createAccount("gen.test", "")
	pw, ok := created["password"].(string)
	if !ok || len(pw) < 16 {
		t.Fatalf("create response password = %#v, want a generated password of 16+ characters", created["password"])
	}
	other := e.createAccount("gen2.test", "")
	if other["password"] == pw {
		t.Errorf("two accounts got the same generated password %q", pw)
	}
	for _, target := range []string{"/api-sys/account/gen.test", "/api-sys/account", "/api-sys/account/" + str(t, created, "guid")} {
		for _, rec := range e.get(target) {
			if _, ok := rec["password"]; ok {
				t.Errorf("GET %s shows a password: %v", target, rec)
			}
		}
		if r := e.do("GET", target, ""); bytes.Contains(r.Body, []byte(pw)) || bytes.Contains(r.Body, []byte("argon2")) {
			t.Errorf("GET %s leaks the password or its hash: %s", target, r.Body)
		}
	}
	// An update does not echo or regenerate the password.
	upd := e.must(http.StatusOK, "PATCH", "/api-sys/account/gen.test", `{"cfna_duration":30}`).one(t)
	if _, ok := upd["password"]; ok {
		t.Errorf("PATCH response shows a password: %v", upd)
	}
	upd = e.must(http.StatusOK, "PUT", "/api-sys/account/gen.test", `{"password":"Chosen-pass-123"}`).one(t)
	if _, ok := upd["password"]; ok {
		t.Errorf("PUT of a password echoes it: %v", upd)
	}
	// A given password is the one that is set (checked by logging in).
	e.must(http.StatusCreated, "PUT", "/api-sys/account/gen2.test/accountresource", `{"name":"api_access","value":"system"}`)
	e.mustAs("gen2.test", str(t, other, "password"), http.StatusOK, "GET", "/api-sys/", "")
	e.must(http.StatusCreated, "PUT", "/api-sys/account/gen.test/accountresource", `{"name":"api_access","value":"system"}`)
	e.mustAs("gen.test", "Chosen-pass-123", http.StatusOK, "GET", "/api-sys/", "")
	if r := e.doAs("gen.test", pw, "GET", "/api-sys/", ""); r.Status != http.StatusUnauthorized {
		t.Errorf("old generated password still works after a change: %v", r)
	}
	// A created account with a chosen password: the response shows what
	// was set? Either way, never a hash.
	r := e.must(http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"chosen.test","password":"Given-pass-456"}`)
	if bytes.Contains(r.Body, []byte("argon2")) {
		t.Errorf("create response leaks a hash: %s", r.Body)
	}
}

// TestAccountUsernames: usernames are unique (409, case-insensitively)
// and validated (400); nothing is written on either.
func TestAccountUsernames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("uniq.test", "")
	before := len(e.get("/api-sys/account"))

	e.must(http.StatusConflict, "PUT", "/api-sys/account/", `{"username":"uniq.test"}`).wantError(t, http.StatusConflict)
	e.must(http.StatusConflict, "PUT", "/api-sys/account/", `{"username":"UNIQ.test"}`)
	e.must(http.StatusConflict, "PUT", "/api-sys/account/", `{"username":"admin"}`)
	e.must(http.StatusConflict, "PUT", "/api-sys/account/", `{"username":"`+poolAccount+`"}`)

	for _, bad := range []string{"", " ", "has space.test", "a@b@c.test", "@nolocal.test", "nodomain@", "-lead.test",
		"trail-.test", "dot..dot.test", "semi;colon.test", "slash/name.test", "ümlaut.test", "x.test.", ".x.test",
		strings.Repeat("a", 300) + ".test"} {
		r := e.do("PUT", "/api-sys/account/", jsonBody(t, map[string]any{"username": bad}))
		r.wantError(t, http.StatusBadRequest)
	}
	// Missing username.
	e.must(http.StatusBadRequest, "PUT", "/api-sys/account/", `{"cfna_duration":10}`).wantError(t, http.StatusBadRequest, "username")
	// Usernames are stored lower case.
	if u := e.createAccount("MiXeD@Case.Test", "")["username"]; u != "mixed@case.test" {
		t.Errorf("username stored as %v, want mixed@case.test", u)
	}
	if after := len(e.get("/api-sys/account")); after != before+1 {
		t.Errorf("account count went from %d to %d, want +1 (only the valid create)", before, after)
	}
	// Renaming onto an existing username is a conflict too.
	e.must(http.StatusConflict, "PATCH", "/api-sys/account/mixed@case.test", `{"username":"uniq.test","password":"Another-pass-1"}`)
	e.must(http.StatusOK, "GET", "/api-sys/account/mixed@case.test", "")
}

// TestAccountDeleteWithChildren: an account with children cannot be
// deleted (409) and stays; once childless it can.
func TestAccountDeleteWithChildren(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("parent.test", "")
	e.createAccount("kid@parent.test", "parent.test")
	e.must(http.StatusConflict, "DELETE", "/api-sys/account/parent.test", "").wantError(t, http.StatusConflict)
	e.must(http.StatusOK, "GET", "/api-sys/account/parent.test", "")
	e.must(http.StatusOK, "GET", "/api-sys/account/kid@parent.test", "")

	r := e.must(http.StatusOK, "DELETE", "/api-sys/account/parent.test/child/kid@parent.test", "")
	if recs := r.records(t); len(recs) != 0 {
		t.Errorf("DELETE answered %d records, want an empty array", len(recs))
	}
	e.must(http.StatusNotFound, "GET", "/api-sys/account/kid@parent.test", "")
	e.must(http.StatusOK, "DELETE", "/api-sys/account/parent.test", "")
	e.must(http.StatusNotFound, "GET", "/api-sys/account/parent.test", "")
	e.must(http.StatusNotFound, "DELETE", "/api-sys/account/parent.test", "")
}

// TestAccountDeleteReturnsNumbers: deleting an account returns all its
// numbers to _unassigned.pool (none is lost), with their settings cleared.
func TestAccountDeleteReturnsNumbers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("gone.test", "")
	own := e.createNumber("gone.test", "6491110001")
	e.must(http.StatusOK, "PATCH", "/api-sys/account/gone.test/number/"+str(t, own, "guid"),
		`{"alert-info":"dr4","cfa":"6491110099","is-pilot":true,"account-code":"x1"}`)
	pooled := e.createNumber(poolAccount, "6491110002")
	e.must(http.StatusOK, "PUT", "/api-sys/account/gone.test/number/"+str(t, pooled, "guid"), "")
	e.must(http.StatusCreated, "PUT", "/api-sys/account/gone.test/accountresource", `{"name":"note","value":"x"}`)

	e.must(http.StatusOK, "DELETE", "/api-sys/account/gone.test", "")
	e.must(http.StatusNotFound, "GET", "/api-sys/account/gone.test", "")

	pool := map[string]map[string]any{}
	for _, r := range e.get("/api-sys/account/" + poolAccount + "/number") {
		pool[str(t, r, "number")] = r
	}
	for _, n := range []string{"6491110001", "6491110002"} {
		r := pool[n]
		if r == nil {
			t.Errorf("number %s is not in the pool after its account was deleted", n)
			continue
		}
		if r["assigned"] != poolAccount || r["alert-info"] != "" || r["cfa"] != "" || r["is-pilot"] != false || r["account-code"] != "" {
			t.Errorf("returned number %s = %v, want assigned to the pool with settings cleared", n, r)
		}
	}
	if pool["6491110001"] != nil && pool["6491110001"]["guid"] != own["guid"] {
		t.Errorf("returned number changed GUID: %v, want %v", pool["6491110001"]["guid"], own["guid"])
	}
	// They are free for the next customer.
	e.createAccount("next.test", "")
	e.must(http.StatusOK, "PUT", "/api-sys/account/next.test/number/"+str(t, own, "guid"), "")
}

// TestSystemAccountsCannotBeDeleted: _unassigned.pool, _prompt.shared and
// admin refuse DELETE and stay.
func TestSystemAccountsCannotBeDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, u := range []string{poolAccount, "_prompt.shared", "admin"} {
		r := e.do("DELETE", "/api-sys/account/"+u, "")
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%v\nwant a 4xx refusal", r)
		} else {
			r.errorText(t)
		}
		e.must(http.StatusOK, "GET", "/api-sys/account/"+u, "")
	}
	// admin still works.
	e.must(http.StatusOK, "GET", "/api-sys/", "")
}

// TestAccountDeleteChildOfMissingParent: DELETE …/account/{parent}/child/
// {id} must only delete a child of that parent; a parent that does not
// exist is 404 and the named account stays.
func TestAccountDeleteChildOfMissingParent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("victim.test", "")
	r := e.do("DELETE", "/api-sys/account/nosuch.test/child/victim.test", "")
	r.wantError(t, http.StatusNotFound)
	e.must(http.StatusOK, "GET", "/api-sys/account/victim.test", "")
}

// TestAccountUpdates: partial updates of accounts, moves, null resets.
func TestAccountUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("upd.test", "")
	e.createAccount("other.test", "")
	e.createAccount("kid@upd.test", "upd.test")

	r := e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@upd.test",
		`{"cfna_duration":15,"cfna_dest":"6499650085","cfna_active":true,"pickup_group":"Alpha","ums_pin":"5676",
		  "concurrent_limit":2,"private":1,"callerid":false,"timezone":"Pacific/Auckland","country_code":"64","area_code":"9"}`)
	got := r.one(t)
	want := map[string]any{"cfna_duration": 15.0, "cfna_dest": "6499650085", "cfna_active": true, "pickup_group": "Alpha",
		"ums_pin": "5676", "concurrent_limit": 2.0, "private": true, "callerid": false, "timezone": "Pacific/Auckland",
		"country_code": "64", "area_code": "9", "enabled": true, "username": "kid@upd.test"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("after PATCH %s = %#v, want %#v", k, got[k], v)
		}
	}
	// GET agrees with the PATCH response.
	again := e.must(http.StatusOK, "GET", "/api-sys/account/kid@upd.test", "").one(t)
	if !reflect.DeepEqual(again, got) {
		t.Errorf("GET after PATCH = %v\nwant the PATCH response %v", again, got)
	}
	// cfna_dest accepts a username; timezone must be IANA.
	e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@upd.test", `{"cfna_dest":"upd.test"}`)
	for _, bad := range []string{`{"timezone":"Mars/Olympus"}`, `{"timezone":"Local"}`, `{"ums_pin":"12"}`,
		`{"ums_pin":"abcd"}`, `{"country_code":"+64"}`, `{"cfna_dest":"not a dest"}`, `{"concurrent_limit":-1}`} {
		e.must(http.StatusBadRequest, "PATCH", "/api-sys/account/kid@upd.test", bad)
	}
	// Null resets to defaults.
	reset := e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@upd.test",
		`{"cfna_duration":null,"callerid":null,"pickup_group":null,"timezone":null,"private":null}`).one(t)
	for k, v := range map[string]any{"cfna_duration": 20.0, "callerid": true, "pickup_group": "", "timezone": "", "private": false} {
		if reset[k] != v {
			t.Errorf("after null reset %s = %#v, want %#v", k, reset[k], v)
		}
	}
	// Moving an account under another parent via "parent".
	moved := e.must(http.StatusOK, "PATCH", "/api-sys/account/kid@upd.test", `{"parent":"other.test"}`).one(t)
	otherGUID := str(t, e.must(http.StatusOK, "GET", "/api-sys/account/other.test", "").one(t), "guid")
	if moved["parent"] != otherGUID || href(moved, "parent") != "/api-sys/account/"+otherGUID {
		t.Errorf("moved account parent %v link %q, want %s", moved["parent"], href(moved, "parent"), otherGUID)
	}
	if n := len(e.get("/api-sys/account/upd.test/child")); n != 0 {
		t.Errorf("old parent still lists %d children", n)
	}
	if n := len(e.get("/api-sys/account/other.test/child")); n != 1 {
		t.Errorf("new parent lists %d children, want 1", n)
	}
	// An account cannot be moved under itself or its descendant.
	e.createAccount("gk@kid.upd.test", "kid@upd.test")
	r = e.do("PATCH", "/api-sys/account/kid@upd.test", `{"parent":"gk@kid.upd.test"}`)
	if r.Status != http.StatusConflict && r.Status != http.StatusBadRequest {
		t.Errorf("%v\nwant 409 (or 400) for a move under a descendant", r)
	}
	if p := e.must(http.StatusOK, "GET", "/api-sys/account/kid@upd.test", "").one(t)["parent"]; p != otherGUID {
		t.Errorf("after refused move parent = %v, want %v", p, otherGUID)
	}
}

// TestAccountNullOnRequiredField: JSON null resets a field to its default,
// but a required field has no usable default: {"username": null} must not
// leave an account without a username.
func TestAccountNullOnRequiredField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("keep.test", "")
	r := e.do("PATCH", "/api-sys/account/keep.test", `{"username":null,"password":"New-pass-123"}`)
	r.wantError(t, http.StatusBadRequest)
	e.must(http.StatusOK, "GET", "/api-sys/account/keep.test", "")
}

// ---------------------------------------------------------------------
// Numbers.

// TestNumberCreateAndValidate: numbers are E.164 digits, unique (409),
// except a:-prefixed ones; invalid numbers are 400 and write nothing.
func TestNumberCreateAndValidate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createAccount("numa.test", "")
	e.createAccount("numb.test", "")

	n := e.createNumber("numa.test", "6491231234")
	wantRec := map[string]any{"number": "6491231234", "assigned": "numa.test", "is-pilot": false, "cfa": "",
		"alert-info": "", "account-code": ""}
	for k, v := range wantRec {
		if n[k] != v {
			t.Errorf("new number %s = %#v, want %#v", k, n[k], v)
		}
	}
	if got, want := href(n, "parent"), "/api-sys/account/"+str(t, a, "guid"); got != want {
		t.Errorf("number parent link %q, want %q", got, want)
	}

	// Duplicates: same account, other account, other body spelling.
	e.must(http.StatusConflict, "PUT", "/api-sys/account/numa.test/number", `{"number":"6491231234"}`).wantError(t, http.StatusConflict)
	e.must(http.StatusConflict, "PUT", "/api-sys/account/numb.test/number", `{"number":"6491231234"}`)
	e.must(http.StatusConflict, "PUT", "/api-sys/account/numb.test/number", `{"number":" 6491231234 "}`)
	// Changing another number onto it is a conflict as well.
	m := e.createNumber("numb.test", "6491231235")
	e.must(http.StatusConflict, "PATCH", "/api-sys/account/numb.test/number/"+str(t, m, "guid"), `{"number":"6491231234"}`)
	if got := e.must(http.StatusOK, "GET", "/api-sys/account/numb.test/number/"+str(t, m, "guid"), "").one(t)["number"]; got != "6491231235" {
		t.Errorf("after refused change number = %v, want 6491231235", got)
	}

	// a: numbers may repeat, also alongside the plain number.
	e.createNumber("numa.test", "a:6499000001")
	e.createNumber("numb.test", "a:6499000001")
	e.createNumber("numb.test", "a:6491231234")

	for _, bad := range []string{"", "+6491231234", "0912345678", "64-9123", "12", "1234567890123456", "abc", "a:", "a:+649", "b:6491231234", "6491231234x"} {
		r := e.do("PUT", "/api-sys/account/numa.test/number", jsonBody(t, map[string]any{"number": bad}))
		r.wantError(t, http.StatusBadRequest)
	}
	e.must(http.StatusBadRequest, "PUT", "/api-sys/account/numa.test/number", `{"cfa":"6491231299"}`).wantError(t, http.StatusBadRequest, "number")
	e.must(http.StatusBadRequest, "PUT", "/api-sys/account/numa.test/number", `{"number":"6491231236","cfa":"+64"}`)
	e.must(http.StatusBadRequest, "PUT", "/api-sys/account/numa.test/number", `{"number":"6491231236","assigned":"numb.test"}`).wantError(t, http.StatusBadRequest, "assigned")

	if got, want := e.numbersOf("numa.test"), []string{"6491231234", "a:6499000001"}; !reflect.DeepEqual(got, want) {
		t.Errorf("numa.test numbers %v, want %v", got, want)
	}
	if got, want := e.numbersOf("numb.test"), []string{"6491231235", "a:6491231234", "a:6499000001"}; !reflect.DeepEqual(got, want) {
		t.Errorf("numb.test numbers %v, want %v", got, want)
	}
	// A number on a missing account: 404.
	e.must(http.StatusNotFound, "PUT", "/api-sys/account/nosuch.test/number", `{"number":"6491231237"}`)
	e.must(http.StatusNotFound, "GET", "/api-sys/account/nosuch.test/number", "")
}

// TestNumberDeleteOwn: deleting a number that did not come from the pool
// removes it; the number can then be created again.
func TestNumberDeleteOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("del.test", "")
	n := e.createNumber("del.test", "6492220001")
	e.must(http.StatusOK, "DELETE", "/api-sys/account/del.test/number/"+str(t, n, "guid"), "")
	e.must(http.StatusNotFound, "GET", "/api-sys/account/del.test/number/"+str(t, n, "guid"), "")
	e.must(http.StatusNotFound, "DELETE", "/api-sys/account/del.test/number/"+str(t, n, "guid"), "")
	for _, r := range e.get("/api-sys/account/" + poolAccount + "/number") {
		if r["number"] == "6492220001" {
			t.Errorf("a number created by the account went to the pool on delete: %v", r)
		}
	}
	e.createNumber("del.test", "6492220001")
}

// TestNumberPoolAllocation: numberallocate lists the pool's free numbers;
// PUT …/number/{pool guid} with no body moves one to the account; DELETE
// returns it to the pool with its per-number settings cleared.
func TestNumberPoolAllocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acc := e.createAccount("alloc.test", "")
	accGUID := str(t, acc, "guid")
	p1 := e.createNumber(poolAccount, "6493330088")
	e.createNumber(poolAccount, "6493330077")
	poolGUID := str(t, e.must(http.StatusOK, "GET", "/api-sys/account/"+poolAccount, "").one(t), "guid")

	free := e.get("/api-sys/account/alloc.test/numberallocate")
	if len(free) != 2 {
		t.Fatalf("numberallocate lists %d numbers, want 2", len(free))
	}
	for _, f := range free {
		if f["assigned"] != poolAccount {
			t.Errorf("numberallocate record assigned %v, want %s", f["assigned"], poolAccount)
		}
		// Links point at the canonical number path of the pool account.
		if got, want := href(f, "self"), "/api-sys/account/"+poolGUID+"/number/"+str(t, f, "guid"); got != want {
			t.Errorf("numberallocate self link %q, want %q", got, want)
		}
	}

	guid := str(t, p1, "guid")
	r := e.do("PUT", "/api-sys/account/alloc.test/number/"+guid, "")
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("%v\nwant 200 for allocating a pool number", r)
	}
	got := r.one(t)
	if got["guid"] != guid || got["number"] != "6493330088" || got["assigned"] != "alloc.test" {
		t.Errorf("allocated number = %v, want guid %s number 6493330088 assigned alloc.test", got, guid)
	}
	if want := "/api-sys/account/" + accGUID + "/number/" + guid; href(got, "self") != want {
		t.Errorf("allocated number self link %q, want %q", href(got, "self"), want)
	}
	for _, f := range e.get("/api-sys/account/alloc.test/numberallocate") {
		if f["guid"] == guid {
			t.Errorf("numberallocate still lists the allocated number %v", f)
		}
	}
	if got := e.numbersOf("alloc.test"); !reflect.DeepEqual(got, []string{"6493330088"}) {
		t.Errorf("alloc.test numbers %v, want [6493330088]", got)
	}
	if got := e.numbersOf(poolAccount); !reflect.DeepEqual(got, []string{"6493330077"}) {
		t.Errorf("pool numbers %v, want [6493330077]", got)
	}
	// Allocating again is a no-op update, not a duplicate.
	e.must(http.StatusOK, "PUT", "/api-sys/account/alloc.test/number/"+guid, "")

	// Per-number settings made by the customer...
	e.must(http.StatusOK, "PATCH", "/api-sys/account/alloc.test/number/"+guid,
		`{"is-pilot":true,"cfa":"6491231299","alert-info":"dr4","account-code":"cust-7"}`)
	// ... are cleared when the number goes back.
	e.must(http.StatusOK, "DELETE", "/api-sys/account/alloc.test/number/"+guid, "")
	e.must(http.StatusNotFound, "GET", "/api-sys/account/alloc.test/number/"+guid, "")
	back := e.must(http.StatusOK, "GET", "/api-sys/account/"+poolAccount+"/number/"+guid, "").one(t)
	want := map[string]any{"guid": guid, "number": "6493330088", "assigned": poolAccount, "is-pilot": false,
		"cfa": "", "alert-info": "", "account-code": ""}
	for k, v := range want {
		if back[k] != v {
			t.Errorf("returned number %s = %#v, want %#v", k, back[k], v)
		}
	}
	listed := false
	for _, f := range e.get("/api-sys/account/alloc.test/numberallocate") {
		listed = listed || f["guid"] == guid
	}
	if !listed {
		t.Errorf("numberallocate does not list the returned number")
	}
	// A pool number cannot be created twice by value: it must be allocated.
	e.must(http.StatusConflict, "PUT", "/api-sys/account/alloc.test/number", `{"number":"6493330088"}`)
	// numberallocate is read-only.
	e.must(http.StatusMethodNotAllowed, "PUT", "/api-sys/account/alloc.test/numberallocate", `{"number":"6493330099"}`)
}

// TestNumberOfAnotherAccountCannotBeTaken: PUT/PATCH of another (non-pool)
// account's number GUID under a different account is 409 and moves
// nothing.
func TestNumberOfAnotherAccountCannotBeTaken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("owner.test", "")
	e.createAccount("thief.test", "")
	n := e.createNumber("owner.test", "6494440001")
	guid := str(t, n, "guid")
	e.must(http.StatusConflict, "PUT", "/api-sys/account/thief.test/number/"+guid, "").wantError(t, http.StatusConflict)
	e.must(http.StatusConflict, "PUT", "/api-sys/account/thief.test/number/"+guid, `{"alert-info":"x"}`)
	r := e.do("PATCH", "/api-sys/account/thief.test/number/"+guid, `{"alert-info":"x"}`)
	if r.Status != http.StatusConflict && r.Status != http.StatusNotFound {
		t.Errorf("%v\nwant 409 (or 404)", r)
	}
	// Nor can the pool take it back by PUT.
	e.must(http.StatusConflict, "PUT", "/api-sys/account/"+poolAccount+"/number/"+guid, "")
	// Nor can the thief see or delete it.
	e.must(http.StatusNotFound, "GET", "/api-sys/account/thief.test/number/"+guid, "")
	e.must(http.StatusNotFound, "DELETE", "/api-sys/account/thief.test/number/"+guid, "")

	got := e.must(http.StatusOK, "GET", "/api-sys/account/owner.test/number/"+guid, "").one(t)
	if got["assigned"] != "owner.test" || got["alert-info"] != "" {
		t.Errorf("owner's number changed: %v", got)
	}
	if got := e.numbersOf("thief.test"); len(got) != 0 {
		t.Errorf("thief.test has numbers %v, want none", got)
	}
}

// TestNumberNullOnRequiredField: {"number": null} must not leave a number
// record without a number.
func TestNumberNullOnRequiredField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("nn.test", "")
	n := e.createNumber("nn.test", "6495550001")
	r := e.do("PATCH", "/api-sys/account/nn.test/number/"+str(t, n, "guid"), `{"number":null}`)
	r.wantError(t, http.StatusBadRequest)
	if got := e.numbersOf("nn.test"); !reflect.DeepEqual(got, []string{"6495550001"}) {
		t.Errorf("numbers after refused null = %v, want [6495550001]", got)
	}
}

// TestNumberConcurrentPut: two concurrent PUTs of the same number give
// exactly one 2xx and one 409, and exactly one record; repeated with 20
// numbers, both racing from a shared start.
func TestNumberConcurrentPut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("race1.test", "")
	e.createAccount("race2.test", "")
	// Warm the credential cache so the race is on the write, not the hash.
	e.must(http.StatusOK, "GET", "/api-sys/", "")
	for i := 0; i < 20; i++ {
		number := fmt.Sprintf("64966600%02d", i)
		start := make(chan struct{})
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		bodies := make([]string, 2)
		for j, acc := range []string{"race1.test", "race2.test"} {
			req := e.newRequest("PUT", "/api-sys/account/"+acc+"/number", `{"number":"`+number+`"}`)
			req.SetBasicAuth(adminUser, adminPassword)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					bodies[j] = err.Error()
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				statuses[j], bodies[j] = res.StatusCode, string(b)
			}()
		}
		close(start)
		wg.Wait()
		ok, conflict := 0, 0
		for _, s := range statuses {
			switch {
			case s >= 200 && s < 300:
				ok++
			case s == http.StatusConflict:
				conflict++
			}
		}
		if ok != 1 || conflict != 1 {
			t.Errorf("number %s: statuses %v (%q), want one 2xx and one 409", number, statuses, bodies)
		}
	}
	all := append(e.numbersOf("race1.test"), e.numbersOf("race2.test")...)
	sort.Strings(all)
	if len(all) != 20 {
		t.Errorf("after 20 races there are %d numbers, want 20: %v", len(all), all)
	}
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Errorf("number %s exists twice", all[i])
		}
	}
}

// TestAccountResource: name/value pairs, addressed by GUID or name.
func TestAccountResource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("res.test", "")
	r := e.must(http.StatusCreated, "PUT", "/api-sys/account/res.test/accountresource", `{"name":"Color","value":"blue"}`).one(t)
	if r["name"] != "color" || r["value"] != "blue" {
		t.Errorf("accountresource = %v, want name color value blue", r)
	}
	e.must(http.StatusOK, "GET", "/api-sys/account/res.test/accountresource/color", "")
	e.must(http.StatusOK, "GET", "/api-sys/account/res.test/accountresource/"+str(t, r, "guid"), "")
	upd := e.must(http.StatusOK, "PATCH", "/api-sys/account/res.test/accountresource/color", `{"value":"red"}`).one(t)
	if upd["value"] != "red" || upd["guid"] != r["guid"] {
		t.Errorf("after PATCH accountresource = %v", upd)
	}
	// PUT on …/{name} creates the named resource.
	c := e.must(http.StatusCreated, "PUT", "/api-sys/account/res.test/accountresource/size", `{"value":"L"}`).one(t)
	if c["name"] != "size" {
		t.Errorf("PUT …/accountresource/size created name %v", c["name"])
	}
	// Names are unique per account.
	e.must(http.StatusConflict, "PUT", "/api-sys/account/res.test/accountresource", `{"name":"color","value":"x"}`)
	e.must(http.StatusBadRequest, "PUT", "/api-sys/account/res.test/accountresource", `{"name":"api_access","value":"root"}`)
	if n := len(e.get("/api-sys/account/res.test/accountresource")); n != 2 {
		t.Errorf("res.test has %d accountresources, want 2", n)
	}
	e.must(http.StatusOK, "DELETE", "/api-sys/account/res.test/accountresource/color", "")
	e.must(http.StatusNotFound, "GET", "/api-sys/account/res.test/accountresource/color", "")
}

// TestNumberConcurrentAllocation: two accounts allocating the same pool
// number at once: one gets it (200), the other 409; the number exists
// once, owned by the winner; none is lost.
func TestNumberConcurrentAllocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount("grab1.test", "")
	e.createAccount("grab2.test", "")
	e.must(http.StatusOK, "GET", "/api-sys/", "")
	const rounds = 10
	for i := 0; i < rounds; i++ {
		guid := str(t, e.createNumber(poolAccount, fmt.Sprintf("64955500%02d", i)), "guid")
		start := make(chan struct{})
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for j, acc := range []string{"grab1.test", "grab2.test"} {
			req := e.newRequest("PUT", "/api-sys/account/"+acc+"/number/"+guid, "")
			req.SetBasicAuth(adminUser, adminPassword)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if res, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					statuses[j] = res.StatusCode
				}
			}()
		}
		close(start)
		wg.Wait()
		sort.Ints(statuses)
		if statuses[0] != http.StatusOK || statuses[1] != http.StatusConflict {
			t.Errorf("round %d: statuses %v, want one 200 and one 409", i, statuses)
		}
	}
	got := append(e.numbersOf("grab1.test"), e.numbersOf("grab2.test")...)
	if len(got) != rounds {
		t.Errorf("the two accounts hold %d numbers, want %d: %v", len(got), rounds, got)
	}
	if pool := e.numbersOf(poolAccount); len(pool) != 0 {
		t.Errorf("pool still holds %v", pool)
	}
}
