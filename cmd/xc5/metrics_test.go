package main_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestServeMetricsAddress: serve --metrics ADDR answers /metrics without
// credentials (a private scrape address) with the API's and the media
// node's metrics, and /healthz and /readyz there and on the API address;
// on the API address /metrics needs the system account.
func TestServeMetricsAddress(t *testing.T) {
	maddr := freePort(t)
	s := startServe(t, []string{"--data", t.TempDir(), "--sip", "127.0.0.1:0", "--metrics", maddr}, "XC5_ADMIN_PASSWORD=pa55-word-env")
	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// Ready once the routing view is loaded.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(s.url + "/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := get("http://" + maddr + "/readyz"); code != http.StatusOK || !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("/readyz on --metrics: %d %s", code, body)
	}
	if code, _ := get("http://" + maddr + "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz on --metrics: %d", code)
	}
	if code, _ := get(s.url + "/metrics"); code != http.StatusUnauthorized {
		t.Errorf("/metrics on the API address without credentials: %d, want 401", code)
	}
	if code, _ := s.do(t, "GET", "/api-sys/account/admin", "admin", "pa55-word-env", ""); code != http.StatusOK {
		t.Fatalf("GET admin: %d", code)
	}
	code, body := get("http://" + maddr + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics on --metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"xc5_http_requests_total", "xc5_sip_calls_in_progress", "xc5_media_legs",
		"xc5_relay_sessions", "xc5_store_commit_seconds", "xc5_mail_outbox_queued", "xc5_auth_failures_total"} {
		if fams[name] == nil {
			t.Errorf("no %s on --metrics", name)
		}
	}
	found := false
	for _, m := range fams["xc5_http_requests_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		found = found || labels["resource"] == "account" && labels["status"] == "200" && m.Counter.GetValue() >= 1
	}
	if !found {
		t.Errorf("the GET of an account is not counted:\n%s", body)
	}
}
