package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"xc5/api"
	"xc5/media/wav"
	"xc5/storetest"
)

const testPassword = "adminpw"

// recorded is what the server saw of the last request.
type recorded struct {
	mu          sync.Mutex
	rawQuery    string
	requestURI  string
	contentType string
	body        []byte
}

func (r *recorded) get() (rawQuery, requestURI, contentType string, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rawQuery, r.requestURI, r.contentType, r.body
}

// record wraps h to remember each request before h serves it.
func record(rec *recorded, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.rawQuery, rec.requestURI, rec.contentType, rec.body = r.URL.RawQuery, r.RequestURI, r.Header.Get("Content-Type"), body
		rec.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// newAPIServer runs the real api-sys server over a fresh store.
func newAPIServer(t *testing.T) (*httptest.Server, *recorded) {
	t.Helper()
	store := storetest.Open(t, testPassword)
	rec := &recorded{}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(record(rec, api.New(store, api.Options{Logger: quiet})))
	t.Cleanup(srv.Close)
	return srv, rec
}

// clearEnv keeps the caller's environment out of a test.
func clearEnv(t *testing.T) {
	for _, k := range []string{"XC5_URL", "XC5_USER", "XC5_PASSWORD"} {
		t.Setenv(k, "")
	}
}

// runAPI runs "xc5 api args…".
func runAPI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = apiCommand(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

// directGet fetches path with net/http, for comparison.
func directGet(t *testing.T, srv *httptest.Server, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.SetBasicAuth("admin", testPassword)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

func TestAPICreateAccount(t *testing.T) {
	clearEnv(t)
	srv, rec := newAPIServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "body.json")
	if err := os.WriteFile(file, []byte(`{"username":"file.x.co.nz"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--url", srv.URL, "--password", testPassword}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		username string
	}{
		{"literal JSON", []string{"PUT", "/api-sys/account/", `{"username":"literal.x.co.nz"}`}, "", "literal.x.co.nz"},
		{"@file", []string{"PUT", "/api-sys/account/", "@" + file}, "", "file.x.co.nz"},
		{"stdin", []string{"PUT", "/api-sys/account/", "-"}, `{"username":"stdin.x.co.nz"}`, "stdin.x.co.nz"},
		{"lower-case method", []string{"put", "/api-sys/account/", `{"username":"lower.x.co.nz"}`}, "", "lower.x.co.nz"},
		// exec API 'PUT /api-sys/account/', '{"username":"acmebrick.x.co.nz"}'
		// pasted after "xc5 api": the shell leaves the comma.
		{"document form via shell", []string{"PUT /api-sys/account/,", `{"username":"acmebrick.x.co.nz"}`}, "", "acmebrick.x.co.nz"},
		// The same with the quotes still on (no shell in between).
		{"document form with quotes", []string{"'PUT /api-sys/account/',", `'{"username":"quoted.x.co.nz"}'`}, "", "quoted.x.co.nz"},
		{"document form, space before comma", []string{"'PUT /api-sys/account/'", ",", `'{"username":"spaced.x.co.nz"}'`}, "", "spaced.x.co.nz"},
		{"document form as one argument", []string{`'PUT /api-sys/account/', '{"username":"one.x.co.nz"}'`}, "", "one.x.co.nz"},
		{"document form with exec API", []string{"exec", "API", "'PUT /api-sys/account/',", `'{"username":"exec.x.co.nz"} '`}, "", "exec.x.co.nz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runAPI(t, tt.stdin, append(flags, tt.args...)...)
			if err != nil {
				t.Fatalf("error %v; stderr:\n%s", err, stderr)
			}
			if _, _, ct, _ := rec.get(); ct != "application/json" {
				t.Errorf("Content-Type sent %q, want application/json", ct)
			}
			var got []map[string]any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout)
			}
			if len(got) != 1 || got[0]["username"] != tt.username {
				t.Fatalf("created %v, want username %q", got, tt.username)
			}
			if stderr != "" {
				t.Errorf("stderr without -v: %q", stderr)
			}
			// The account is there.
			if _, _, err := runAPI(t, "", append(flags, "GET", "/api-sys/account/"+tt.username)...); err != nil {
				t.Errorf("GET the new account: %v", err)
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	clearEnv(t)
	srv, _ := newAPIServer(t)
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"invalid path", []string{"--url", srv.URL, "--password", testPassword, "GET", "/api-sys/x"}, []string{"404: invalid path"}},
		{"wrong password", []string{"--url", srv.URL, "--password", "wrong", "GET", "/api-sys/"}, []string{"401"}},
		{"no password", []string{"--url", srv.URL, "GET", "/api-sys/"}, []string{"401", "--password"}},
		{"bad body", []string{"--url", srv.URL, "--password", testPassword, "PUT", "/api-sys/account/", `{"username":`}, []string{"400"}},
		{"unknown method", []string{"--url", srv.URL, "FETCH", "/api-sys/"}, []string{"unknown method"}},
		{"no path", []string{"--url", srv.URL, "GET"}, []string{"PATH"}},
		{"no arguments", []string{"--url", srv.URL}, []string{"METHOD PATH"}},
		{"missing file", []string{"--url", srv.URL, "PUT", "/api-sys/account/", "@/nonexistent/body.json"}, []string{"reading the body"}},
		{"bad url", []string{"--url", "127.0.0.1:8080", "GET", "/api-sys/"}, []string{"--url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runAPI(t, "", tt.args...)
			if err == nil {
				t.Fatalf("no error; stdout:\n%s", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if stdout != "" {
				t.Errorf("stdout on error: %q", stdout)
			}
		})
	}
}

func TestAPIConnectionRefused(t *testing.T) {
	clearEnv(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, _, err := runAPI(t, "", "--url", url, "GET", "/api-sys/")
	if err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("error %v, want a clear connection error", err)
	}
}

// The document's query strings are not valid percent-encoding; they must
// reach the server exactly as typed.
func TestAPIRawQueryVerbatim(t *testing.T) {
	clearEnv(t)
	srv, rec := newAPIServer(t)
	if _, _, err := runAPI(t, "", "--url", srv.URL, "--password", testPassword, "PUT", "/api-sys/account/", `{"username":"reception@acmebrick.x.co.nz"}`); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, query string }{
		{"/api-sys/account/reception@acmebrick.x.co.nz/numberallocate", "filter=%88"},
		{"/api-sys/location", "filter=<CallR%"},
		{"/api-sys/account", "filter=%41%zz&limit=5"},
		{"/api-sys/account/reception@acmebrick.x.co.nz/number", "patch=true"},
		{"/api-sys/account/a<b/number", "filter=%"}, // a path Go would re-encode
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			typed := tt.path + "?" + tt.query
			_, _, err := runAPI(t, "", "--url", srv.URL, "--password", testPassword, "GET", typed)
			if err != nil && strings.Contains(err.Error(), "GET") {
				t.Fatalf("transport: %v", err) // a server error status is fine here
			}
			rawQuery, requestURI, _, _ := rec.get()
			if rawQuery != tt.query {
				t.Errorf("server saw RawQuery %q, want %q", rawQuery, tt.query)
			}
			if requestURI != typed {
				t.Errorf("server saw RequestURI %q, want %q", requestURI, typed)
			}
		})
	}
	// The document's quoted form keeps it too.
	if _, _, err := runAPI(t, "", "--url", srv.URL, "--password", testPassword,
		"'GET /api-sys/account/reception@acmebrick.x.co.nz/numberallocate?filter=%88'"); err != nil {
		t.Fatal(err)
	}
	if rawQuery, _, _, _ := rec.get(); rawQuery != "filter=%88" {
		t.Errorf("quoted form: RawQuery %q, want filter=%%88", rawQuery)
	}
}

func TestAPIEnvironment(t *testing.T) {
	srv, _ := newAPIServer(t)
	t.Setenv("XC5_URL", srv.URL)
	t.Setenv("XC5_USER", "admin")
	t.Setenv("XC5_PASSWORD", testPassword)
	stdout, _, err := runAPI(t, "", "GET", "/api-sys/account/admin")
	if err != nil {
		t.Fatalf("with XC5_URL/XC5_USER/XC5_PASSWORD: %v", err)
	}
	if !strings.Contains(stdout, `"username": "admin"`) {
		t.Errorf("output lacks the admin account:\n%s", stdout)
	}
	// The variables are read at each call, and flags win over them.
	t.Setenv("XC5_PASSWORD", "wrong")
	if _, _, err := runAPI(t, "", "GET", "/api-sys/"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("XC5_PASSWORD=wrong: error %v, want 401", err)
	}
	if _, _, err := runAPI(t, "", "--password", testPassword, "GET", "/api-sys/"); err != nil {
		t.Errorf("--password over XC5_PASSWORD: %v", err)
	}
	t.Setenv("XC5_USER", "nobody")
	if _, _, err := runAPI(t, "", "--password", testPassword, "GET", "/api-sys/"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("XC5_USER=nobody: error %v, want 401", err)
	}
	t.Setenv("XC5_USER", "")
	if _, _, err := runAPI(t, "", "--password", testPassword, "GET", "/api-sys/"); err != nil {
		t.Errorf("user defaults to admin: %v", err)
	}
}

func TestAPIPrettyKeepsKeyOrder(t *testing.T) {
	clearEnv(t)
	// A reply whose keys are not in sorted order.
	const reply = `[{"zeta":1,"alpha":{"y":true,"b":[1,2]},"mid":"<&>"}]` + "\n"
	const want = `[
  {
    "zeta": 1,
    "alpha": {
      "y": true,
      "b": [
        1,
        2
      ]
    },
    "mid": "<&>"
  }
]
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/hal+json")
		io.WriteString(w, reply)
	}))
	defer srv.Close()
	stdout, _, err := runAPI(t, "", "--url", srv.URL, "GET", "/api-sys/")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != want {
		t.Errorf("pretty output:\n%s\nwant:\n%s", stdout, want)
	}
	stdout, _, err = runAPI(t, "", "--url", srv.URL, "--raw", "GET", "/api-sys/")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != reply {
		t.Errorf("--raw output %q, want %q", stdout, reply)
	}

	// Against the real server: the same as indenting its bytes.
	api, _ := newAPIServer(t)
	stdout, _, err = runAPI(t, "", "--url", api.URL, "--password", testPassword, "GET", "/api-sys/account/admin")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(directGet(t, api, "/api-sys/account/admin")), "", "  "); err != nil {
		t.Fatal(err)
	}
	b.WriteByte('\n')
	if stdout != b.String() {
		t.Errorf("output:\n%s\nwant:\n%s", stdout, b.String())
	}
	if i, j := strings.Index(stdout, `"guid"`), strings.Index(stdout, `"_links"`); i < 0 || j < 0 || i > j {
		t.Errorf("guid should come before _links as the server sent them:\n%s", stdout)
	}
}

func TestAPIAudio(t *testing.T) {
	clearEnv(t)
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), 0x00, 0xff, 0x80, 0x01)
	rec := &recorded{}
	srv := httptest.NewServer(record(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" && strings.HasPrefix(r.Header.Get("Accept"), "audio/") {
			w.Header().Set("Content-Type", "audio/wav")
			w.Write(wav)
			return
		}
		w.Header().Set("Content-Type", "application/hal+json")
		io.WriteString(w, `[{"guid":"4319C6B9-EAEF-4583-97B3-1CC13514EED4"}]`)
	})))
	defer srv.Close()

	// A .wav @file goes out as audio/wav, byte for byte.
	file := filepath.Join(t.TempDir(), "greeting.WAV")
	if err := os.WriteFile(file, wav, 0o600); err != nil {
		t.Fatal(err)
	}
	path := "/api-sys/account/main_entry@acmebrick.x.co.nz/prompt/4319C6B9-EAEF-4583-97B3-1CC13514EED4"
	if _, _, err := runAPI(t, "", "--url", srv.URL, "PUT", path, "@"+file); err != nil {
		t.Fatal(err)
	}
	if _, _, ct, body := rec.get(); ct != "audio/wav" || !bytes.Equal(body, wav) {
		t.Errorf("sent Content-Type %q body %q, want audio/wav %q", ct, body, wav)
	}
	// --content-type wins.
	if _, _, err := runAPI(t, "", "--url", srv.URL, "--content-type", "audio/x-wav", "PUT", path, "@"+file); err != nil {
		t.Fatal(err)
	}
	if _, _, ct, _ := rec.get(); ct != "audio/x-wav" {
		t.Errorf("--content-type: sent %q", ct)
	}
	// A non-JSON reply is written as received.
	stdout, _, err := runAPI(t, "", "--url", srv.URL, "--accept", "audio/wav", "GET", path)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(wav) {
		t.Errorf("audio reply written as %q, want %q", stdout, wav)
	}
}

