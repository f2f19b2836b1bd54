package portal_test

// The portal's hardening (an independent review of issue 15): bounded
// bodies, one login budget with the API, one company per origin, no
// portal for the system's accounts, administrators above the company,
// bad bytes in names, the CSV's caching and HSTS. docs/portal.md says
// what each decides.

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"xc5/portal"
	"xc5/storetest"
)

// multipartPost sends a multipart form (fields and, when file is not
// nil, a file part) to rel below the browser's base.
func (b *browser) multipartPost(rel string, fields map[string]string, file []byte) (int, string) {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "junk.bin")
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.url+b.base+rel, &buf)
	if b.host != "" {
		req.Host = b.host
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestPortalLoginBodyBounded: the login form, read before there is a
// session, is a few hundred bytes: a body over 4 KiB is 413 (here a
// 3 MiB file riding along a good login), and a form that is not
// urlencoded is 415, before anything is read or checked.
func TestPortalLoginBodyBounded(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser(acme, "/")
	_, page, _ := b.do("GET", "login", nil)
	fields := map[string]string{"csrf": csrf(t, page), "username": reception, "password": recPW}
	if code, _ := b.multipartPost("login", fields, make([]byte, 3<<20)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 3 MiB login form: %d, want 413 (the login form is a few hundred bytes)", code)
	}
	if code, _ := b.multipartPost("login", fields, nil); code != http.StatusUnsupportedMediaType {
		t.Errorf("a small multipart login form: %d, want 415", code)
	}
	long := url.Values{"csrf": {csrf(t, page)}, "username": {reception}, "password": {strings.Repeat("x", 5<<10)}}
	if code, _, _ := b.do("POST", "login", long); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 5 KiB urlencoded login form: %d, want 413", code)
	}
	b.login(reception, recPW) // the ordinary form still logs in
}

// TestPortalFormBoundPerRoute: a POST's bound is the route's, not the
// client's Content-Type: only a company administrator's prompt upload may
// be a large multipart body; any other form is 64 KiB at most, whoever
// sends it (here a plain user's 3 MiB multipart change of its forwards,
// and an administrator's to Users), and multipart elsewhere is 415.
func TestPortalFormBoundPerRoute(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser(acme, "/")
	tok := b.login(reception, recPW)
	code, _ := b.multipartPost("me", map[string]string{"csrf": tok, "cfna_dest": "", "cfna_duration": "20"}, make([]byte, 3<<20))
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("a plain user's 3 MiB multipart POST to /me: %d, want 413 (only prompt uploads may be large)", code)
	}
	if code, _ := b.multipartPost("prompts/"+e.guids[reception]+"/upload", map[string]string{"csrf": tok}, make([]byte, 3<<20)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a plain user's 3 MiB prompt upload: %d, want 413 (uploads are an administrator's)", code)
	}
	ab := e.browser(acme, "/")
	atok := ab.login(acme, acmePW)
	if code, _ := ab.multipartPost("users", map[string]string{"csrf": atok, "username": "big"}, make([]byte, 3<<20)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("an administrator's 3 MiB multipart POST to /users: %d, want 413", code)
	}
	if code, _ := ab.multipartPost("users", map[string]string{"csrf": atok, "username": "small"}, nil); code != http.StatusUnsupportedMediaType {
		t.Errorf("an administrator's small multipart POST to /users: %d, want 415", code)
	}
}

