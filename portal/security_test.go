package portal_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"xc5/storetest"
)

// TestPortalOtherCompanyGetsNothing: a user of othercorp gets nothing of
// acmebrick by any URL, on SQLite and PostgreSQL: its password does not
// log it in at acmebrick's host or path, its session is no good there,
// and acmebrick's own administrator reaches none of othercorp's records
// by their GUIDs. A POST without the CSRF token is 403, and a host that
// is no company stays the API's.
func TestPortalOtherCompanyGetsNothing(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	for _, be := range storetest.Chosen(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Open(t)
			t.Cleanup(func() { s.Close() })
			e := newEnv(t, s)
			vm := e.leaveVoicemail(boss, "6421555000")
			var nums []map[string]any
			json.Unmarshal([]byte(e.api("PUT", "/api-sys/account/"+boss+"/number", `{"number":"6493334444"}`)), &nums)
			bossNumber := nums[0]["guid"].(string)
			e.addCDR(boss, map[string]any{"direction": "in", "from": "6421555000", "to": boss, "started": "2026-12-01T01:00:00Z", "outcome": "answered"})

			// boss's password at acmebrick: refused like a wrong one.
			for _, at := range []*browser{e.browser(acme, "/"), e.browser("", "/portal/"+acme+"/")} {
				_, page, _ := at.do("GET", "login", nil)
				code, body, _ := at.do("POST", "login", url.Values{"csrf": {csrf(t, page)}, "username": {boss}, "password": {bossPW}})
				if code != http.StatusUnauthorized || !strings.Contains(body, "invalid username or password") {
					t.Errorf("%s%s: boss logs in: %d", at.host, at.base, code)
				}
			}
			// boss's session, opened at othercorp, sent to acmebrick.
			ob := e.browser(other, "/")
			ob.login(boss, bossPW)
			for _, c := range []struct{ host, path string }{
				{acme, "/"}, {acme, "/calls"}, {"www." + acme, "/"}, {"", "/portal/" + acme + "/"},
				{"", "/portal/" + acme + "/voicemail?account=" + reception},
			} {
				req, _ := http.NewRequest("GET", e.url+c.path, nil)
				if c.host != "" {
					req.Host = c.host
				}
				u, _ := url.Parse(e.url)
				for _, ck := range ob.c.Jar.Cookies(u) {
					req.AddCookie(ck)
				}
				resp, err := ob.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "login") {
					t.Errorf("boss's cookie at %s%s: %d %s, want the login", c.host, c.path, resp.StatusCode, resp.Header.Get("Location"))
				}
			}

			// acmebrick's administrator, by othercorp's GUIDs.
			b := e.browser(acme, "/")
			tok := b.login(acme, acmePW)
			bossG, otherG := e.guids[boss], e.guids[other]
			gets := []string{"calls?account=" + bossG, "calls.csv?account=" + bossG, "calls?account=" + boss,
				"voicemail?account=" + bossG, "voicemail/" + bossG + "/" + vm + "/audio", "numbers?account=" + bossG, "users/" + bossG}
			for _, g := range gets {
				if code, body, _ := b.do("GET", g, nil); code != http.StatusNotFound || strings.Contains(body, "6421555000") {
					t.Errorf("GET %s: %d, want 404", g, code)
				}
			}
			posts := []string{"users/" + bossG + "/delete", "users/" + bossG + "/password", "users/" + bossG + "/rename",
				"users/" + otherG + "/extension", "voicemail/" + bossG + "/" + vm + "/delete", "huntgroups/" + bossG + "/add",
				"numbers/" + bossG + "/" + vm + "/return", "numbers/" + e.guids[reception] + "/" + bossNumber + "/set"}
			for _, p := range posts {
				if code, _, _ := b.do("POST", p, url.Values{"csrf": {tok}, "username": {"x@" + acme}, "ext": {"700"}}); code != http.StatusNotFound {
					t.Errorf("POST %s: %d, want 404", p, code)
				}
			}
			// A message of acmebrick's, under boss's account, is not found either.
			mine := e.leaveVoicemail(reception, "6421555001")
			if code, _, _ := b.do("GET", "voicemail/"+bossG+"/"+mine+"/audio", nil); code != http.StatusNotFound {
				t.Errorf("own message under another company's account: %d", code)
			}
			// Nothing changed for othercorp.
			if rec := e.record("/api-sys/account/" + boss); rec["username"] != boss {
				t.Errorf("boss changed: %v", rec)
			}
			if _, body, _ := ob.do("GET", "voicemail?account="+bossG, nil); !strings.Contains(body, vm) {
				t.Errorf("boss's message went: %s", body)
			}

			// Missing and wrong CSRF tokens.
			for _, form := range []url.Values{{"username": {"x"}}, {"csrf": {"forged"}, "username": {"x"}}} {
				if code, _, _ := b.do("POST", "users", form); code != http.StatusForbidden {
					t.Errorf("POST users with %v: %d, want 403", form, code)
				}
			}
			// A forged Origin with the right token is refused too.
			req, _ := http.NewRequest("POST", e.url+"/users", strings.NewReader(url.Values{"csrf": {tok}, "username": {"evil"}}.Encode()))
			req.Host = acme
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "http://evil.example")
			resp, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST from another origin: %d, want 403", resp.StatusCode)
			}
			// A host that is no company's, and an account that is not a
			// company (a user below one), stay the API's.
			for _, host := range []string{"api.example.net", reception, "main_entry.acmebrick.x.co.nz.evil"} {
				req, _ := http.NewRequest("GET", e.url+"/", nil)
				req.Host = host
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("Host %s: %d, want the API's 404", host, resp.StatusCode)
				}
			}
			if code, _, _ := e.browser("", "/portal/"+reception+"/").do("GET", "login", nil); code != http.StatusNotFound {
				t.Errorf("/portal/ of a user that is no company: %d, want 404", code)
			}
		})
	}
}

