package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"xc5/storetest"
)

// TestPortalLogin logs in at the company's host: the login form's CSRF
// token is required, a wrong password is refused, the session cookie is
// HttpOnly and SameSite=Strict, the overview lists the document's users
// with their extensions and numbers, and logging out ends the session.
func TestPortalLogin(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
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

// TestPortalLoginRateLimited: failed logins count as the API's do (the
// same limiter and defaults): a run of wrong passwords ends in 429, and
// then even the right one is refused for a while.
func TestPortalLoginRateLimited(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser(acme, "/")
	_, page, _ := b.do("GET", "login", nil)
	tok := csrf(t, page)
	limited := 0
	for i := 0; i < 40 && limited == 0; i++ {
		code, _, _ := b.do("POST", "login", url.Values{"csrf": {tok}, "username": {acme}, "password": {"wrong"}})
		switch code {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited = i + 1
		default:
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	if limited == 0 {
		t.Fatal("40 wrong passwords were never refused")
	}
	if code, body, _ := b.do("POST", "login", url.Values{"csrf": {tok}, "username": {acme}, "password": {acmePW}}); code != http.StatusTooManyRequests || !strings.Contains(body, "try again in") {
		t.Errorf("the right password while refused: %d", code)
	}
	t.Logf("refused from attempt %d", limited)
}

// TestPortalOwnPassword: a user changes its own password: the current
// one is required, the change ends its sessions (the store's rule), and
// the new one logs in.
func TestPortalOwnPassword(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser(acme, "/")
	tok := b.login(reception, recPW)
	if code, _, _ := b.do("POST", "me/password", url.Values{"csrf": {tok}, "current": {"wrong"}, "new": {"a-new-password"}}); code != http.StatusForbidden {
		t.Errorf("wrong current password: %d, want 403", code)
	}
	if code, _, _ := b.do("POST", "me/password", url.Values{"csrf": {tok}, "current": {recPW}, "new": {"short"}}); code != http.StatusBadRequest {
		t.Errorf("short password: %d, want 400", code)
	}
	if code, _, h := b.do("POST", "me/password", url.Values{"csrf": {tok}, "current": {recPW}, "new": {"a-new-password"}}); code != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Fatalf("change: %d %s", code, h.Get("Location"))
	}
	if code, _, h := b.do("GET", "me", nil); code != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Errorf("the old session still works: %d", code)
	}
	e.browser(acme, "/").login(reception, "a-new-password")
}