// TestPortalLoginLimitsSharedWithAPI: the portal and the API count failed
// logins with one limiter (as xc5 serve wires them), so an account the
// API has locked out after wrong passwords cannot be guessed at the
// portal with a budget of its own.
func TestPortalLoginLimitsSharedWithAPI(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	locked := false
	for i := 0; i < 40 && !locked; i++ {
		req, _ := http.NewRequest("GET", e.url+"/api-sys/account/", nil)
		req.SetBasicAuth(reception, "wrong-password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		locked = resp.StatusCode == http.StatusTooManyRequests
	}
	if !locked {
		t.Fatal("the API never refused the wrong passwords")
	}
	b := e.browser(acme, "/")
	_, page, _ := b.do("GET", "login", nil)
	code, _, _ := b.do("POST", "login", url.Values{"csrf": {csrf(t, page)}, "username": {reception}, "password": {"wrong-password"}})
	if code != http.StatusTooManyRequests {
		t.Errorf("portal login of an account the API has locked out: %d, want 429", code)
	}
}

// TestPortalAdminAboveCompany: a system-level (or reseller) account is
// the company's administrator; its own account is outside the company,
// so Calls and Voicemail show the company account by default (they were
// 404), and it has no "My account" here.
func TestPortalAdminAboveCompany(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser(acme, "/")
	b.login("admin", adminPW)
	for _, rel := range []string{"calls", "voicemail"} {
		code, page, _ := b.do("GET", rel, nil)
		if code != http.StatusOK {
			t.Errorf("system administrator at %s: GET /%s: %d, want 200", acme, rel, code)
		}
		if !strings.Contains(page, acme) {
			t.Errorf("GET /%s does not show the company account %s:\n%s", rel, acme, page)
		}
		if strings.Contains(page, `href="/me"`) {
			t.Errorf("GET /%s offers My account to an administrator from outside the company", rel)
		}
	}
	if code, _, _ := b.do("GET", "me", nil); code != http.StatusNotFound {
		t.Errorf("system administrator's /me at %s: %d, want 404 (its account is not the company's)", acme, code)
	}
	// The company's own administrator still sees its own account.
	ab := e.browser(acme, "/")
	ab.login(acme, acmePW)
	if code, page, _ := ab.do("GET", "me", nil); code != http.StatusOK || !strings.Contains(page, acme) {
		t.Errorf("company administrator's /me: %d", code)
	}
}

// TestPortalCompanyHostServesOnlyItsPortal: a company's host serves that
// company's portal only; /portal/{company}/ there is 404, for another
// company (two tenants on one origin) and for itself alike. Hosts of no
// company still serve /portal/{company}/.
func TestPortalCompanyHostServesOnlyItsPortal(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	for _, name := range []string{other, acme} {
		for _, host := range []string{acme, "www." + acme} {
			if code, _, _ := e.browser(host, "/portal/"+name+"/").do("GET", "login", nil); code != http.StatusNotFound {
				t.Errorf("GET /portal/%s/login with Host %s: %d, want 404", name, host, code)
			}
		}
	}
	if code, _, _ := e.browser("", "/portal/"+other+"/").do("GET", "login", nil); code != http.StatusOK {
		t.Errorf("GET /portal/%s/login at 127.0.0.1: %d, want 200", other, code)
	}
}

// TestPortalNoPortalForSystemAccounts: the system's own accounts are no
// company: not admin (top-level, created by Bootstrap), not the "_"
// accounts, not a top-level account with api_access=system, by path or
// by host. A top-level account without api_access is a company.
func TestPortalNoPortalForSystemAccounts(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	const ops, plain = "ops.x.co.nz", "plain.x.co.nz"
	e.api("PUT", "/api-sys/account/", `{"username":"`+ops+`","password":"ops-pw-123456"}`)
	e.api("PUT", "/api-sys/account/"+ops+"/accountresource", `{"name":"api_access","value":"system"}`)
	e.api("PUT", "/api-sys/account/", `{"username":"`+plain+`","password":"plain-pw-123456"}`)
	for _, name := range []string{"admin", "_unassigned.pool", "_prompt.shared", ops} {
		if code, _, _ := e.browser("", "/portal/"+name+"/").do("GET", "login", nil); code != http.StatusNotFound {
			t.Errorf("GET /portal/%s/login: %d, want 404", name, code)
		}
	}
	if code, _, _ := e.browser(ops, "/").do("GET", "login", nil); code != http.StatusNotFound {
		t.Errorf("GET /login with Host %s: %d, want 404", ops, code)
	}
	if code, _, _ := e.browser(plain, "/").do("GET", "login", nil); code != http.StatusOK {
		t.Errorf("GET /login with Host %s (a top-level account): %d, want 200", plain, code)
	}
}

// TestPortalBadBytesNot5xx: a NUL byte or invalid UTF-8 in a username,
// GUID or filter is 4xx on both backends (PostgreSQL refuses such text
// as an error: the store answers "not found" or "invalid" before asking
// it); a login with such a name is an ordinary failed login, counted.
func TestPortalBadBytesNot5xx(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	for _, be := range storetest.Chosen(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Open(t)
			t.Cleanup(func() { s.Close() })
			e := newEnv(t, s)
			lb := e.browser(acme, "/")
			_, lp, _ := lb.do("GET", "login", nil)
			failed := e.logins.Stats().Failed
			if code, _, _ := lb.do("POST", "login", url.Values{"csrf": {csrf(t, lp)}, "username": {reception + "\x00"}, "password": {"x"}}); code != http.StatusUnauthorized {
				t.Errorf("login with a NUL in the username: %d, want 401", code)
			}
			if got := e.logins.Stats().Failed; got != failed+1 {
				t.Errorf("failed logins %d after a login with a NUL, want %d", got, failed+1)
			}
			b := e.browser(acme, "/")
			b.login(acme, acmePW)
			for _, rel := range []string{"calls?account=a%00b", "calls.csv?account=a%00b", "voicemail?account=a%00b", "numbers?account=a%00b",
				"prompts?account=a%00b", "users/a%00b", "voicemail/a%00b/x/audio", "numbers?filter=%00", "numbers?filter=%FF",
				"users/a%FFb", "voicemail/" + e.guids[reception] + "/a%00b/audio"} {
				if code, _, _ := b.do("GET", rel, nil); code < 400 || code >= 500 {
					t.Errorf("GET /%s: %d, want 4xx", rel, code)
				}
			}
		})
	}
}

// TestPortalCSVNotCached: the calls CSV (every matching call record,
// names and numbers) is sent private, no-store, like the pages and the
// audio: no browser's disk cache or proxy keeps it after logout.
func TestPortalCSVNotCached(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser(acme, "/")
	b.login(acme, acmePW)
	code, _, h := b.do("GET", "calls.csv", nil)
	if code != http.StatusOK {
		t.Fatalf("calls.csv: %d", code)
	}
	if cc := h.Get("Cache-Control"); !strings.Contains(cc, "no-store") || !strings.Contains(cc, "private") {
		t.Errorf("calls.csv Cache-Control %q, want private, no-store", cc)
	}
}

// TestPortalHSTS: over HTTPS the portal sends Strict-Transport-Security,
// so that a later visit typed as http://acmebrick.x.co.nz is not
// downgraded (and the login form captured); over plain HTTP it does not
// (browsers ignore it there, and the server cannot promise HTTPS).
func TestPortalHSTS(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	p := portal.New(portal.Options{Store: e.store, View: e.view, SessionKey: []byte("portal-key-0123456789abcdef01234"), Logger: quiet})
	srv := httptest.NewTLSServer(p)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL+"/login", nil)
	req.Host = acme
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page over TLS: %d", resp.StatusCode)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=") {
		t.Errorf("Strict-Transport-Security %q on the portal over HTTPS, want max-age", h)
	}
	_, _, h := e.browser(acme, "/").do("GET", "login", nil)
	if v := h.Get("Strict-Transport-Security"); v != "" {
		t.Errorf("Strict-Transport-Security %q over plain HTTP", v)
	}
}
