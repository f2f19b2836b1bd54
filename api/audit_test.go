package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAuditOverHTTP: PUT, PATCH and DELETE through the API are in the
// audit trail with the caller, its address, the path and the fields
// before and after, the password masked; a partitioned user sees the
// writes of its subtree only, not another company's nor system-wide
// ones, and cannot read another company's trail; system access at the
// top sees system-wide writes too.
func TestAuditOverHTTP(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"x@acme.test","parent":"acme.test","password":"Very-secret-1"}`)
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", "/api-sys/account/x@acme.test", `{"cfna_duration":40,"password":"Very-secret-2"}`)
		e.mustAs(acmeUser, acmePass, http.StatusOK, "DELETE", "/api-sys/account/x@acme.test", "")
		e.must(http.StatusOK, "PATCH", "/api-sys/account/b1@beta.test", `{"cfna_duration":50}`)
		e.must(http.StatusCreated, "PUT", "/api-sys/location", `{"name":"Audit-Loc","prefixes":"98"}`)

		r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/account/acme.test/audit", "")
		if strings.Contains(string(r.Body), "Very-secret") {
			t.Errorf("a password is in the trail: %s", r.Body)
		}
		e.leaks(t, r)
		var acme []map[string]any
		for _, rec := range r.records(t) {
			if rec["account"] == acmeUser { // the set-up's writes were admin's
				acme = append(acme, rec)
			}
		}
		if len(acme) != 3 {
			t.Fatalf("acme's own writes: %v", acme)
		}
		for i, want := range []string{"DELETE", "PATCH", "PUT"} {
			if acme[i]["method"] != want || acme[i]["source"] != "127.0.0.1" || acme[i]["resource"] != "account" {
				t.Errorf("entry %d: %v, want %s from 127.0.0.1", i, acme[i], want)
			}
		}
		var before, after map[string]any
		json.Unmarshal([]byte(acme[1]["before"].(string)), &before)
		json.Unmarshal([]byte(acme[1]["after"].(string)), &after)
		if acme[1]["path"] != "/api-sys/account/x@acme.test" || before["cfna_duration"] != float64(20) || after["cfna_duration"] != float64(40) ||
			after["password"] != "********" {
			t.Errorf("PATCH entry %v", acme[1])
		}
		for _, rec := range r.records(t) {
			if rec["resource"] == "location" {
				t.Errorf("a partition sees a system-wide write: %v", rec)
			}
		}
		e.as("GET", "/api-sys/account/beta.test/audit", "").wantError(t, http.StatusNotFound)

		top := e.must(http.StatusOK, "GET", "/api-sys/account/provider.test/audit?limit=1000", "").records(t)
		var loc, beta bool
		for _, rec := range top {
			loc = loc || rec["resource"] == "location"
			beta = beta || strings.Contains(rec["after"].(string), `"cfna_duration":50`)
		}
		if !loc || !beta {
			t.Errorf("system access at the top sees location %v, beta's write %v", loc, beta)
		}
		if n := len(e.must(http.StatusOK, "GET", "/api-sys/account/provider.test/audit?limit=2", "").records(t)); n != 2 {
			t.Errorf("?limit=2 gave %d", n)
		}
		e.do("GET", "/api-sys/account/provider.test/audit?limit=0", "").wantError(t, http.StatusBadRequest, "limit")
	})
}

// TestWebhookOverHTTP: a webhook is created, read with its secret never
// shown (a generated one only in the creation's answer), and refused with
// a 400 for a bad url or event, a loopback or private address, or an
// empty secret; a partitioned
// user manages its own and cannot reach another company's.
func TestWebhookOverHTTP(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		h := e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/acme.test/webhook",
			`{"url":"https://hooks.example/acme","events":"call.ended, voicemail.new","secret":"wh-secret-1"}`).one(t)
		if h["events"] != "call.ended,voicemail.new" || h["enabled"] != true || h["queued"] != float64(0) {
			t.Errorf("created %v", h)
		}
		r := e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/account/acme.test/webhook", "")
		if strings.Contains(string(r.Body), "wh-secret-1") {
			t.Errorf("the secret is shown: %s", r.Body)
		}
		for _, body := range []string{`{"url":"ftp://x.example/"}`, `{"url":"x.example"}`, `{"url":"http://x.example/","events":"call.ringing"}`, `{"events":"*"}`,
			`{"url":"http://127.0.0.1:9000/"}`, `{"url":"http://[::1]/"}`, `{"url":"http://169.254.169.254/latest/"}`, `{"url":"https://localhost/"}`,
			`{"url":"https://hooks.example/","secret":""}`} {
			e.as("PUT", "/api-sys/account/acme.test/webhook", body).wantError(t, http.StatusBadRequest)
		}
		e.as("PUT", "/api-sys/account/beta.test/webhook", `{"url":"https://x.example/"}`).wantError(t, http.StatusNotFound)
		// Without a secret, one is generated and shown once, as a
		// generated password is.
		b := e.must(http.StatusCreated, "PUT", "/api-sys/account/beta.test/webhook", `{"url":"https://hooks.example/beta"}`).one(t)
		gen, _ := b["secret"].(string)
		if len(gen) < 16 {
			t.Fatalf("a webhook created without a secret answered secret %#v, want a generated one", b["secret"])
		}
		if r := e.must(http.StatusOK, "GET", "/api-sys/account/beta.test/webhook", ""); strings.Contains(string(r.Body), gen) {
			t.Errorf("the generated secret is shown again: %s", r.Body)
		}
		e.as("GET", "/api-sys/account/beta.test/webhook/"+b["guid"].(string), "").wantError(t, http.StatusNotFound)
		e.as("DELETE", "/api-sys/account/acme.test/webhook/"+b["guid"].(string), "").wantError(t, http.StatusNotFound)
		e.mustAs(acmeUser, acmePass, http.StatusOK, "PATCH", "/api-sys/account/acme.test/webhook/"+h["guid"].(string), `{"enabled":false}`)
	})
}
