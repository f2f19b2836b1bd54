package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"xc5/api"
	"xc5/metrics"
	"xc5/resource"
	"xc5/routing"
	"xc5/sipserver"
	"xc5/sqlstore"
)

const (
	adminPW = "admin-pw-123"
	phone   = "reception@acmebrick.x.co.nz"
	phonePW = "Reception-pw-1"
	userPW  = "Company-pw-123"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// node is an API server and a SIP server over one SQLite store, with
// their metrics, as xc5 serve wires them.
type node struct {
	store *sqlstore.Store
	view  *routing.View
	url   string
	sip   *sipserver.Server
}

func newNode(t *testing.T, store *sqlstore.Store) *node {
	t.Helper()
	return newNodeWith(t, store, sipserver.Config{})
}

// newNodeWith is newNode with the SIP server's configuration.
func newNodeWith(t *testing.T, store *sqlstore.Store, cfg sipserver.Config) *node {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	sip, err := sipserver.New(cfg, store, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := sip.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sip.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	view := routing.NewView(routing.Defaults{})
	view.Loading()
	met := metrics.New(metrics.Sources{Store: store, SIP: sip})
	probes := metrics.Health(metrics.Checks{Store: store.Ping, Loaded: metrics.ViewLoaded(view.Ready), Fresh: store.Fresh})
	a := api.New(store, api.Options{Logger: quiet, Metrics: met.Handler(), Health: probes, Observe: met.Observe})
	met.SetAPI(a)
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &node{store: store, view: view, url: srv.URL, sip: sip}
}

// do sends a request as user (none when ""), returning status and body.
func (n *node) do(t *testing.T, method, path, user, pass, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// scrape reads /metrics as the system account and parses it.
func (n *node) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := n.do(t, "GET", "/metrics", "admin", adminPW, "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics as admin: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// value finds the sample of family name with the given labels (a
// histogram's count).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with %v", name, labels)
	return 0
}

// register binds a contact for phone through the SIP server: a 401
// challenge, then 200.
func register(t *testing.T, addr string) {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "acmebrick.x.co.nz"})
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "reception", Host: "acmebrick.x.co.nz"}}
	from := &sip.FromHeader{Address: to.Address}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(sip.NewHeader("Contact", "<sip:reception@127.0.0.1:5099>"))
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	req.SetTransport("UDP")
	req.SetDestination(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("REGISTER: %v %v, want 401", res, err)
	}
	res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: phone, Password: phonePW})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("REGISTER with credentials: %v %v, want 200", res, err)
	}
}

func addAccount(t *testing.T, s *sqlstore.Store, username, pw string) {
	t.Helper()
	if _, _, err := s.Put(context.Background(), "", resource.Account, "", "",
		resource.Input{"username": username, "password": pw}, resource.Create); err != nil {
		t.Fatal(err)
	}
}