func TestAPIVerbose(t *testing.T) {
	clearEnv(t)
	srv, _ := newAPIServer(t)
	for _, flag := range []string{"-v", "--verbose"} {
		t.Run(flag, func(t *testing.T) {
			stdout, stderr, err := runAPI(t, "", "--url", srv.URL, "--password", testPassword, flag, "OPTIONS", "/api-sys/account/*/number")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"HTTP/1.1 200 OK", "Content-Type: application/hal+json"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stdout, "HTTP/1.1") || !strings.Contains(stdout, `"description"`) {
				t.Errorf("stdout should hold only the body:\n%s", stdout)
			}
		})
	}
}

func TestAPIInsecure(t *testing.T) {
	clearEnv(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/hal+json")
		io.WriteString(w, `[{"ok":true}]`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	_, _, err := runAPI(t, "", "--url", srv.URL, "GET", "/api-sys/")
	if err == nil || !strings.Contains(err.Error(), "--insecure") {
		t.Fatalf("self-signed certificate without --insecure: error %v, want a hint at --insecure", err)
	}
	stdout, _, err := runAPI(t, "", "--url", srv.URL, "--insecure", "GET", "/api-sys/")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "[\n  {\n    \"ok\": true\n  }\n]\n" {
		t.Errorf("output %q", stdout)
	}
}

func TestParseAPIArgs(t *testing.T) {
	tests := []struct {
		args               []string
		method, path, body string
	}{
		{[]string{"get", "/api-sys/"}, "GET", "/api-sys/", ""},
		{[]string{"/api-sys/account"}, "GET", "/api-sys/account", ""},
		{[]string{"'GET /api-sys/account/reception@acmebrick.x.co.nz'"}, "GET", "/api-sys/account/reception@acmebrick.x.co.nz", ""},
		{[]string{"PUT /api-sys/account/reception@acmebrick.x.co.nz/route,{ \"order\":200 }"}, "PUT", "/api-sys/account/reception@acmebrick.x.co.nz/route", `{ "order":200 }`},
		{[]string{`'PATCH /api-sys/account/reception@acmebrick.x.co.nz','{ "cfna_duration":10 }'`}, "PATCH", "/api-sys/account/reception@acmebrick.x.co.nz", `{ "cfna_duration":10 }`},
		{[]string{`"DELETE /api-sys/account/x"`}, "DELETE", "/api-sys/account/x", ""},
		{[]string{"PUT", "/api-sys/account/", "-"}, "PUT", "/api-sys/account/", "-"},
		{[]string{"GET", "'/api-sys/location?filter=<CallR%'"}, "GET", "/api-sys/location?filter=<CallR%", ""},
		{[]string{"GET /api-sys/account?filter=a,b"}, "GET", "/api-sys/account?filter=a,b", ""},
		{[]string{"PUT /api-sys/account/acmebrick.x.co.nz/callrule,{ \"order\":-2, \"destination\":\":600\"} "}, "PUT", "/api-sys/account/acmebrick.x.co.nz/callrule", `{ "order":-2, "destination":":600"}`},
		{[]string{"exec", "API", "'GET /api-sys/guid'"}, "GET", "/api-sys/guid", ""},
	}
	for _, tt := range tests {
		m, p, b, err := parseAPIArgs(tt.args)
		if err != nil || m != tt.method || p != tt.path || b != tt.body {
			t.Errorf("parseAPIArgs(%q) = %q %q %q %v, want %q %q %q", tt.args, m, p, b, err, tt.method, tt.path, tt.body)
		}
	}
}

// TestAPIPromptAudio uploads a .wav prompt to the real server and fetches
// its audio back: the document's "..form data of file..." step.
func TestAPIPromptAudio(t *testing.T) {
	clearEnv(t)
	srv, _ := newAPIServer(t)
	t.Setenv("XC5_URL", srv.URL)
	t.Setenv("XC5_PASSWORD", testPassword)
	if _, _, err := runAPI(t, "", "PUT", "/api-sys/account/", `{"username":"main_entry@acmebrick.x.co.nz"}`); err != nil {
		t.Fatal(err)
	}
	out, _, err := runAPI(t, "", "GET", "/api-sys/guid")
	if err != nil {
		t.Fatal(err)
	}
	var g []struct{ GUID string }
	if err := json.Unmarshal([]byte(out), &g); err != nil || len(g) != 1 {
		t.Fatalf("GET /api-sys/guid: %v\n%s", err, out)
	}
	samples := make([]int16, 8000)
	for i := range samples {
		samples[i] = int16((i % 40) * 500)
	}
	file := filepath.Join(t.TempDir(), "greeting.wav")
	if err := os.WriteFile(file, wav.Encode(samples, 8000), 0o600); err != nil {
		t.Fatal(err)
	}
	path := "/api-sys/account/main_entry@acmebrick.x.co.nz/prompt/" + g[0].GUID
	out, _, err = runAPI(t, "", "PUT", path, "@"+file)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if !strings.Contains(out, `"guid": "`+g[0].GUID+`"`) {
		t.Errorf("upload reply:\n%s", out)
	}
	audio, _, err := runAPI(t, "", "--accept", "audio/wav", "GET", path)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if !strings.HasPrefix(audio, "RIFF") || !strings.Contains(audio[:16], "WAVE") {
		t.Errorf("download is not WAV: %q…", audio[:min(len(audio), 16)])
	}
}

func TestBuildURL(t *testing.T) {
	tests := []struct{ prefix, target, requestURI string }{
		{"", "/api-sys/location?filter=<CallR%", "/api-sys/location?filter=<CallR%"},
		{"", "/api-sys/account/x/numberallocate?filter=%88", "/api-sys/account/x/numberallocate?filter=%88"},
		{"", "/api-sys/account/alice%40example.net", "/api-sys/account/alice%40example.net"},
		{"", "/api-sys/acc<ount/%zz", "/api-sys/acc<ount/%zz"},
		{"", "/api-sys/account/*/number", "/api-sys/account/*/number"},
		{"", "/api-sys/?", "/api-sys/?"},
		// Bytes that cannot go in a request line at all are encoded.
		{"", "/api-sys/a b?filter=x y#z", "/api-sys/a%20b?filter=x%20y%23z"},
		{"/pbx", "/api-sys/", "/pbx/api-sys/"},
	}
	for _, tt := range tests {
		u := buildURL("http", "example.com", tt.prefix, tt.target)
		if got := u.RequestURI(); got != tt.requestURI {
			t.Errorf("buildURL(%q, %q).RequestURI() = %q, want %q", tt.prefix, tt.target, got, tt.requestURI)
		}
	}
}

func TestAPIURLForms(t *testing.T) {
	clearEnv(t)
	srv, rec := newAPIServer(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name string
		args []string
	}{
		{"full URL with credentials as PATH", []string{"--url", "http://127.0.0.1:1", "GET", "http://admin:" + testPassword + "@" + host + "/api-sys/account/admin"}},
		{"credentials in --url", []string{"--url", "http://admin:" + testPassword + "@" + host, "GET", "/api-sys/account/admin"}},
		{"--url ending in /api-sys", []string{"--url", srv.URL + "/api-sys/", "--password", testPassword, "GET", "/api-sys/account/admin"}},
		{"PATH below /api-sys/", []string{"--url", srv.URL, "--password", testPassword, "GET", "account/admin"}},
		{"bare PATH means GET", []string{"--url", srv.URL, "--password", testPassword, "/api-sys/account/admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runAPI(t, "", tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if _, uri, _, _ := rec.get(); uri != "/api-sys/account/admin" {
				t.Errorf("server saw %q", uri)
			}
			if !strings.Contains(stdout, `"username": "admin"`) {
				t.Errorf("output:\n%s", stdout)
			}
		})
	}
}
