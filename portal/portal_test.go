package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPortalLogin logs in at the company's host: the login form's CSRF
// token is required, a wrong password is refused, the session cookie is
// HttpOnly and SameSite=Strict, the overview lists the document's users
// with their extensions and numbers, and logging out ends the session.
func TestPortalLogin(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	b := e.browser(acme, "/")
	code, page, h := b.do("GET", "", nil)
	if code != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Fatalf("unauthenticated overview: %d %s", code, h.Get("Location"))
	}
	code, page, h = b.do("GET", "login", nil)
	if code != 200 || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("login page: %d %v", code, h)
	}
	tok := csrf(t, page)
	if code, _, _ = b.do("POST", "login", url.Values{"username": {acme}, "password": {acmePW}}); code != http.StatusForbidden {
		t.Errorf("login without CSRF token: %d, want 403", code)
	}
	if code, _, _ = b.do("POST", "login", url.Values{"csrf": {tok}, "username": {acme}, "password": {"wrong"}}); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	code, _, h = b.do("POST", "login", url.Values{"csrf": {tok}, "username": {acme}, "password": {acmePW}})
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	ck := h.Get("Set-Cookie")
	for _, want := range []string{"xc5_portal=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Errorf("session cookie %q lacks %s", ck, want)
		}
	}
	_, home, _ := b.do("GET", "", nil)
	for _, want := range []string{reception, "<td>600</td>", "6491231234", sales, "<td>608</td>", "6499290087"} {
		if !strings.Contains(home, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	tok = csrf(t, home)
	if code, _, _ = b.do("POST", "logout", nil); code != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %d, want 403", code)
	}
	if code, _, _ = b.do("POST", "logout", url.Values{"csrf": {tok}}); code != http.StatusSeeOther {
		t.Errorf("logout: %d", code)
	}
	// The cookie is cleared; the old token, sent again, is refused too.
	b2 := e.browser(acme, "/")
	b2.c.Jar = nil
	req, _ := http.NewRequest("GET", e.url+"/", nil)
	req.Host = acme
	req.Header.Set("Cookie", strings.SplitN(ck, ";", 2)[0])
	resp, err := b2.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("ended session's cookie: %d, want a redirect to the login", resp.StatusCode)
	}
}
