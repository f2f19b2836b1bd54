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

// TestPortalHuntEdit moves the document's hunt members (reception at
// 100, sales at 101) and edits their ring seconds in place; the API
// reads the new orders and seconds, and what the API refuses (700 s,
// not a number, moving the first one up) is a 400 with its reason on
// the page. Both backends.
func TestPortalHuntEdit(t *testing.T) {
	for _, be := range storetest.Backends(t) {
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
			post := func(rel string, form url.Values) (int, string) {
				form.Set("csrf", tok)
				code, body, _ := b.do("POST", "huntgroups/"+group+"/"+rel, form)
				return code, body
			}
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