// TestPortalUserSeesOnlyItsOwn: a user without api_access logs in and
// reads and changes only its own account: the administrator's pages are
// 404, a colleague's calls and mailbox are 404, its own forwards are
// written through the store's checks (an outside destination is refused
// with the API's message).
func TestPortalUserSeesOnlyItsOwn(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	e.addCDR(sales, map[string]any{"direction": "in", "from": "6421555999", "to": sales, "started": "2026-12-01T01:00:00Z", "outcome": "answered"})
	b := e.browser(acme, "/")
	tok := b.login(reception, recPW)
	for _, g := range []string{"users", "huntgroups", "calls?account=" + sales, "voicemail?account=" + e.guids[sales]} {
		if code, body, _ := b.do("GET", g, nil); code != http.StatusNotFound || strings.Contains(body, "6421555999") {
			t.Errorf("reception GET %s: %d, want 404", g, code)
		}
	}
	if code, _, _ := b.do("POST", "users", url.Values{"csrf": {tok}, "username": {"new"}}); code != http.StatusNotFound {
		t.Errorf("reception creates a user: %d, want 404", code)
	}
	_, home, _ := b.do("GET", "", nil)
	if strings.Contains(home, sales) || !strings.Contains(home, reception) {
		t.Errorf("reception's overview shows others or not itself:\n%s", home)
	}
	code, _, _ := b.do("POST", "me", url.Values{"csrf": {tok}, "cfna_active": {"on"}, "cfna_dest": {"6421555123"}, "cfna_duration": {"15"}})
	if code != http.StatusSeeOther {
		t.Fatalf("set own forward: %d", code)
	}
	rec := e.record("/api-sys/account/" + reception)
	if rec["cfna_dest"] != "6421555123" || rec["cfna_active"] != true || rec["cfna_duration"] != float64(15) {
		t.Errorf("forward not written: %v", rec)
	}
	code, body, _ := b.do("POST", "me", url.Values{"csrf": {tok}, "cfna_dest": {boss}, "cfna_duration": {"15"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "cfna_dest") {
		t.Errorf("forward to another company's user: %d %s", code, body)
	}
	code, body, _ = b.do("POST", "me", url.Values{"csrf": {tok}, "cfna_dest": {"111"}, "cfna_duration": {"15"}})
	if code != http.StatusBadRequest {
		t.Errorf("forward to 111: %d %s", code, body)
	}
}
