package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"xc5/api"
	"xc5/media/wav"
	"xc5/routing"
	"xc5/storetest"
)

// The document, copied from the project's seed so that the test runs on a
// clone without it. Every request it shows is replayed from this text.
const documentFile = "testdata/xc5-json-system-provisioning.txt"

const adminPW = "walkthrough-admin"

type client struct {
	t   *testing.T
	url string
	// api checks every exchange against the OpenAPI document
	// (openapicheck_test.go).
	api *openAPIChecker
}

func newServer(t *testing.T) *client {
	t.Helper()
	check := newOpenAPIChecker(t)
	store := storetest.Open(t, adminPW)
	loc, _ := time.LoadLocation("Pacific/Auckland")
	view := routing.NewView(routing.Defaults{Location: loc, CountryCode: "64"})
	view.Follow(store)
	if err := view.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(check.wrap(api.New(store, api.Options{SessionKey: []byte("0123456789abcdef0123456789abcdef"), View: view})))
	t.Cleanup(srv.Close)
	return &client{t: t, url: srv.URL, api: check}
}

// do sends a request with the path and query exactly as written.
func (c *client) do(method, pathAndQuery, contentType string, body []byte) (*http.Response, []map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+"/", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	path, query, _ := strings.Cut(pathAndQuery, "?")
	req.URL.Path, req.URL.RawQuery = path, query
	req.URL.RawPath = ""
	req.SetBasicAuth("admin", adminPW)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, pathAndQuery, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/hal+json" {
		c.t.Errorf("%s %s: Content-Type %q, want application/hal+json", method, pathAndQuery, ct)
	}
	var out []map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("%s %s: body is not a JSON array of objects: %v\n%s", method, pathAndQuery, err, raw)
	}
	return resp, out
}

func (c *client) ok(method, path, body string) []map[string]any {
	c.t.Helper()
	resp, out := c.do(method, path, "application/json", []byte(body))
	if resp.StatusCode/100 != 2 {
		c.t.Fatalf("%s %s %s: status %d %v", method, path, body, resp.StatusCode, out)
	}
	return out
}

// testWAV is a short 8 kHz tone, a stand-in for the document's prompts.
func testWAV(seconds float64) []byte {
	n := int(seconds * 8000)
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return wav.Encode(s, 8000)
}

