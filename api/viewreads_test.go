package api_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"xc5/api"
	"xc5/routing"
	"xc5/secret"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestAccountViewReads: with account GETs answered from the routing view,
// GETs still see every write at once and the caller's scope still applies.
func TestAccountViewReads(t *testing.T) {
	store := storetest.Open(t, adminPW)
	view := viewOf(t, store)
	srv := httptest.NewServer(api.New(store, api.Options{ViewReads: true, View: view, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	c := &client{t: t, url: srv.URL}
	acct := c.ok("PUT", "/api-sys/account/", `{"username":"cache.test","password":"cache-pw"}`)[0]
	guid := acct["guid"].(string)
	c.ok("PUT", "/api-sys/account/cache.test/accountresource/api_access", `{"value":"user"}`)
	kid := c.ok("PUT", "/api-sys/account/cache.test/child", `{"username":"kid@cache.test"}`)[0]["guid"].(string)
	other := c.ok("PUT", "/api-sys/account/", `{"username":"other.test"}`)[0]["guid"].(string)
	for i := 0; i < 2; i++ { // miss, then hit
		if got := c.ok("GET", "/api-sys/account/"+guid, ""); got[0]["cfna_duration"] != float64(20) {
			t.Fatalf("GET: %v", got)
		}
	}
	c.ok("PATCH", "/api-sys/account/cache.test", `{"cfna_duration":11}`)
	for _, id := range []string{guid, "cache.test", "CACHE.test"} {
		if got := c.ok("GET", "/api-sys/account/"+id, ""); got[0]["cfna_duration"] != float64(11) {
			t.Errorf("GET %s after PATCH: %v", id, got[0]["cfna_duration"])
		}
	}
	as := func(id string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/api-sys/account/"+id, nil)
		req.SetBasicAuth("cache.test", "cache-pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	c.ok("GET", "/api-sys/account/"+other, "") // cached by admin
	if got := as(other); got != 404 {
		t.Errorf("user-level GET of a cached account outside its partition: %d, want 404", got)
	}
	if got := as(kid); got != 200 {
		t.Errorf("user-level GET of its child: %d", got)
	}
	// A move takes the child out of the partition; the cache must not keep the old path.
	c.ok("GET", "/api-sys/account/"+kid, "")
	c.ok("PATCH", "/api-sys/account/"+kid, `{"parent":"other.test"}`)
	if got := as(kid); got != 404 {
		t.Errorf("user-level GET after the child moved out: %d, want 404", got)
	}
	// A move of an uncached ancestor must not leave a descendant's cached
	// path behind either.
	grand := c.ok("PUT", "/api-sys/account/"+kid+"/child", `{"username":"grand@cache.test"}`)[0]["guid"].(string)
	c.ok("PATCH", "/api-sys/account/"+kid, `{"parent":"cache.test"}`)
	c.ok("GET", "/api-sys/account/"+grand, "")
	if got := as(grand); got != 200 {
		t.Errorf("user-level GET of a grandchild: %d", got)
	}
	c.ok("PATCH", "/api-sys/account/"+kid, `{"parent":"other.test"}`) // kid itself is not cached now
	if got := as(grand); got != 404 {
		t.Errorf("user-level GET of a grandchild moved out with its parent: %d, want 404", got)
	}
	// The view's answer is the store's answer, byte for byte.
	plain := httptest.NewServer(api.New(store, api.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer plain.Close()
	c.ok("PATCH", "/api-sys/account/"+grand, `{"timezone":"Pacific/Chatham","pickup_group":"Beta","private":true,"ums_pin":"1234","cfna_dest":"6491234567"}`)
	for _, id := range []string{guid, kid, grand, other, "admin"} {
		a, b := body(t, srv.URL, id), body(t, plain.URL, id)
		if a != b {
			t.Errorf("GET %s from the view:\n%s\nfrom the store:\n%s", id, a, b)
		}
	}
	c.ok("DELETE", "/api-sys/account/"+grand, "")
	c.ok("DELETE", "/api-sys/account/"+kid, "")
	if resp, _ := c.do("GET", "/api-sys/account/"+kid, "", nil); resp.StatusCode != 404 {
		t.Errorf("GET after DELETE: %d", resp.StatusCode)
	}
}

func body(t *testing.T, url, id string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/api-sys/account/"+id, nil)
	req.SetBasicAuth("admin", adminPW)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestNotFreshReadsStore: while the store's Fresh reports false (a node
// whose change feed is down), account GETs and logins go to the database,
// never to memory that may have missed another node's write. The write
// here is made behind the store's back, as another node's would be.
//
// The store is SQLite whatever XC5_TEST_STORE says: the write behind its
// back goes through a second connection to its database file. (On
// PostgreSQL another node's writes are the cluster tests' subject, in
// cmd/xc5.)
func TestNotFreshReadsStore(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Bootstrap(context.Background(), adminPW); err != nil {
		t.Fatal(err)
	}
	view := viewOf(t, store)
	var fresh atomic.Bool
	fresh.Store(true)
	srv := httptest.NewServer(api.New(store, api.Options{ViewReads: true, View: view, Fresh: fresh.Load,
		Auth: api.AuthOptions{Fresh: fresh.Load}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	c := &client{t: t, url: srv.URL}
	c.ok("PUT", "/api-sys/account/", `{"username":"behind.test","password":"old-pw-123"}`)
	c.ok("PUT", "/api-sys/account/behind.test/accountresource/api_access", `{"value":"user"}`)
	login := func(pw string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/api-sys/account/behind.test", nil)
		req.SetBasicAuth("behind.test", pw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := login("old-pw-123"); got != 200 { // verified, and cached
		t.Fatalf("login: %d", got)
	}

	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlstore.DBFile)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`UPDATE accounts SET pickup_group = 'Behind', password_hash = ? WHERE username = 'behind.test'`, secret.Hash("new-pw-456")); err != nil {
		t.Fatal(err)
	}
	// Fresh: memory answers (this is why a node must only count itself
	// fresh when it hears of every write).
	if got := c.ok("GET", "/api-sys/account/behind.test", ""); got[0]["pickup_group"] != "" {
		t.Fatalf("a fresh node read %q: the view was expected to answer", got[0]["pickup_group"])
	}
	if got := login("old-pw-123"); got != 200 {
		t.Fatalf("cached login on a fresh node: %d", got)
	}
	// Not fresh: the database answers.
	fresh.Store(false)
	if got := c.ok("GET", "/api-sys/account/behind.test", ""); got[0]["pickup_group"] != "Behind" {
		t.Fatalf("a node that is not fresh read %q from memory, want the database's %q", got[0]["pickup_group"], "Behind")
	}
	if got := login("old-pw-123"); got != 401 {
		t.Fatalf("a node that is not fresh accepted a cached, since changed password: %d", got)
	}
	if got := login("new-pw-456"); got != 200 {
		t.Fatalf("the new password: %d", got)
	}
}

// viewOf is a loaded routing view that follows store.
func viewOf(t *testing.T, store *sqlstore.Store) *routing.View {
	t.Helper()
	view := routing.NewView(routing.Defaults{Location: time.UTC, CountryCode: "64"})
	view.Follow(store)
	if err := view.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	return view
}
