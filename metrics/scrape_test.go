package metrics_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"xc5/sipserver"
	"xc5/storetest"
)

// TestScrape: after API requests (answered, refused, failed logins) and
// a SIP REGISTER, /metrics as the system account has every metric, and
// the counts moved by what was done.
func TestScrape(t *testing.T) {
	store := storetest.Open(t, adminPW)
	addAccount(t, store, phone, phonePW)
	n := newNode(t, store)

	before := n.scrape(t)
	batches := value(t, before, "xc5_store_commit_batch_size")
	for range 3 {
		if code, _ := n.do(t, "GET", "/api-sys/account/", "admin", adminPW, ""); code != http.StatusOK {
			t.Fatalf("GET account: %d", code)
		}
	}
	if code, _ := n.do(t, "GET", "/api-sys/account/", "", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET account without credentials: %d", code)
	}
	if code, _ := n.do(t, "GET", "/api-sys/account/", "admin", "wrong-pw-1", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET account with a wrong password: %d", code)
	}
	if code, body := n.do(t, "PUT", "/api-sys/account/", "admin", adminPW, `{"username":"metrics.test"}`); code != http.StatusCreated {
		t.Fatalf("PUT account: %d %s", code, body)
	}
	// One webhook event waits in the outbox (no sender runs here).
	for _, w := range [][3]string{
		{"PUT", "/api-sys/account/metrics.test/webhook", `{"url":"https://hooks.example/metrics","events":"account.changed"}`},
		{"PATCH", "/api-sys/account/metrics.test", `{"cfna_duration":25}`},
	} {
		if code, body := n.do(t, w[0], w[1], "admin", adminPW, w[2]); code/100 != 2 {
			t.Fatalf("%s %s: %d %s", w[0], w[1], code, body)
		}
	}
	register(t, n.sip.Addr())

	fams := n.scrape(t)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"xc5_http_requests_total", []string{"resource", "account", "method", "GET", "status", "200"}, 3},
		{"xc5_http_requests_total", []string{"resource", "account", "method", "GET", "status", "401"}, 2},
		{"xc5_http_requests_total", []string{"resource", "account", "method", "PUT", "status", "201"}, 1},
		{"xc5_http_requests_total", []string{"resource", "metrics", "method", "GET", "status", "200"}, 1},
		{"xc5_http_request_duration_seconds", []string{"resource", "account", "method", "GET"}, 5},
		{"xc5_auth_failures_total", []string{"service", "api"}, 1},
		{"xc5_auth_rate_limited_total", []string{"service", "api"}, 0},
		{"xc5_auth_failures_total", []string{"service", "sip"}, 0},
		{"xc5_sip_requests_total", []string{"method", "REGISTER"}, 2},
		{"xc5_sip_responses_total", []string{"method", "REGISTER", "code", "401"}, 1},
		{"xc5_sip_responses_total", []string{"method", "REGISTER", "code", "200"}, 1},
		{"xc5_sip_bindings", nil, 1},
		{"xc5_sip_calls_in_progress", nil, 0},
		{"xc5_sip_calls_started_total", nil, 0},
		{"xc5_sip_calls_answered_total", nil, 0},
		{"xc5_sip_throttled_total", nil, 0},
		{"xc5_sip_overload_refused_total", []string{"method", "REGISTER"}, 0},
		{"xc5_sip_overload_refused_total", []string{"method", "INVITE"}, 0},
		{"xc5_sip_overload_dropped_total", nil, 0},
		{"xc5_mail_outbox_queued", nil, 0},
		{"xc5_webhook_outbox_queued", nil, 1},
		{"xc5_store_feed_lag_seconds", nil, 0},
		{"xc5_store_scrape_errors", nil, 0},
	}
	for _, c := range checks {
		if got := value(t, fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The account and the binding were written in committed batches.
	if got := value(t, fams, "xc5_store_commit_batch_size"); got < batches+2 {
		t.Errorf("committed batches %v, want at least %v", got, batches+2)
	}
	if got := value(t, fams, "xc5_store_commit_seconds"); got != value(t, fams, "xc5_store_commit_batch_size") {
		t.Errorf("commit latency count %v differs from batch count", got)
	}
	if fams["go_goroutines"] == nil || fams["process_cpu_seconds_total"] == nil {
		t.Error("no Go runtime or process metrics")
	}
}

// TestMetricsNeedSystemLevel: /metrics is refused without credentials
// (401) and to an account below system level (403); its metrics cover
// every tenant.
func TestMetricsNeedSystemLevel(t *testing.T) {
	n := newNode(t, storetest.Open(t, adminPW))
	if code, body := n.do(t, "PUT", "/api-sys/account/", "admin", adminPW, `{"username":"acme.test","password":"`+userPW+`"}`); code != http.StatusCreated {
		t.Fatalf("PUT account: %d %s", code, body)
	}
	if code, body := n.do(t, "PUT", "/api-sys/account/acme.test/accountresource/api_access", "admin", adminPW, `{"value":"user"}`); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("grant api_access: %d %s", code, body)
	}
	for _, c := range []struct {
		user, pass string
		want       int
	}{
		{"", "", http.StatusUnauthorized},
		{"admin", "wrong-pw-1", http.StatusUnauthorized},
		{"acme.test", userPW, http.StatusForbidden},
		{"admin", adminPW, http.StatusOK},
	} {
		code, body := n.do(t, "GET", "/metrics", c.user, c.pass, "")
		if code != c.want {
			t.Errorf("GET /metrics as %q: %d, want %d\n%s", c.user, code, c.want, body)
		}
		if c.want != http.StatusOK && strings.Contains(body, "xc5_") {
			t.Errorf("GET /metrics as %q leaked metrics", c.user)
		}
	}
	if code, _ := n.do(t, "POST", "/metrics", "admin", adminPW, ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d, want 405", code)
	}
	// The account below system level can still use its API.
	if code, _ := n.do(t, "GET", "/api-sys/account/acme.test", "acme.test", userPW, ""); code != http.StatusOK {
		t.Errorf("GET own account: %d", code)
	}
}

