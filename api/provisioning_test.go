package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"xc5/api"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// raw sends a request with full control over credentials and headers.
func (c *client) raw(method, path string, body []byte, hdr map[string]string, basic bool) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if basic {
		req.SetBasicAuth("admin", adminPW)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (c *client) status(method, path, body string) (int, string) {
	c.t.Helper()
	resp, b := c.raw(method, path, []byte(body), map[string]string{"Content-Type": "application/json"}, true)
	return resp.StatusCode, string(b)
}

func TestOptionsForEveryResource(t *testing.T) {
	c := newServer(t)
	for _, r := range resource.All {
		path := "/api-sys/" + r.Name
		if r.Parent != nil {
			path = "/api-sys/account/*/" + r.Name
		}
		resp, b := c.raw("OPTIONS", path, nil, nil, false)
		var doc []struct {
			Description string
			Methods     []string
			Fields      map[string]struct{ Type, Description string }
		}
		if resp.StatusCode != 200 || json.Unmarshal(b, &doc) != nil || len(doc) != 1 {
			t.Errorf("OPTIONS %s: %d %s", path, resp.StatusCode, b)
			continue
		}
		if doc[0].Description != r.Description || len(doc[0].Methods) == 0 {
			t.Errorf("OPTIONS %s: %+v", path, doc[0])
		}
		for _, f := range r.Fields {
			got, ok := doc[0].Fields[f.Name]
			if !ok || got.Type != string(f.Type) || got.Description == "" {
				t.Errorf("OPTIONS %s: field %s = %+v", path, f.Name, got)
			}
		}
		if !r.NoItems {
			if resp, _ := c.raw("OPTIONS", path+"/*", nil, nil, false); resp.StatusCode != 200 {
				t.Errorf("OPTIONS %s/*: %d", path, resp.StatusCode)
			}
		}
	}
}

func TestWriteTimeValidation(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/account/", `{"username":"v.test"}`)
	c.ok("PUT", "/api-sys/account/v.test/child", `{"username":"u@v.test"}`)
	tests := []struct {
		path, body, mentions string
	}{
		{"/api-sys/account/v.test/route", `{"order":-8,"menu_level":1,"digit_map":"1="}`, "digit_map"},
		{"/api-sys/account/v.test/route", `{"order":-8,"menu_level":1,"digit_map":"1=#"}`, "digit_map"},
		{"/api-sys/account/v.test/route", `{"order":-8,"menu_level":1,"digit_map":"=#2"}`, "digit_map"},
		{"/api-sys/account/v.test/route", `{"order":-8,"menu_level":1,"digit_map":"1=#2,1=#3"}`, "digit_map"},
		{"/api-sys/account/v.test/route", `{"order":5,"destination":"u@v.test","time_definition":"Mon-Thur 08:30-25:00"}`, "time_definition"},
		{"/api-sys/account/v.test/route", `{"order":5,"destination":"u@v.test","time_definition":"Funday"}`, "time_definition"},
		{"/api-sys/account/v.test/route", `{"order":5,"destination":"u@v.test","time_definition":"no_such_set"}`, "no_such_set"},
		{"/api-sys/account/v.test/route", `{"order":5,"destination":"fax:123"}`, "destination"},
		{"/api-sys/account/v.test/route", `{"order":5,"destination":"drop:200:ok"}`, "destination"},
		{"/api-sys/account/v.test/route", `{"order":5,"username":"nobody@v.test"}`, "nobody@v.test"},
		{"/api-sys/account/v.test/route", `{"order":5,"destination":"email:x@v.test","promptguid":"4319C6B9-EAEF-4583-97B3-1CC13514EED4"}`, "4319C6B9"},
		{"/api-sys/account/v.test/route", `{"order":0,"destination":"u@v.test"}`, "order 0"},
		{"/api-sys/account/v.test/route", `{"order":5,"hunt_user":true}`, "hunt_user"},
		{"/api-sys/account/v.test/route", `{"destination":"u@v.test"}`, "order"},
		{"/api-sys/account/v.test/callrule", `{"order":-14,"location":"<CallRule-Nowhere>","destination":"drop:404:x"}`, "CallRule-Nowhere"},
		{"/api-sys/account/v.test/callrule", `{"order":-2,"prefix_raw":"6x0","destination":":600"}`, "prefix_raw"},
		{"/api-sys/account/v.test/callrule", `{"order":-2,"prefix_raw":"600"}`, "callrule needs"},
		{"/api-sys/account/v.test/callrule", `{"order":-2,"record_email":"not-an-address"}`, "e-mail"},
		{"/api-sys/account/v.test/fork", `{"destination":"+64 9 123"}`, "fork destination"},
		{"/api-sys/account/v.test/prompt/", `{"description":"x","group_access":"*2299999"}`, "read-only"},
		{"/api-sys/location/", `{"name":"<Bad>","prefixes":"64,abc"}`, "prefix"},
		{"/api-sys/timedefinition/", `{"name":"x","dates":"2025-13-01"}`, "dates"},
		{"/api-sys/timedefinition/", `{"name":"x","definition":"nz_holidays"}`, "cannot name other sets"},
	}
	for _, tt := range tests {
		code, body := c.status("PUT", tt.path, tt.body)
		if code != 400 || !strings.Contains(body, tt.mentions) {
			t.Errorf("PUT %s %s: %d %s, want 400 mentioning %q", tt.path, tt.body, code, body, tt.mentions)
		}
	}
	for _, p := range []string{"/api-sys/account/v.test/route", "/api-sys/account/v.test/callrule", "/api-sys/account/v.test/fork"} {
		if got := c.ok("GET", p, ""); len(got) != 0 {
			t.Errorf("%s after refused writes: %v", p, got)
		}
	}
	// References protect what they name.
	c.ok("PUT", "/api-sys/account/v.test/route", `{"order":5,"username":"u@v.test","hunt_user":true}`)
	if code, body := c.status("DELETE", "/api-sys/account/u@v.test", ""); code != 409 || !strings.Contains(body, "route") {
		t.Errorf("DELETE of an account a route names: %d %s", code, body)
	}
	c.ok("PUT", "/api-sys/account/v.test/callrule", `{"order":-14,"location":"<CallRule-Mobile>","destination":"drop:404:x"}`)
	if code, _ := c.status("DELETE", "/api-sys/location/<CallRule-Mobile>", ""); code != 409 {
		t.Errorf("DELETE of a location in use: %d, want 409", code)
	}
	c.ok("PUT", "/api-sys/account/v.test/route", `{"order":6,"destination":"u@v.test","time_definition":"weekend"}`)
	if code, _ := c.status("DELETE", "/api-sys/timedefinition/weekend", ""); code != 409 {
		t.Errorf("DELETE of a time definition in use: %d, want 409", code)
	}
	// Renaming an account updates nothing silently: it needs a password.
	if code, body := c.status("PATCH", "/api-sys/account/u@v.test", `{"username":"w@v.test"}`); code != 400 || !strings.Contains(body, "password") {
		t.Errorf("rename without password: %d %s", code, body)
	}
}

func TestPromptAudio(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/account/", `{"username":"p.test"}`)
	guid := c.ok("GET", "/api-sys/guid", "")[0]["guid"].(string)
	// Raw audio/wav upload creates the prompt.
	resp, b := c.raw("PUT", "/api-sys/account/p.test/prompt/"+guid, testWAV(0.5), map[string]string{"Content-Type": "audio/wav"}, true)
	if resp.StatusCode != 201 || !strings.Contains(string(b), `"prompt_length":500`) {
		t.Fatalf("raw upload: %d %s", resp.StatusCode, b)
	}
	resp, audio := c.raw("GET", "/api-sys/account/p.test/prompt/"+guid, nil, map[string]string{"Accept": "audio/wav"}, true)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" || !bytes.HasPrefix(audio, []byte("RIFF")) {
		t.Fatalf("GET audio: %d %s %.20q", resp.StatusCode, resp.Header.Get("Content-Type"), audio)
	}
	// A replacement upload through the form updates it (200).
	out := c.upload("/api-sys/account/p.test/prompt/"+guid, testWAV(1))
	if out[0]["prompt_length"] != float64(1000) {
		t.Errorf("re-upload: %v", out)
	}
	bad := []struct {
		name string
		body []byte
		ct   string
		want int
		says string
	}{
		{"not a wav", []byte("ID3 this is an mp3"), "audio/wav", 400, "MP3"},
		{"stereo", stereoWAV(), "audio/wav", 400, "mono"},
		{"empty", nil, "audio/wav", 400, ""},
		{"too large", make([]byte, 21<<20), "audio/wav", 413, "MiB"},
	}
	for _, tt := range bad {
		resp, b := c.raw("PUT", "/api-sys/account/p.test/prompt/"+guid, tt.body, map[string]string{"Content-Type": tt.ct}, true)
		if resp.StatusCode != tt.want || !strings.Contains(string(b), tt.says) {
			t.Errorf("%s: %d %s, want %d mentioning %q", tt.name, resp.StatusCode, b, tt.want, tt.says)
		}
	}
	if got := c.ok("GET", "/api-sys/account/p.test/prompt/"+guid, ""); got[0]["prompt_length"] != float64(1000) {
		t.Errorf("a refused upload changed the prompt: %v", got)
	}
	// An empty prompt has no audio yet.
	empty := c.ok("PUT", "/api-sys/account/p.test/prompt/", `{"description":"to record"}`)[0]
	if resp, _ := c.raw("GET", "/api-sys/account/p.test/prompt/"+empty["guid"].(string), nil, map[string]string{"Accept": "audio/wav"}, true); resp.StatusCode != 404 {
		t.Errorf("audio of an empty prompt: %d, want 404", resp.StatusCode)
	}
	second := c.ok("PUT", "/api-sys/account/p.test/prompt/", `{"description":"another"}`)[0]
	if empty["group_access"] == second["group_access"] {
		t.Errorf("group_access codes repeat: %v", empty["group_access"])
	}
}

