package metrics_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"xc5/storetest"
)

// eventually polls /readyz until it answers want mentioning mention.
func (n *node) eventually(t *testing.T, want int, mention string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := n.do(t, "GET", "/readyz", "", "", "")
		if code == want && strings.Contains(body, mention) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz: %d %s, want %d mentioning %q", code, body, want, mention)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadinessPostgres: a PostgreSQL node is unready until it follows
// the change feed, and while its database is cut off or stalled (the
// check's read has a timeout of its own), ready again once it is back.
func TestReadinessPostgres(t *testing.T) {
	o := storetest.PostgresOutage(t)
	store := o.Open(t, adminPW)
	n := newNode(t, store)
	if err := n.view.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	if code, body := n.do(t, "GET", "/readyz", "", "", ""); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, `"feed":"not following the change feed"`) {
		t.Fatalf("before Follow: %d %s, want 503 for the feed", code, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store.Follow(ctx, o.URL)
	n.eventually(t, http.StatusOK, `"status":"ready"`)
	// Following, the node measures the feed's delay by its own markers.
	deadline := time.Now().Add(20 * time.Second)
	for value(t, n.scrape(t), "xc5_store_feed_lag_seconds") <= 0 {
		if time.Now().After(deadline) {
			t.Fatal("xc5_store_feed_lag_seconds stays 0 while following the feed")
		}
		time.Sleep(50 * time.Millisecond)
	}

	o.Stall()
	n.eventually(t, http.StatusServiceUnavailable, `"store":"unreachable"`)
	o.Resume()
	n.eventually(t, http.StatusOK, `"status":"ready"`)

	o.Cut()
	n.eventually(t, http.StatusServiceUnavailable, `"store":"unreachable"`)
	if code, _ := n.do(t, "GET", "/healthz", "", "", ""); code != http.StatusOK {
		t.Errorf("/healthz while the database is cut off: %d", code)
	}
	o.Restore(t)
	n.eventually(t, http.StatusOK, `"status":"ready"`)
}
