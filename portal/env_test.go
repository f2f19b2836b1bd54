package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"xc5"
	"xc5/api"
	"xc5/media/wav"
	"xc5/portal"
	"xc5/ratelimit"
	"xc5/resource"
	"xc5/routing"
	"xc5/sqlstore"
)

// The document's walkthrough, copied in the API's tests; replayed here
// through the real API to build acmebrick.x.co.nz as the document does.
const documentFile = "../api/testdata/xc5-json-system-provisioning.txt"

const (
	acme      = "acmebrick.x.co.nz"
	other     = "othercorp.x.co.nz"
	reception = "reception@acmebrick.x.co.nz"
	sales     = "sales@acmebrick.x.co.nz"
	boss      = "boss@othercorp.x.co.nz"
	adminPW   = "portal-test-admin"
	acmePW    = "acme-admin-pw-1"
	recPW     = "reception-pw-1"
	otherPW   = "other-admin-pw-1"
	bossPW    = "boss-pw-1"
)

// env is a store, its routing view, the real API and the portal served
// together as xc5 serve serves them.
type env struct {
	t     *testing.T
	store *sqlstore.Store
	view  *routing.View
	// logins is the failed-login limiter the API and the portal share.
	logins *ratelimit.Limiter
	url    string // http://127.0.0.1:port
	port   string
	guids  map[string]string // username → GUID
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newEnv builds the document's company and a second company, othercorp,
// on the store that open returns, and serves them.
func newEnv(t *testing.T, store *sqlstore.Store) *env {
	t.Helper()
	ctx := context.Background()
	if _, err := store.Bootstrap(ctx, adminPW); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Pacific/Auckland")
	view := routing.NewView(routing.Defaults{Location: loc, CountryCode: "64"})
	view.Follow(store)
	if err := view.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	// One failed-login limiter for both, as xc5 serve wires them.
	logins := ratelimit.New(ratelimit.Config{})
	apiSrv := api.New(store, api.Options{View: view, Logger: quiet, SessionKey: []byte("0123456789abcdef0123456789abcdef"),
		Auth: api.AuthOptions{Limiter: logins}})
	p := portal.New(portal.Options{Store: store, View: view, SessionKey: []byte("portal-key-0123456789abcdef01234"), Limiter: logins, Insecure: true, Logger: quiet})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.Match(r) {
			p.ServeHTTP(w, r)
			return
		}
		apiSrv.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	e := &env{t: t, store: store, view: view, logins: logins, url: srv.URL, port: u.Port(), guids: map[string]string{}}
	e.document()
	e.api("PUT", "/api-sys/account/"+acme+"/accountresource", `{"name":"api_access","value":"user"}`)
	e.api("PATCH", "/api-sys/account/"+acme, `{"password":"`+acmePW+`"}`)
	e.api("PATCH", "/api-sys/account/"+reception, `{"password":"`+recPW+`","ums_pin":"1234"}`)
	e.api("PUT", "/api-sys/account/", `{"username":"`+other+`","password":"`+otherPW+`"}`)
	e.api("PUT", "/api-sys/account/"+other+"/accountresource", `{"name":"api_access","value":"user"}`)
	e.api("PUT", "/api-sys/account/"+other+"/child", `{"username":"`+boss+`","password":"`+bossPW+`","ums_pin":"4321"}`)
	for _, n := range []string{acme, other, reception, sales, boss, "main_entry@" + acme} {
		c, err := store.Credentials(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		e.guids[n] = c.GUID
	}
	return e
}

// api sends one request to the API as the system administrator.
func (e *env) api(method, path, body string) string {
	return e.apiRaw(method, path, "application/json", []byte(body))
}

func (e *env) apiRaw(method, path, ctype string, body []byte) string {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+"/", bytes.NewReader(body))
	req.URL.Path, req.URL.RawQuery, _ = strings.Cut(path, "?")
	req.SetBasicAuth("admin", adminPW)
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("%s %s %s: %d %s", method, path, body, resp.StatusCode, out)
	}
	return string(out)
}