// upload sends the document's "form data of file".
func (c *client) upload(path string, audio []byte) []map[string]any {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "greeting.wav")
	fw.Write(audio)
	mw.Close()
	resp, out := c.do("PUT", path, mw.FormDataContentType(), buf.Bytes())
	if resp.StatusCode/100 != 2 {
		c.t.Fatalf("upload %s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

var execRE = regexp.MustCompile(`exec API '([A-Z]+) ([^']+)'(?:\s*,\s*'([^']*)')?`)

type docRequest struct {
	line               int
	method, path, body string
}

func documentRequests(t *testing.T) []docRequest {
	t.Helper()
	text, err := os.ReadFile(documentFile)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []docRequest
	for i, line := range strings.Split(string(text), "\n") {
		for _, m := range execRE.FindAllStringSubmatch(line, -1) {
			reqs = append(reqs, docRequest{line: i + 1, method: m[1], path: m[2], body: m[3]})
		}
	}
	return reqs
}

// sameValue compares a sent JSON value with what came back, allowing the
// document's integer strings and 0/1 booleans.
func sameValue(sent, got any) bool {
	switch s := sent.(type) {
	case string:
		if g, ok := got.(float64); ok {
			n, err := strconv.ParseFloat(s, 64)
			return err == nil && n == g
		}
		g, _ := got.(string)
		return strings.EqualFold(s, g)
	case float64:
		if g, ok := got.(bool); ok {
			return (s != 0) == g
		}
	case nil:
		return true
	}
	return fmt.Sprint(sent) == fmt.Sprint(got)
}

// TestDocumentVerbatim replays every request of the document, in order,
// against a fresh server, checking each response's shape and the fields the
// request mentions.
func TestDocumentVerbatim(t *testing.T) {
	c := newServer(t)
	doc, _ := os.ReadFile(documentFile)
	replayDocument(t, c)
	testHydraAccount(t, c, string(doc))
}

// replayDocument provisions everything the document shows, verbatim and in
// order, checking each answer; it returns the after-hours prompt's GUID.
func replayDocument(t *testing.T, c *client) string {
	t.Helper()
	doc, _ := os.ReadFile(documentFile)

	// "Paths" and "Requests": account 26DF146A… (dave@dcom) with number
	// E6134D37…, exactly as the document's example response shows it.
	c.ok("PUT", "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674", `{"username":"dave@dcom"}`)
	c.ok("PUT", "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674/number/E6134D37-104E-4320-AEE8-030300F3BF1A",
		`{"number":"6499740205","is-pilot":true,"alert-info":"dr4"}`)
	for _, p := range []string{"/api-sys/account", "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674",
		"/api-sys/account/dave@dcom", "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674/number",
		"/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674/number/E6134D37-104E-4320-AEE8-030300F3BF1A", "/api-sys/"} {
		c.ok("GET", p, "")
	}
	want := `{
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
}`
	if !strings.Contains(string(doc), want) {
		t.Fatal("the document's example response is not in testdata as expected")
	}
	var wantRec map[string]any
	json.Unmarshal([]byte(want), &wantRec)
	got := c.ok("GET", "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674/number", "")
	for k, v := range wantRec {
		if fmt.Sprint(got[0][k]) != fmt.Sprint(v) {
			t.Errorf("number example: %s = %v, want %v", k, got[0][k], v)
		}
	}
	got = c.ok("PUT", "/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674/number/E6134D37-104E-4320-AEE8-030300F3BF1A?patch=true", `{ "alert-info":null }`)
	if got[0]["alert-info"] != "" || got[0]["number"] != "6499740205" {
		t.Errorf("?patch=true with alert-info null: %v", got[0])
	}
	if resp, out := c.do("GET", "/api-sys/x", "", nil); resp.StatusCode != 404 || out[0]["error"] != "invalid path" {
		t.Errorf("GET /api-sys/x: %d %v", resp.StatusCode, out)
	}
	checkOptionsAgainstDocument(t, c, string(doc))

	// What the walkthrough assumes exists: a free pool number ending in 88
	// with the GUID it allocates, and the shared PIN prompt.
	c.ok("PUT", "/api-sys/account/_unassigned.pool/number/D5A51C5C-F762-4E82-8B3E-7CB15662D40C", `{"number":"6491231288"}`)
	c.ok("PUT", "/api-sys/account/_unassigned.pool/number", `{"number":"6491231299"}`)
	c.upload("/api-sys/account/_prompt.shared/prompt/F4FE3E59-0439-4849-9444-85BEFE8694B3", testWAV(1.5))

	var afterHours string
	for _, r := range documentRequests(t) {
		path, body := r.path, strings.TrimSpace(r.body)
		if afterHours != "" {
			body = strings.ReplaceAll(body, "ECB3B334-5F1D-4CD7-8446-675FC7476E31", afterHours)
		}
		name := fmt.Sprintf("line %d: %s %s", r.line, r.method, path)
		if body == "..form data of file..." {
			out := c.upload(path, testWAV(2.25))
			if out[0]["prompt_length"] != float64(2250) {
				t.Errorf("%s: prompt_length %v, want 2250", name, out[0]["prompt_length"])
			}
			continue
		}
		out := c.ok(r.method, path, body)
		if r.method == "GET" || body == "" {
			continue
		}
		var sent map[string]any
		if err := json.Unmarshal([]byte(body), &sent); err != nil {
			t.Fatalf("%s: the document's body does not parse: %v", name, err)
		}
		if len(out) != 1 {
			t.Fatalf("%s: %d records, want 1", name, len(out))
		}
		for k, v := range sent {
			if !sameValue(v, out[0][k]) {
				t.Errorf("%s: %s = %v, want %v", name, k, out[0][k], v)
			}
		}
		if links, _ := out[0]["_links"].(map[string]any); links["self"] == nil {
			t.Errorf("%s: no _links.self", name)
		}
		if strings.Contains(body, "After Hours Menu") {
			afterHours, _ = out[0]["guid"].(string)
			if ga, _ := out[0]["group_access"].(string); !regexp.MustCompile(`^\*22\d{5,}$`).MatchString(ga) {
				t.Errorf("%s: group_access %q, want *22 and digits", name, ga)
			}
		}
	}
	if afterHours == "" {
		t.Fatal("the after-hours prompt was never created")
	}

	// The state the document promises.
	reception := c.ok("GET", "/api-sys/account/reception@acmebrick.x.co.nz", "")[0]
	if reception["cfna_duration"] != float64(10) {
		t.Errorf("reception cfna_duration = %v, want 10", reception["cfna_duration"])
	}
	if company := c.ok("GET", "/api-sys/account/acmebrick.x.co.nz", "")[0]; company["pickup_group"] != "Alpha" {
		t.Errorf("pickup_group = %v, want Alpha", company["pickup_group"])
	}
	nums := c.ok("GET", "/api-sys/account/reception@acmebrick.x.co.nz/number", "")
	var list []string
	for _, n := range nums {
		list = append(list, n["number"].(string))
	}
	sort.Strings(list)
	if strings.Join(list, ",") != "6491231234,6491231288" {
		t.Errorf("reception numbers = %v, want the DDI and the allocated pool number", list)
	}
	if free := c.ok("GET", "/api-sys/account/reception@acmebrick.x.co.nz/numberallocate?filter=%88", ""); len(free) != 0 {
		t.Errorf("the allocated number is still offered: %v", free)
	}
	if routes := c.ok("GET", "/api-sys/account/main_entry@acmebrick.x.co.nz/route", ""); len(routes) != 7 {
		t.Errorf("main_entry has %d routes, want 7", len(routes))
	}
	locs := c.ok("GET", "/api-sys/location?filter=<CallR%", "")
	if len(locs) < 5 {
		t.Errorf("location?filter=<CallR%% found %d, want the shipped <CallRule-…> set", len(locs))
	}
	for _, l := range locs {
		if !strings.HasPrefix(l["name"].(string), "<CallR") {
			t.Errorf("filter <CallR%% matched %v", l["name"])
		}
	}
	return afterHours
}

// checkOptionsAgainstDocument compares OPTIONS /api-sys/account/*/number
// with the document's example answer.
func checkOptionsAgainstDocument(t *testing.T, c *client, doc string) {
	t.Helper()
	start := strings.Index(doc, "OPTIONS /api-sys/account/*/number\nHTTP/1.1 200\ncontent-type: application/hal+json\n")
	end := strings.Index(doc, "A business vPBX example")
	if start < 0 || end < 0 {
		t.Fatal("the document's OPTIONS example is not in testdata as expected")
	}
	block := doc[start:end]
	block = block[strings.Index(block, "["):]
	var want []struct {
		Description string
		Methods     []string
		Fields      map[string]map[string]string
	}
	if err := json.Unmarshal([]byte(block), &want); err != nil {
		t.Fatalf("document OPTIONS example: %v", err)
	}
	_, got := c.do("OPTIONS", "/api-sys/account/*/number", "", nil)
	if got[0]["description"] != want[0].Description {
		t.Errorf("OPTIONS description %v, want %v", got[0]["description"], want[0].Description)
	}
	if fmt.Sprint(got[0]["methods"]) != fmt.Sprint([]any{"GET", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
		t.Errorf("OPTIONS methods %v", got[0]["methods"])
	}
	fields, _ := got[0]["fields"].(map[string]any)
	for name, f := range want[0].Fields {
		g, _ := fields[name].(map[string]any)
		if g["type"] != f["type"] || g["description"] != f["description"] {
			t.Errorf("OPTIONS field %s = %v, want %v", name, g, f)
		}
	}
}

// testHydraAccount replays the document's HydraAccount example verbatim.
func testHydraAccount(t *testing.T, c *client, doc string) {
	t.Helper()
	i := strings.Index(doc, "PUT /api-sys/HydraAccount/6499878037\ncontent-type: application/json\n")
	j := strings.Index(doc, "GET the account 6499878037")
	if i < 0 || j < 0 {
		t.Fatal("HydraAccount example not found in testdata")
	}
	body := doc[i:j]
	body = body[strings.Index(body, "{") : strings.LastIndex(body, "}")+1]
	out := c.ok("PUT", "/api-sys/HydraAccount/6499878037", body)
	if out[0]["password"] != "5gjgosk2@#" || out[0]["cfna_dest"] != "6499650085" || out[0]["cfna_active"] != true ||
		out[0]["ums_pin"] != "5676" || out[0]["concurrent_limit"] != float64(2) || out[0]["private"] != true || out[0]["callerid"] != true {
		t.Errorf("HydraAccount PUT answered %v", out[0])
	}
	got := c.ok("GET", "/api-sys/hydraaccount/6499878037", "")
	if _, ok := got[0]["password"]; ok || got[0]["number"] != "6499878037" || got[0]["ums_pin"] != "5676" {
		t.Errorf("HydraAccount GET = %v", got[0])
	}
	// It is an ordinary account and number underneath.
	acct := c.ok("GET", "/api-sys/account/6499878037", "")[0]
	if acct["cfna_dest"] != "6499650085" || acct["concurrent_limit"] != float64(2) {
		t.Errorf("underlying account = %v", acct)
	}
	if n := c.ok("GET", "/api-sys/account/6499878037/number", ""); len(n) != 1 || n[0]["number"] != "6499878037" {
		t.Errorf("underlying number = %v", n)
	}
	c.ok("PATCH", "/api-sys/hydraaccount/6499878037", `{"ums_pin":null}`)
	if got := c.ok("GET", "/api-sys/hydraaccount/6499878037", ""); got[0]["ums_pin"] != "" {
		t.Errorf("ums_pin null did not remove the mailbox: %v", got[0])
	}
	c.ok("OPTIONS", "/api-sys/hydraaccount", "")
	c.ok("DELETE", "/api-sys/hydraaccount/6499878037", "")
	for _, p := range []string{"/api-sys/hydraaccount/6499878037", "/api-sys/account/6499878037"} {
		if resp, _ := c.do("GET", p, "", nil); resp.StatusCode != 404 {
			t.Errorf("GET %s after DELETE: %d, want 404", p, resp.StatusCode)
		}
	}
}
