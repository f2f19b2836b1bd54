package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"xc5/api"
	"xc5/resource"
	"xc5/storetest"
)

func TestCDRListing(t *testing.T) {
	store := storetest.Open(t, adminPW)
	ctx := context.Background()
	srv := httptest.NewServer(api.New(store, api.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	c := &client{t: t, url: srv.URL}
	acct := c.ok("PUT", "/api-sys/account/", `{"username":"cdr.test"}`)[0]["guid"].(string)
	for _, started := range []string{"2026-11-01T10:00:00Z", "2026-11-15T10:00:00Z", "2026-12-01T10:00:00Z"} {
		if err := store.AddCDR(ctx, acct, map[string]any{"direction": "out", "from": "cdr.test", "to": "600", "started": started,
			"ended": started, "outcome": "answered", "duration": int64(42)}); err != nil {
			t.Fatal(err)
		}
	}
	all := c.ok("GET", "/api-sys/account/cdr.test/cdr", "")
	if len(all) != 3 || all[0]["duration"] != float64(42) || all[0]["answered_by"] != nil {
		t.Fatalf("cdr list (lean): %v", all)
	}
	nov := c.ok("GET", "/api-sys/account/cdr.test/cdr?since=2026-11-10T00:00:00Z&until=2026-12-01T00:00:00Z", "")
	if len(nov) != 1 || nov[0]["started"] != "2026-11-15T10:00:00Z" {
		t.Errorf("time range: %v", nov)
	}
	if resp, out := c.do("GET", "/api-sys/account/cdr.test/cdr?since=yesterday", "", nil); resp.StatusCode != 400 {
		t.Errorf("bad since: %d %v", resp.StatusCode, out)
	}
	if resp, _ := c.do("PUT", "/api-sys/account/cdr.test/cdr", "application/json", []byte(`{}`)); resp.StatusCode != 405 {
		t.Errorf("PUT cdr: %d, want 405", resp.StatusCode)
	}
	_ = resource.CDR
}