// document replays every write of the document's walkthrough.
func (e *env) document() {
	upload := func(path string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "greeting.wav")
		fw.Write(tone(8000))
		mw.Close()
		e.apiRaw("PUT", path, mw.FormDataContentType(), buf.Bytes())
	}
	e.api("PUT", "/api-sys/account/_unassigned.pool/number/D5A51C5C-F762-4E82-8B3E-7CB15662D40C", `{"number":"6491231288"}`)
	upload("/api-sys/account/_prompt.shared/prompt/F4FE3E59-0439-4849-9444-85BEFE8694B3")
	doc, err := os.ReadFile(documentFile)
	if err != nil {
		e.t.Fatal(err)
	}
	exec := regexp.MustCompile(`exec API '([A-Z]+) ([^']+)'(?:\s*,\s*'([^']*)')?`)
	guid := regexp.MustCompile(`"guid":\s*"([^"]+)"`)
	afterHours := ""
	for _, m := range exec.FindAllStringSubmatch(string(doc), -1) {
		method, path, body := m[1], m[2], strings.TrimSpace(m[3])
		switch {
		case method == "GET":
		case body == "..form data of file...":
			upload(path)
		default:
			if afterHours != "" {
				body = strings.ReplaceAll(body, "ECB3B334-5F1D-4CD7-8446-675FC7476E31", afterHours)
			}
			out := e.api(method, path, body)
			if strings.Contains(body, "After Hours Menu") {
				afterHours = guid.FindStringSubmatch(out)[1]
			}
		}
	}
}

// tone is n samples of an 8 kHz 440 Hz WAV.
func tone(n int) []byte {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return wav.Encode(s, 8000)
}

// leaveVoicemail puts a two-second message in an account's mailbox.
func (e *env) leaveVoicemail(account, from string) string {
	e.t.Helper()
	g := resource.NewGUID()
	err := e.store.LeaveVoicemail(context.Background(), xc5.Voicemail{GUID: g, Account: e.guids[account], From: from,
		To: account, Received: time.Now(), Duration: 2 * time.Second, Status: xc5.VoicemailNew, Audio: tone(16000)}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

// addCDR writes a call record of an account.
func (e *env) addCDR(account string, vals map[string]any) {
	e.t.Helper()
	if err := e.store.AddCDR(context.Background(), e.guids[account], vals); err != nil {
		e.t.Fatal(err)
	}
}

// browser is a plain HTTP client with its own cookies, sending requests
// to the test server with the Host a company's domain would have.
type browser struct {
	t    *testing.T
	e    *env
	host string // Host header; "" for 127.0.0.1
	base string // the portal's base path at that host
	c    *http.Client
}

func (e *env) browser(host, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, host: host, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request; rel is below the portal's base.
func (b *browser) do(method, rel string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.url+b.base+rel, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if b.host != "" {
		req.Host = b.host
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// The cookie jar keys cookies by the URL's host (127.0.0.1), which
	// stands here for every Host: each browser value talks to one host.
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of a page's first form.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// login logs in and fails the test unless it works.
func (b *browser) login(user, pw string) string {
	b.t.Helper()
	_, page, _ := b.do("GET", "login", nil)
	code, body, h := b.do("POST", "login", url.Values{"csrf": {csrf(b.t, page)}, "username": {user}, "password": {pw}})
	if code != http.StatusSeeOther {
		b.t.Fatalf("login %s: %d %s", user, code, body)
	}
	_ = h
	_, home, _ := b.do("GET", "", nil)
	return csrf(b.t, home)
}

// record reads a record through the API as JSON.
func (e *env) record(path string) map[string]any {
	var out []map[string]any
	if err := json.Unmarshal([]byte(e.api("GET", path, "")), &out); err != nil || len(out) == 0 {
		e.t.Fatalf("GET %s: %v %v", path, out, err)
	}
	return out[0]
}
