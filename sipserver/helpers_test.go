package sipserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"xc5"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

const (
	realm     = "acmebrick.x.co.nz"
	reception = "reception@acmebrick.x.co.nz"
	sales     = "sales@acmebrick.x.co.nz"
	password  = "Reception-pw-1"
)

// testLogger discards logs unless SIPTEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("SIPTEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func init() {
	// sipgo logs through its default logger in places that take no option.
	sip.SetDefaultLogger(testLogger())
}

// clock is an adjustable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newStore opens a fresh bootstrapped store (storetest.Open: SQLite, or
// PostgreSQL under XC5_TEST_STORE=postgres).
func newStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	return storetest.Open(t, "admin-pw-123")
}

// addAccount provisions an account the way the API does and returns its GUID.
func addAccount(t testing.TB, s *sqlstore.Store, username, pw string) string {
	t.Helper()
	rec, _, err := s.Put(context.Background(), "", resource.Account, "", "",
		resource.Input{"username": username, "password": pw}, resource.Create)
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return rec.GUID
}

// testServer is a running SIP server on a loopback port.
type testServer struct {
	*Server
	addr  string
	clock *clock
}

// startServer serves store on 127.0.0.1 (UDP and TCP on one free port).
func startServer(t testing.TB, cfg Config, store Store) *testServer {
	t.Helper()
	clk := newClock()
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	cfg.Addr = "127.0.0.1:0"
	if cfg.MaxRegisterWait == 0 {
		// On a busy test machine a REGISTER can wait 400 ms; the tests of
		// that limit set it.
		cfg.MaxRegisterWait = -1
	}
	if cfg.MaxQueueWait == 0 {
		cfg.MaxQueueWait = -1 // likewise
	}
	s, err := New(cfg, store, testLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Server: s, addr: s.Addr(), clock: clk}
}

// phone is a test user agent on sipgo.
type phone struct {
	t         testing.TB
	client    *sipgo.Client
	server    string
	transport string
	name      string
}

func newPhone(t testing.TB, server, transport string) *phone {
	t.Helper()
	name := "TestPhone/1.0 (" + transport + ")"
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(testLogger())),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(testLogger())))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	return &phone{t: t, client: c, server: server, transport: transport, name: name}
}

// register builds a REGISTER for the address of record aor
// ("reception@acmebrick.x.co.nz") binding the given contacts; expires < 0
// leaves the Expires header out.
func (p *phone) register(aor string, contacts []string, expires int) *sip.Request {
	user, host, _ := strings.Cut(aor, "@")
	if host == "" {
		user, host = "", aor
	}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host})
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: host}}
	from := &sip.FromHeader{Address: to.Address}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(to)
	for _, c := range contacts {
		req.AppendHeader(sip.NewHeader("Contact", c))
	}
	if expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
	}
	req.AppendHeader(sip.NewHeader("User-Agent", p.name))
	p.route(req)
	return req
}

func (p *phone) route(req *sip.Request) {
	req.SetTransport(p.transport)
	req.SetDestination(p.server)
}

// do sends req in a new transaction and returns the final response.
func (p *phone) do(req *sip.Request, opts ...sipgo.ClientRequestOption) *sip.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req, opts...)
	if err != nil {
		p.t.Fatalf("%s: %v", req.StartLine(), err)
	}
	return res
}

// retry sends req again as a new transaction (next CSeq, new branch).
func (p *phone) retry(req *sip.Request) *sip.Response {
	p.t.Helper()
	req.CSeq().SeqNo++
	req.RemoveHeader("Via")
	p.route(req)
	return p.do(req, sipgo.ClientRequestAddVia)
}

// challenges returns the digest challenges of a 401, in order.
func challenges(t testing.TB, res *sip.Response) []*digest.Challenge {
	t.Helper()
	var out []*digest.Challenge
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatalf("bad challenge %q: %v", h.Value(), err)
		}
		out = append(out, c)
	}
	return out
}

// challengeFor picks the challenge with the given algorithm.
func challengeFor(t testing.TB, res *sip.Response, alg string) *digest.Challenge {
	t.Helper()
	for _, c := range challenges(t, res) {
		if c.Algorithm == alg {
			return c
		}
	}
	t.Fatalf("no %s challenge in %v", alg, res.StartLine())
	return nil
}

// authorize sets req's Authorization for chal.
func authorize(t testing.TB, req *sip.Request, chal *digest.Challenge, user, pw string, nc int) {
	t.Helper()
	cred, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: req.Recipient.String(),
		Username: user, Password: pw, Count: nc})
	if err != nil {
		t.Fatal(err)
	}
	req.RemoveHeader("Authorization")
	req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
}

// login sends req, answers its 401 with the alg challenge for user/pw and
// returns the final response.
func (p *phone) login(req *sip.Request, alg, user, pw string) *sip.Response {
	p.t.Helper()
	res := p.do(req)
	if res.StatusCode != 401 {
		return res
	}
	authorize(p.t, req, challengeFor(p.t, res, alg), user, pw, 1)
	return p.retry(req)
}

// contactsOf lists the current contacts of an account in the store.
func contactsOf(t testing.TB, s xc5.RegistrarStore, guid string, now time.Time) []string {
	t.Helper()
	bs, err := s.ContactsOf(context.Background(), guid, now)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bs {
		out = append(out, b.Contact)
	}
	return out
}

// wantStatus fails unless res has the status code.
func wantStatus(t testing.TB, res *sip.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("got %d %s, want %d\n%s", res.StatusCode, res.Reason, code, res)
	}
}

// responseContacts returns the Contact header values of a response.
func responseContacts(res *sip.Response) []string {
	var out []string
	for _, h := range res.GetHeaders("Contact") {
		out = append(out, h.Value())
	}
	return out
}
