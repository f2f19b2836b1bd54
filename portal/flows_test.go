package portal_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"xc5/storetest"
)

// routes reads an account's routes through the API.
func (e *env) routes(account string) []map[string]any {
	var out []map[string]any
	if err := json.Unmarshal([]byte(e.api("GET", "/api-sys/account/"+account+"/route", "")), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// member is the hunt route of main_entry that rings username.
func (e *env) member(username string) map[string]any {
	for _, r := range e.routes("main_entry@" + acme) {
		if r["hunt_user"] == true && r["username"] == username {
			return r
		}
	}
	e.t.Fatalf("no hunt member %s", username)
	return nil
}

// poster posts forms to the pages below prefix with the CSRF token tok,
// as the portal's own forms do, and returns the status and body.
func (b *browser) poster(tok, prefix string) func(rel string, form url.Values) (int, string) {
	return func(rel string, form url.Values) (int, string) {
		form.Set("csrf", tok)
		code, body, _ := b.do("POST", prefix+rel, form)
		return code, body
	}
}

// TestPortalHuntEdit moves the document's hunt members (reception at
// 100, sales at 101) and edits their ring seconds in place; the API
// reads the new orders and seconds, and what the API refuses (700 s,
// not a number, moving the first one up) is a 400 with its reason on
// the page. Both backends.
func TestPortalHuntEdit(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	for _, be := range storetest.Chosen(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Open(t)
			t.Cleanup(func() { s.Close() })
			e := newEnv(t, s)
			b := e.browser(acme, "/")
			tok := b.login(acme, acmePW)
			group := e.guids["main_entry@"+acme]
			rec, sal := e.member(reception), e.member(sales)
			_, page, _ := b.do("GET", "huntgroups", nil)
			for _, want := range []string{`aria-label="Move sales@acmebrick.x.co.nz up in main_entry@acmebrick.x.co.nz"`, `aria-label="Rings for (s): reception@acmebrick.x.co.nz in main_entry@acmebrick.x.co.nz"`} {
				if !strings.Contains(page, want) {
					t.Errorf("call flows lack %s", want)
				}
			}
			if strings.Contains(page, `aria-label="Move reception@acmebrick.x.co.nz up`) {
				t.Error("the first member offers to move up")
			}
			post := b.poster(tok, "huntgroups/"+group+"/")
			if code, body := post("up/"+sal["guid"].(string), url.Values{}); code != http.StatusSeeOther {
				t.Fatalf("move up: %d %s", code, body)
			}
			if r, s := e.member(reception)["order"], e.member(sales)["order"]; r != float64(101) || s != float64(100) {
				t.Errorf("after moving sales up the API has reception %v, sales %v", r, s)
			}
			_, page, _ = b.do("GET", "huntgroups", nil)
			if i, j := strings.Index(page, "<td>"+sales+"</td>"), strings.Index(page, "<td>"+reception+"</td>"); i < 0 || j < i {
				t.Errorf("sales is not listed first (%d, %d)", i, j)
			}
			if code, body := post("down/"+sal["guid"].(string), url.Values{}); code != http.StatusSeeOther {
				t.Fatalf("move down: %d %s", code, body)
			}
			if r, s := e.member(reception)["order"], e.member(sales)["order"]; r != float64(100) || s != float64(101) {
				t.Errorf("after moving sales down the API has reception %v, sales %v", r, s)
			}
			if code, body := post("up/"+rec["guid"].(string), url.Values{}); code != http.StatusBadRequest || !strings.Contains(body, "already the first member") || !strings.Contains(body, `role="alert"`) {
				t.Errorf("first member up: %d %s", code, body)
			}
			if code, body := post("seconds/"+rec["guid"].(string), url.Values{"ring_seconds": {"25"}}); code != http.StatusSeeOther {
				t.Fatalf("ring seconds: %d %s", code, body)
			}
			if got := e.member(reception)["ring_seconds"]; got != float64(25) {
				t.Errorf("the API has ring_seconds %v, want 25", got)
			}
			for _, bad := range []struct{ v, msg string }{{"700", "ring_seconds"}, {"ten", "not a whole number"}} {
				if code, body := post("seconds/"+rec["guid"].(string), url.Values{"ring_seconds": {bad.v}}); code != http.StatusBadRequest || !strings.Contains(body, bad.msg) {
					t.Errorf("ring seconds %s: %d %s", bad.v, code, body)
				}
			}
			if got := e.member(reception)["ring_seconds"]; got != float64(25) {
				t.Errorf("a refused value changed ring_seconds to %v", got)
			}
			// Members sharing an order: the one moved up goes one before.
			e.api("PATCH", "/api-sys/account/main_entry@"+acme+"/route/"+sal["guid"].(string), `{"order":100}`)
			if code, body := post("up/"+sal["guid"].(string), url.Values{}); code != http.StatusSeeOther {
				t.Fatalf("move up from a shared order: %d %s", code, body)
			}
			if r, s := e.member(reception)["order"], e.member(sales)["order"]; r != float64(100) || s != float64(99) {
				t.Errorf("from a shared order the API has reception %v, sales %v", r, s)
			}
			// A route that is no member (the menu's) and another group's.
			var menu string
			for _, r := range e.routes("main_entry@" + acme) {
				if r["menu_level"] == float64(1) {
					menu = r["guid"].(string)
				}
			}
			if code, _ := post("seconds/"+menu, url.Values{"ring_seconds": {"5"}}); code != http.StatusNotFound {
				t.Errorf("ring seconds of a menu route: %d", code)
			}
			if code, _ := post("up/"+menu, url.Values{}); code != http.StatusNotFound {
				t.Errorf("moving a menu route: %d", code)
			}
		})
	}
}

