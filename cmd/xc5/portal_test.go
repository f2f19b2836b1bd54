package main_test

import (
	"io"
	"net/http"
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
