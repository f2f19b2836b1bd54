package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"xc5/api"
	"xc5/resource"
)

// createBodies are minimal valid records, for the resources a client
// creates with PUT on the collection.
var createBodies = map[string]string{
	"account":         `{"username":"openapi.test"}`,
	"child":           `{"username":"oc@acmebrick.x.co.nz"}`,
	"accountresource": `{"name":"openapi_note","value":"x"}`,
	"number":          `{"number":"6491239998"}`,
	"route":           `{"order":5,"destination":"6491230000"}`,
	"callrule":        `{"order":"5","prefix_raw":"77","destination":"6491230000","early_rule":"0"}`,
	"fork":            `{"destination":"6491230000"}`,
	"prompt":          `{"description":"openapi"}`,
	"location":        `{"name":"Openapi-Loc","prefixes":"99"}`,
	"timedefinition":  `{"name":"openapi_lunch","definition":"Mon-Fri 12:00-13:00"}`,
	"trunk":           `{"name":"openapi-carrier","address":"198.51.100.7","proxy":"198.51.100.7:5060","transport":"tcp"}`,
	"HydraAccount":    `{"cfna_active":1,"callerid":"true","ums_pin":"1234"}`,
	"webhook":         `{"url":"https://hooks.example/hook","events":"call.ended,number.changed","secret":"s3cret"}`,
}

// TestOpenAPIOperationsExercised replays the document's walkthrough, then
// every other operation of the OpenAPI document, through a server whose
// every exchange is checked against the document (newServer), and fails
// for an operation that was never exercised.
func TestOpenAPIOperationsExercised(t *testing.T) {
	c := newServer(t)
	afterHours := replayDocument(t, c)
	for _, r := range resource.All {
		exerciseResource(t, c, r)
	}
	exerciseSpecial(t, c, afterHours)

	spec, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	seen := c.api.operations()
	for path, pi := range spec.Paths.Map() {
		for method, op := range pi.Operations() {
			if seen[op.OperationID] == 0 {
				t.Errorf("%s %s (%s) was never exercised", method, path, op.OperationID)
			}
		}
	}
}

// exerciseResource sends each of a resource's operations: OPTIONS, a
// listing, a creation, then read, upsert, ?patch=true, PATCH and DELETE
// of the record (a record of another GUID where there is none).
func exerciseResource(t *testing.T, c *client, r *resource.Resource) {
	t.Helper()
	coll := api.Base + r.Name
	if r.Parent != nil {
		coll = api.Base + "account/acmebrick.x.co.nz/" + r.Name
	}
	c.raw("OPTIONS", strings.Replace(coll, "acmebrick.x.co.nz", "*", 1), nil, nil, false)
	if !r.NoItems {
		c.raw("OPTIONS", coll+"/x", nil, nil, false)
	}
	if r == resource.Session || r == resource.CallTrace {
		return // exerciseSpecial
	}
	status := func(method, target, body string) (int, http.Header, []byte) {
		resp, b := c.raw(method, target, []byte(body), map[string]string{"Content-Type": "application/json"}, true)
		return resp.StatusCode, resp.Header, b
	}
	var self string
	if r.Allows("GET", false) {
		if code, _, b := status("GET", coll+"?limit=1", ""); code == 200 {
			var recs []map[string]any
			json.Unmarshal(b, &recs)
			if len(recs) > 0 && !r.NoItems {
				self = recs[0]["_links"].(map[string]any)["self"].(map[string]any)["href"].(string)
			}
		}
	}
	if body, ok := createBodies[r.Name]; ok && r.Allows("PUT", false) {
		code, h, b := status("PUT", coll, body)
		switch {
		case code == http.StatusCreated && r.Canonical != nil: // Location is the canonical path
			loc := h.Get("Location")
			self = coll + loc[strings.LastIndex(loc, "/"):]
		case code == http.StatusCreated:
			self = h.Get("Location")
		case r == resource.Hydra && code == http.StatusBadRequest: // created by PUT on its number
			self = coll + "/6499870001"
		default:
			t.Errorf("PUT %s %s: %d %s", coll, body, code, b)
		}
	}
	if r.NoItems {
		return
	}
	if self == "" {
		self = coll + "/" + resource.NewGUID() // a 404, still an exchange to check
	}
	for _, m := range []struct{ method, query, body string }{
		{"PUT", "", createBodies[r.Name]}, {"GET", "", ""}, {"PUT", "?patch=true", "{}"}, {"PATCH", "", "{}"}, {"DELETE", "", ""},
	} {
		if r.Allows(m.method, true) {
			body := m.body
			if r == resource.Account || r == resource.Child {
				body = "{}" // a username change needs a password
			}
			status(m.method, self+m.query, body)
		}
	}
}