// menuRoute is the route of account at menu level lvl, or nil.
func (e *env) menuRoute(account string, lvl float64) map[string]any {
	for _, r := range e.routes(account) {
		if r["menu_level"] == lvl {
			return r
		}
	}
	return nil
}

// TestPortalMenuEdit shows the document's after-hours menu in forms
// (its time written out, its prompt chosen), adds a step with a defined
// time set, a key map, an account and a prompt, changes it to an e-mail
// destination at any time, removes it, and starts a menu on another
// account: each time the API reads the route the portal wrote. What the
// store refuses (an undefined time set, a bad key map, another
// company's prompt, 111) is a 400 naming it.
func TestPortalMenuEdit(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	for _, be := range storetest.Chosen(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Open(t)
			t.Cleanup(func() { s.Close() })
			e := newEnv(t, s)
			b := e.browser(acme, "/")
			tok := b.login(acme, acmePW)
			mainEntry := "main_entry@" + acme
			group := e.guids[mainEntry]
			first := e.menuRoute(mainEntry, 1)
			prompt := first["promptguid"].(string)
			_, page, _ := b.do("GET", "huntgroups", nil)
			for _, want := range []string{`value="nz_holidays,!Mon-Thur 08:30-17:00"`, `value="1=#3,5=#2,T=#3"`,
				`<option value="` + prompt + `" selected>After Hours Menu</option>`, `<option>weekend</option>`,
				`action="/huntgroups/` + group + `/menu/` + first["guid"].(string) + `"`, `value="email:dave@dcom.co.nz"`} {
				if !strings.Contains(page, want) {
					t.Errorf("call flows lack %s", want)
				}
			}
			post := b.poster(tok, "huntgroups/")
			step := url.Values{"menu_level": {"4"}, "time_definition": {"weekend"}, "digit_map": {"1=#2,T=#3"},
				"goes_to": {sales}, "promptguid": {prompt}}
			if code, body := post(group+"/menu", step); code != http.StatusSeeOther {
				t.Fatalf("add a step: %d %s", code, body)
			}
			r := e.menuRoute(mainEntry, 4)
			if r == nil || r["order"] != float64(-8) || r["time_definition"] != "weekend" || r["digit_map"] != "1=#2,T=#3" ||
				r["username"] != sales || r["promptguid"] != prompt {
				t.Fatalf("the API has %v", r)
			}
			id := r["guid"].(string)
			edit := url.Values{"menu_level": {"4"}, "time_definition": {""}, "digit_map": {""}, "goes_to": {"email:dave@dcom.co.nz"}, "promptguid": {""}}
			if code, body := post(group+"/menu/"+id, edit); code != http.StatusSeeOther {
				t.Fatalf("edit the step: %d %s", code, body)
			}
			r = e.menuRoute(mainEntry, 4)
			if r["destination"] != "email:dave@dcom.co.nz" || r["username"] != "" || r["time_definition"] != "" || r["promptguid"] != "" || r["digit_map"] != "" {
				t.Errorf("after the edit the API has %v", r)
			}
			var others []map[string]any
			json.Unmarshal([]byte(e.api("PUT", "/api-sys/account/"+boss+"/prompt/", `{"description":"boss's"}`)), &others)
			other := others[0]
			for _, bad := range []struct {
				field, value, msg string
			}{
				{"time_written", "nosuch_set", "nosuch_set does not exist"},
				{"digit_map", "1=", "digit"},
				{"promptguid", other["guid"].(string), "does not exist"},
				{"goes_to", "111", "111"},
				{"menu_level", "0", "menu_level"},
			} {
				f := url.Values{}
				for k, v := range edit {
					f[k] = v
				}
				f.Set(bad.field, bad.value)
				if code, body := post(group+"/menu/"+id, f); code != http.StatusBadRequest || !strings.Contains(body, bad.msg) || !strings.Contains(body, `role="alert"`) {
					t.Errorf("%s=%s: %d, want 400 with %q: %s", bad.field, bad.value, code, bad.msg, body)
				}
			}
			if got := e.menuRoute(mainEntry, 4); got["destination"] != "email:dave@dcom.co.nz" {
				t.Errorf("a refused edit changed the step: %v", got)
			}
			// Removing: a hunt member's route is no menu step.
			if code, _ := post(group+"/unmenu/"+e.member(reception)["guid"].(string), url.Values{}); code != http.StatusNotFound {
				t.Errorf("unmenu of a hunt member: %d", code)
			}
			if code, body := post(group+"/unmenu/"+id, url.Values{}); code != http.StatusSeeOther {
				t.Fatalf("remove the step: %d %s", code, body)
			}
			if e.menuRoute(mainEntry, 4) != nil {
				t.Error("the API still has the removed step")
			}
			// A first menu on another account; none on another company's.
			if code, body := post("menu/new", url.Values{"account": {sales}, "menu_level": {"1"}, "digit_map": {"1=" + reception}}); code != http.StatusSeeOther {
				t.Fatalf("a new menu: %d %s", code, body)
			}
			if r := e.menuRoute(sales, 1); r == nil || r["digit_map"] != "1="+reception || r["order"] != float64(-8) {
				t.Errorf("the API has no new menu on sales: %v", r)
			}
			if code, _ := post("menu/new", url.Values{"account": {boss}, "menu_level": {"1"}}); code != http.StatusNotFound {
				t.Errorf("a menu on another company's account: %d", code)
			}
			_, page, _ = b.do("GET", "huntgroups", nil)
			if !strings.Contains(page, "<h3>"+sales+"</h3>") {
				t.Error("the new menu is not shown")
			}
		})
	}
}

