package main_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServePortal: xc5 serve answers a company's host with its portal
// (the login page), /portal/{company}/ on any host too, /api-sys/ on the
// company's host with the API, and any other path elsewhere with the
// API's 404 "invalid path".
func TestServePortal(t *testing.T) {
	s := start(t, t.TempDir(), "XC5_ADMIN_PASSWORD=pw")
	if code, body := s.do(t, "PUT", "/api-sys/account/", "admin", "pw", `{"username":"acmebrick.x.co.nz"}`); code != 201 {
		t.Fatalf("create company: %d %s", code, body)
	}
	get := func(host, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url+path, nil)
		if host != "" {
			req.Host = host
		}
		req.SetBasicAuth("admin", "pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The routing view loads in the background: wait for the company.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := get("acmebrick.x.co.nz", "/login")
		if code == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range []struct {
		host, path string
		code       int
		want       string
	}{
		{"acmebrick.x.co.nz", "/login", 200, "Log in to acmebrick.x.co.nz"},
		{"www.acmebrick.x.co.nz:8443", "/login", 200, "Log in to acmebrick.x.co.nz"},
		{"", "/portal/acmebrick.x.co.nz/login", 200, "Log in to acmebrick.x.co.nz"},
		{"acmebrick.x.co.nz", "/api-sys/account/acmebrick.x.co.nz", 200, `"username":"acmebrick.x.co.nz"`},
		{"", "/login", 404, "invalid path"},
		{"other.example", "/", 404, "invalid path"},
		{"", "/portal/nosuch.example/login", 404, "no such company portal"},
	} {
		code, body := get(c.host, c.path)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("Host %q %s: %d, want %d with %q:\n%.300s", c.host, c.path, code, c.code, c.want, body)
		}
	}
}

// TestServeLoginLimitsShared: xc5 serve gives the API and the portal one
// failed-login limiter: an account the API has locked out after wrong
// passwords is refused (429) at the portal's login too, not given a
// second budget there.
func TestServeLoginLimitsShared(t *testing.T) {
	s := start(t, t.TempDir(), "XC5_ADMIN_PASSWORD=pw")
	const co = "acmebrick.x.co.nz"
	if code, body := s.do(t, "PUT", "/api-sys/account/", "admin", "pw", `{"username":"`+co+`","password":"acme-pw-123456"}`); code != 201 {
		t.Fatalf("create company: %d %s", code, body)
	}
	locked := false
	for i := 0; i < 40 && !locked; i++ {
		code, _ := s.do(t, "GET", "/api-sys/account/", co, "wrong-password", "")
		locked = code == http.StatusTooManyRequests
	}
	if !locked {
		t.Fatal("the API never refused the wrong passwords")
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := s.url + "/portal/" + co + "/login"
	var page string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) { // the view loads in the background
		resp, err := c.Get(login)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if page = string(b); resp.StatusCode == 200 || time.Now().After(deadline) {
			break
		}
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no login form:\n%.300s", page)
	}
	resp, err := c.PostForm(login, url.Values{"csrf": {m[1]}, "username": {co}, "password": {"wrong-password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("portal login of an account the API has locked out: %d, want 429", resp.StatusCode)
	}
}