// stereoWAV is a valid WAV with two channels.
func stereoWAV() []byte {
	w := testWAV(0.1)
	w[22] = 2 // channels
	return w
}

func TestSessions(t *testing.T) {
	c := newServer(t)
	resp, b := c.raw("PUT", "/api-sys/session", nil, nil, true)
	if resp.StatusCode != 201 {
		t.Fatalf("PUT session: %d %s", resp.StatusCode, b)
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "xc5_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v", cookie)
	}
	withCookie := func(value string) int {
		resp, _ := c.raw("GET", "/api-sys/account/admin", nil, map[string]string{"Cookie": "xc5_session=" + value}, false)
		return resp.StatusCode
	}
	if got := withCookie(cookie.Value); got != 200 {
		t.Fatalf("request with the cookie: %d", got)
	}
	// Forged: another key; unsigned: alg none; expired.
	claims := jwt.MapClaims{"sub": "admin", "jti": "x", "exp": time.Now().Add(time.Hour).Unix()}
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("another-key-another-key-another!"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	parts := strings.Split(cookie.Value, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var p map[string]any
	json.Unmarshal(payload, &p)
	p["exp"] = time.Now().Add(-time.Minute).Unix()
	pb, _ := json.Marshal(p)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(pb) + "." + parts[2]
	for name, tok := range map[string]string{"forged": forged, "alg none": none, "tampered expiry": tampered, "garbage": "abc"} {
		if got := withCookie(tok); got != 401 {
			t.Errorf("%s token: %d, want 401", name, got)
		}
	}
	// DELETE ends it at once.
	resp, _ = c.raw("DELETE", "/api-sys/session", nil, map[string]string{"Cookie": "xc5_session=" + cookie.Value}, false)
	if resp.StatusCode != 200 {
		t.Fatalf("DELETE session: %d", resp.StatusCode)
	}
	if got := withCookie(cookie.Value); got != 401 {
		t.Errorf("cookie after DELETE: %d, want 401", got)
	}
}

func TestRegistrationsReadOnly(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/account/", `{"username":"r.test"}`)
	if got := c.ok("GET", "/api-sys/account/r.test/reg", ""); len(got) != 0 {
		t.Errorf("registrations of a new account: %v", got)
	}
	if code, _ := c.status("PUT", "/api-sys/account/r.test/reg", `{"contact":"sip:x@127.0.0.1"}`); code != 405 {
		t.Errorf("PUT reg: %d, want 405", code)
	}
	if code, _ := c.status("DELETE", "/api-sys/account/r.test/reg/4319C6B9-EAEF-4583-97B3-1CC13514EED4", ""); code != 404 {
		t.Errorf("DELETE of a missing binding: %d, want 404", code)
	}
}

func TestSystemResourcesReadableNotWritableByUsers(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/account/", `{"username":"reseller.test","password":"reseller-pw"}`)
	c.ok("PUT", "/api-sys/account/reseller.test/accountresource/api_access", `{"value":"user"}`)
	as := func(method, path, body string) int {
		req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
		req.SetBasicAuth("reseller.test", "reseller-pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := as("GET", "/api-sys/location", ""); got != 200 {
		t.Errorf("user GET location: %d", got)
	}
	if got := as("PUT", "/api-sys/location/<Mine>", `{"prefixes":"64"}`); got != 403 {
		t.Errorf("user PUT location: %d, want 403", got)
	}
	if got := as("GET", "/api-sys/timedefinition/nz_holidays", ""); got != 200 {
		t.Errorf("user GET timedefinition: %d", got)
	}
	if got := as("GET", "/api-sys/hydraaccount", ""); got != 200 {
		t.Errorf("user GET hydraaccount list: %d", got)
	}
	if got := as("PUT", "/api-sys/hydraaccount/6499000111", `{}`); got != 403 {
		t.Errorf("user PUT hydraaccount: %d, want 403", got)
	}
	// Shared prompts are readable by every API user.
	guid := "F4FE3E59-0439-4849-9444-85BEFE8694B3"
	c.upload("/api-sys/account/_prompt.shared/prompt/"+guid, testWAV(0.2))
	if got := as("GET", "/api-sys/account/_prompt.shared/prompt/"+guid, ""); got != 200 {
		t.Errorf("user GET shared prompt: %d", got)
	}
	if got := as("GET", "/api-sys/account/_prompt.shared", ""); got != 404 {
		t.Errorf("user GET _prompt.shared account: %d, want 404", got)
	}
	// Tracing is limited to calls that start or arrive in the partition.
	if got := as("GET", "/api-sys/calltrace?from=admin&dial=600", ""); got != 404 {
		t.Errorf("user tracing from outside: %d, want 404", got)
	}
	if got := as("GET", "/api-sys/calltrace?from=reseller.test&dial=600", ""); got != 200 {
		t.Errorf("user tracing its own call: %d, want 200", got)
	}
}

func TestRenameAccount(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/account/", `{"username":"n.test"}`)
	c.ok("PUT", "/api-sys/account/n.test/child", `{"username":"old@n.test"}`)
	got := c.ok("PATCH", "/api-sys/account/old@n.test", `{"username":"new@n.test","password":"a-new-password"}`)
	if got[0]["username"] != "new@n.test" {
		t.Fatalf("rename: %v", got)
	}
	c.ok("PUT", "/api-sys/account/n.test/route", `{"order":5,"username":"new@n.test","hunt_user":true}`)
	if code, body := c.status("PATCH", "/api-sys/account/new@n.test", `{"username":"newer@n.test","password":"x-password"}`); code != 409 {
		t.Errorf("rename of a referenced account: %d %s, want 409", code, body)
	}
}

func TestTrunks(t *testing.T) {
	c := newServer(t)
	got := c.ok("PUT", "/api-sys/trunk/", `{"name":"carrier1","address":"127.0.0.2,127.0.1.0/24","proxy":"127.0.0.2:5070","username":"xc5","password":"carrier-secret"}`)[0]
	if got["transport"] != "udp" || got["enabled"] != true || got["password"] != nil || got["port"] != float64(5060) || got["inbound_auth"] != false {
		t.Errorf("trunk: %v", got)
	}
	for _, body := range []string{`{"name":"t2","address":"not-an-ip"}`, `{"name":"t3","proxy":"nohostport"}`, `{"name":"t4","transport":"sctp"}`,
		`{"name":"t5","port":70000}`, `{"name":"t6","inbound_auth":true}`} {
		if code, _ := c.status("PUT", "/api-sys/trunk/", body); code != 400 {
			t.Errorf("PUT trunk %s: %d, want 400", body, code)
		}
	}
	c.ok("PUT", "/api-sys/account/", `{"username":"tr.test","password":"tr-pw"}`)
	c.ok("PUT", "/api-sys/account/tr.test/accountresource/api_access", `{"value":"user"}`)
	req, _ := http.NewRequest("GET", c.url+"/api-sys/trunk/carrier1", nil)
	req.SetBasicAuth("tr.test", "tr-pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("user-level GET trunk: %d, want 404", resp.StatusCode)
	}
}

// TestSharedRateLimit: with a shared failure log, failures counted by one
// node limit the other (two API servers on one store stand in for nodes),
// on SQLite and PostgreSQL; an address that has not been failing still
// logs in through either.
func TestSharedRateLimit(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	storetest.EachChosen(t, adminPW, func(t *testing.T, store *sqlstore.Store) {
		opts := api.Options{Auth: api.AuthOptions{FailuresPerIP: 100, FailuresPerAccount: 3, Shared: store},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		a := httptest.NewServer(api.New(store, opts))
		defer a.Close()
		b := httptest.NewServer(api.New(store, opts))
		defer b.Close()
		try := func(url, from, pass string) int {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			tr := &http.Transport{DialContext: d.DialContext}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("GET", url+"/api-sys/", nil)
			req.SetBasicAuth("admin", pass)
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for i := 0; i < 3; i++ {
			if got := try(a.URL, "127.0.0.1", "wrong"); got != 401 {
				t.Fatalf("failure %d on A: %d", i, got)
			}
		}
		if got := try(b.URL, "127.0.0.1", adminPW); got != 429 {
			t.Errorf("B after three failures on A from the same address: %d, want 429", got)
		}
		if got := try(b.URL, "127.0.0.2", adminPW); got != 200 {
			t.Errorf("B from an address that has not been failing: %d, want 200", got)
		}
	})
}

// TestMoveKeepsPartitionsCurrent: moving an account moves the partition of
// every user-level caller below it; cached credentials must follow.
func TestMoveKeepsPartitionsCurrent(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/account/", `{"username":"from.test"}`)
	c.ok("PUT", "/api-sys/account/", `{"username":"to.test"}`)
	c.ok("PUT", "/api-sys/account/from.test/child", `{"username":"kid@from.test","password":"kid-pw"}`)
	c.ok("PUT", "/api-sys/account/kid@from.test/accountresource/api_access", `{"value":"user"}`)
	grand := c.ok("PUT", "/api-sys/account/kid@from.test/child", `{"username":"grand@from.test"}`)[0]["guid"].(string)
	as := func() int {
		req, _ := http.NewRequest("GET", c.url+"/api-sys/account/"+grand, nil)
		req.SetBasicAuth("kid@from.test", "kid-pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := as(); got != 200 {
		t.Fatalf("kid reads its child: %d", got)
	}
	c.ok("PATCH", "/api-sys/account/from.test", `{"parent":"to.test"}`)
	if got := as(); got != 200 {
		t.Errorf("after its ancestor moved, kid reads its child: %d, want 200 (stale cached partition?)", got)
	}
}