// TestReadiness: /healthz is 200 always; /readyz is 503 naming the
// failed check while the routing view loads and once the store is
// closed, 200 in between; neither needs credentials.
func TestReadiness(t *testing.T) {
	store := storetest.Open(t, adminPW)
	storetest.Follow(t, store) // as serve does; TestReadinessPostgres is about the feed itself
	n := newNode(t, store)
	ready := func(want int, mention string) {
		t.Helper()
		code, body := n.do(t, "GET", "/readyz", "", "", "")
		if code != want || !strings.Contains(body, mention) {
			t.Errorf("GET /readyz: %d %s, want %d mentioning %q", code, body, want, mention)
		}
		if code, body := n.do(t, "GET", "/healthz", "", "", ""); code != http.StatusOK {
			t.Errorf("GET /healthz: %d %s", code, body)
		}
	}
	ready(http.StatusServiceUnavailable, `"routing":"routing view not loaded yet"`)
	if err := n.view.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	ready(http.StatusOK, `"status":"ready"`)
	store.Close()
	ready(http.StatusServiceUnavailable, `"store":"unreachable"`)
}

// TestScrapeOverload: a REGISTER refused 503 for overload and one dropped
// unread for having waited too long are counted: a node whose oldest
// REGISTER in work has always waited too long (MaxRegisterWait of 1 ns)
// refuses, and one whose requests have always waited too long in the
// socket (MaxQueueWait of 1 ns) drops.
func TestScrapeOverload(t *testing.T) {
	store := storetest.Open(t, adminPW)
	refusing := newNodeWith(t, store, sipserver.Config{MaxRegisterWait: time.Nanosecond})
	if code := rawRegister(t, refusing.sip.Addr()); code != 503 {
		t.Fatalf("REGISTER with the queue too old: %d, want 503", code)
	}
	dropping := newNodeWith(t, store, sipserver.Config{MaxQueueWait: time.Nanosecond})
	if code := rawRegister(t, dropping.sip.Addr()); code != 0 {
		t.Fatalf("REGISTER that waited too long: %d, want no answer", code)
	}
	for _, c := range []struct {
		n      *node
		name   string
		labels []string
		want   float64
	}{
		{refusing, "xc5_sip_overload_refused_total", []string{"method", "REGISTER"}, 1},
		{refusing, "xc5_sip_overload_dropped_total", nil, 0},
		{dropping, "xc5_sip_overload_refused_total", []string{"method", "REGISTER"}, 0},
		{dropping, "xc5_sip_overload_dropped_total", nil, 1},
	} {
		if got := value(t, c.n.scrape(t), c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// rawRegister sends a REGISTER without credentials in one datagram and
// returns the status of the answer, 0 when none came within a second.
func rawRegister(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := "REGISTER sip:acmebrick.x.co.nz SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK-metrics;rport\r\n" +
		"From: <sip:reception@acmebrick.x.co.nz>;tag=m1\r\nTo: <sip:reception@acmebrick.x.co.nz>\r\nCall-ID: metrics-overload\r\n" +
		"CSeq: 1 REGISTER\r\nContact: <sip:reception@" + local + ">\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(time.Second))
	n, err := c.Read(buf)
	if err != nil {
		return 0
	}
	var code int
	fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code)
	return code
}