// exerciseSpecial sends what the generic pass cannot: the session
// cookie, call tracing, audio, paging, queries and the usual errors.
func exerciseSpecial(t *testing.T, c *client, afterHours string) {
	t.Helper()
	json := map[string]string{"Content-Type": "application/json"}
	resp, _ := c.raw("PUT", "/api-sys/session", nil, nil, true)
	cookie := ""
	for _, ck := range resp.Cookies() {
		if ck.Name == api.SessionCookie {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if resp.StatusCode != http.StatusCreated || cookie == "" {
		t.Fatalf("PUT /api-sys/session: %d, cookie %q", resp.StatusCode, cookie)
	}
	withCookie := map[string]string{"Cookie": cookie}
	for _, x := range []struct {
		method, target string
		hdr            map[string]string
		basic          bool
		body, want     string
		status         int
	}{
		{"GET", "/api-sys/account?limit=1", withCookie, false, "", "", 200},
		{"DELETE", "/api-sys/session", withCookie, false, "", "", 200},
		{"GET", "/api-sys/account", withCookie, false, "", "", 401},
		{"DELETE", "/api-sys/session", nil, true, "", "", 400},
		{"GET", "/api-sys/calltrace?from=reception@acmebrick.x.co.nz&dial=6491231234", nil, true, "", `"outcome"`, 200},
		{"GET", "/api-sys/calltrace?from=reception@acmebrick.x.co.nz", nil, true, "", "", 400},
		{"GET", "/api-sys/account/_prompt.shared/prompt/F4FE3E59-0439-4849-9444-85BEFE8694B3", map[string]string{"Accept": "audio/wav"}, true, "", "RIFF", 200},
		{"GET", "/api-sys/account/main_entry@acmebrick.x.co.nz/prompt/" + afterHours, map[string]string{"Accept": "audio/wav"}, true, "", "no audio", 404},
		{"GET", "/api-sys/account/acmebrick.x.co.nz/cdr?since=2026-01-01T00:00:00Z&until=2027-01-01T00:00:00Z", nil, true, "", "[", 200},
		{"GET", "/api-sys/account/acmebrick.x.co.nz/cdr?since=yesterday", nil, true, "", "", 400},
		{"GET", "/api-sys/mail?state=queued&limit=5", nil, true, "", "[", 200},
		{"GET", "/api-sys/location?filter=%3CCallRule-N%25&limit=1", nil, true, "", "National", 200},
		{"GET", "/api-sys/location?limit=0", nil, true, "", "", 400},
		{"GET", "/api-sys/account", nil, false, "", "", 401},
		{"DELETE", "/api-sys/account", nil, true, "", "", 405},
		{"PUT", "/api-sys/account", json, true, `{"bogus":1}`, "bogus", 400},
		{"PUT", "/api-sys/account/acmebrick.x.co.nz/number", json, true, `{"number":"6491231234"}`, "", 409},
		{"PATCH", "/api-sys/account/acmebrick.x.co.nz/route/" + resource.NewGUID(), json, true, `{}`, "", 404},
		{"PUT", "/api-sys/account/acmebrick.x.co.nz", json, true, `{"cfna_duration":"15","private":"1","callerid":0,"timezone":null}`, `"cfna_duration":15`, 200},
		{"OPTIONS", "/api-sys/", nil, false, "", "", 200},
		{"GET", api.OpenAPIPath, nil, false, "", `"openapi"`, 200},
		{"PUT", "/api-sys/account/acmebrick.x.co.nz/bulk?dry_run=true", csvType, true, newbieCSV, `"password":""`, 200},
		{"PUT", "/api-sys/account/acmebrick.x.co.nz/bulk", csvType, true, newbieCSV, `"username":"newbie@acmebrick.x.co.nz"`, 201},
		{"PUT", "/api-sys/account/acmebrick.x.co.nz/bulk", csvType, true, newbieCSV, "line 2: account newbie@acmebrick.x.co.nz already exists", 400},
		{"PUT", "/api-sys/account/acmebrick.x.co.nz/bulk", json, true, "{}", "text/csv", 415},
		{"GET", "/api-sys/account/acmebrick.x.co.nz/cdr?limit=5", map[string]string{"Accept": "text/csv"}, true, "", "guid,direction,from", 200},
	} {
		resp, b := c.raw(x.method, x.target, []byte(x.body), x.hdr, x.basic)
		if resp.StatusCode != x.status || !strings.Contains(string(b), x.want) {
			t.Errorf("%s %s: %d %.200s, want %d with %s", x.method, x.target, resp.StatusCode, b, x.status, x.want)
		}
	}
	// Paging: follow Link rel="next" to the end.
	next, pages := "/api-sys/location?limit=3", 0
	for next != "" && pages < 10 {
		resp, _ := c.raw("GET", next, nil, nil, true)
		pages++
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			next = l[1:strings.Index(l, ">")]
		}
	}
	if pages < 2 {
		t.Errorf("location paging took %d pages, want several", pages)
	}
}