// callrules reads an account's callrules through the API.
func (e *env) callrules(account string) []map[string]any {
	var out []map[string]any
	if err := json.Unmarshal([]byte(e.api("GET", "/api-sys/account/"+account+"/callrule", "")), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestPortalVoicemailAndRecording shows the document's voicemail route
// (reception's order 200 email: route) and recording rule (order -12
// record_email) on the user page, sets both for sales (the API reads
// the document's shapes), changes and removes them, and sets up and
// removes its mailbox (ums_pin, never shown); a bad address or PIN is
// the store's 400 on the page. Both backends.
func TestPortalVoicemailAndRecording(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	for _, be := range storetest.Chosen(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Open(t)
			t.Cleanup(func() { s.Close() })
			e := newEnv(t, s)
			b := e.browser(acme, "/")
			tok := b.login(acme, acmePW)
			_, page, _ := b.do("GET", "users/"+e.guids[reception], nil)
			for _, want := range []string{`id="vm-email" name="email" type="email" value="` + reception + `"`,
				`id="rec-on" name="record" type="checkbox" checked`, `<label for="rec-email">`, `<label for="vm-email">`} {
				if !strings.Contains(page, want) {
					t.Errorf("reception's page lacks %s", want)
				}
			}
			id := e.guids[sales]
			post := b.poster(tok, "users/"+id+"/")
			vm := func() []map[string]any {
				var out []map[string]any
				for _, r := range e.routes(sales) {
					if d, _ := r["destination"].(string); strings.HasPrefix(d, "email:") {
						out = append(out, r)
					}
				}
				return out
			}
			rec := func() []map[string]any {
				var out []map[string]any
				for _, r := range e.callrules(sales) {
					if r["record_email"] != "" && r["record_email"] != nil {
						out = append(out, r)
					}
				}
				return out
			}
			if code, body := post("voicemail", url.Values{"email": {"sales@acmebrick.x.co.nz"}}); code != http.StatusSeeOther {
				t.Fatalf("voicemail: %d %s", code, body)
			}
			if r := vm(); len(r) != 1 || r[0]["order"] != float64(200) || r[0]["destination"] != "email:sales@acmebrick.x.co.nz" {
				t.Errorf("the API has voicemail routes %v", r)
			}
			if code, body := post("voicemail", url.Values{"email": {"email:office@acmebrick.x.co.nz"}}); code != http.StatusSeeOther {
				t.Fatalf("voicemail changed: %d %s", code, body)
			}
			if r := vm(); len(r) != 1 || r[0]["destination"] != "email:office@acmebrick.x.co.nz" {
				t.Errorf("after the change the API has %v", r)
			}
			if code, body := post("voicemail", url.Values{"email": {"not an address"}}); code != http.StatusBadRequest || !strings.Contains(body, "not an address") || !strings.Contains(body, `role="alert"`) {
				t.Errorf("a bad address: %d %s", code, body)
			}
			if code, body := post("recording", url.Values{"record": {"on"}}); code != http.StatusSeeOther {
				t.Fatalf("recording on: %d %s", code, body)
			}
			if r := rec(); len(r) != 1 || r[0]["order"] != float64(-12) || r[0]["record_email"] != sales {
				t.Errorf("the API has recording rules %v", r)
			}
			if code, body := post("recording", url.Values{"record": {"on"}, "record_email": {"boss@acmebrick.x.co.nz"}}); code != http.StatusSeeOther {
				t.Fatalf("recording address: %d %s", code, body)
			}
			if r := rec(); len(r) != 1 || r[0]["record_email"] != "boss@acmebrick.x.co.nz" {
				t.Errorf("after the change the API has %v", r)
			}
			if code, body := post("recording", url.Values{"record": {"on"}, "record_email": {"no,good"}}); code != http.StatusBadRequest || !strings.Contains(body, "e-mail address") {
				t.Errorf("a bad recording address: %d %s", code, body)
			}
			_, page, _ = b.do("GET", "users/"+id, nil)
			if !strings.Contains(page, `value="office@acmebrick.x.co.nz"`) || !strings.Contains(page, `checked`) {
				t.Errorf("sales's page does not show its voicemail and recording")
			}
			if code, _ := post("recording", url.Values{}); code != http.StatusSeeOther {
				t.Fatalf("recording off: %d", code)
			}
			if code, _ := post("voicemail", url.Values{"email": {""}}); code != http.StatusSeeOther {
				t.Fatalf("voicemail off: %d", code)
			}
			if len(rec()) != 0 || len(vm()) != 0 {
				t.Errorf("the API still has %v %v", rec(), vm())
			}
			// The mailbox (the document's ums_pin): set up, refused, removed.
			if !strings.Contains(page, sales+" has no mailbox") {
				t.Error("sales's page does not say it has no mailbox")
			}
			if code, body := post("mailbox", url.Values{"ums_pin": {"5676"}}); code != http.StatusSeeOther {
				t.Fatalf("mailbox: %d %s", code, body)
			}
			if pin := e.record("/api-sys/account/" + sales)["ums_pin"]; pin != "5676" {
				t.Errorf("the API has ums_pin %v", pin)
			}
			for _, bad := range []string{"12", "abcd", ""} {
				if code, body := post("mailbox", url.Values{"ums_pin": {bad}}); code != http.StatusBadRequest || !strings.Contains(body, "ums_pin") {
					t.Errorf("PIN %q: %d %s", bad, code, body)
				}
			}
			if _, page, _ = b.do("GET", "users/"+id, nil); !strings.Contains(page, sales+" has a mailbox") || strings.Contains(page, "5676") {
				t.Error("sales's page does not show its mailbox, or shows its PIN")
			}
			if code, _ := post("nomailbox", url.Values{}); code != http.StatusSeeOther {
				t.Fatalf("no mailbox: %d", code)
			}
			if pin := e.record("/api-sys/account/" + sales)["ums_pin"]; pin != "" && pin != nil {
				t.Errorf("the API still has ums_pin %v", pin)
			}
			// Reception's own, set by the document, are untouched; another
			// company's user has no page here.
			if len(e.callrules(reception)) == 0 {
				t.Error("reception's recording rule went")
			}
			code, _, _ := b.do("POST", "users/"+e.guids[boss]+"/recording", url.Values{"csrf": {tok}, "record": {"on"}})
			if code != http.StatusNotFound {
				t.Errorf("recording another company's user: %d", code)
			}
		})
	}
}
