package sipserver

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"xc5"
	"xc5/resource"
	"xc5/secret"
)

// The files in testdata/torture are malformed, odd and hostile messages
// (many after RFC 4475's torture tests, most aimed at the registrar):
// missing and duplicated headers, broken Contact, Expires and
// Authorization values, huge fields, binary garbage, stray responses.

func tortureFiles(t testing.TB) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob("testdata/torture/*.sip")
	if err != nil || len(names) == 0 {
		t.Fatalf("no torture files: %v", err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	return out
}

// TestTortureOverSockets feeds every torture message to a running server
// as raw UDP datagrams and over TCP, then checks that it still registers
// a phone on both transports.
func TestTortureOverSockets(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1}, store)
	files := tortureFiles(t)

	udp, err := net.Dial("udp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	answers := 0
	go func() { // drain the answers
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			udp.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := udp.Read(buf); err != nil {
				return
			}
			answers++
		}
	}()
	for range 3 {
		for _, data := range files {
			if _, err := udp.Write(data); err != nil {
				t.Fatalf("udp write: %v", err)
			}
		}
	}
	for name, data := range files {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatalf("%s: tcp dial: %v", name, err)
		}
		c.Write(data)
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		c.Read(make([]byte, 4096))
		c.Close()
	}
	// And all of them down one TCP connection.
	c, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range files {
		c.Write(data)
	}
	c.Close()
	wg.Wait()
	if answers == 0 {
		t.Fatal("the server answered none of the torture datagrams")
	}
	t.Logf("%d torture files, %d UDP answers", len(files), answers)

	for _, tp := range []string{"UDP", "TCP"} {
		p := newPhone(t, srv.addr, tp)
		wantStatus(t, p.login(p.register(reception, []string{"<sip:ok@127.0.0.1:5001>"}, 600), "SHA-256", reception, password), 200)
	}
	if got := contactsOf(t, store, guid, srv.clock.Now()); len(got) != 1 {
		t.Fatalf("contacts after torture = %v", got)
	}
}

// TestTortureHandlers runs the torture messages through sipgo's parser
// into the handlers, with and without valid credentials, so that the
// registrar's post-authentication paths see them too.
func TestTortureHandlers(t *testing.T) {
	h := newHarness(t)
	for name, data := range tortureFiles(t) {
		t.Run(name, func(t *testing.T) { h.exercise(t, data) })
	}
}

// FuzzHandlers feeds arbitrary bytes through sipgo's parser into the
// handlers. Run with: go test ./sipserver -fuzz FuzzHandlers
func FuzzHandlers(f *testing.F) {
	for _, data := range tortureFiles(f) {
		f.Add(data)
	}
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, data []byte) { h.exercise(t, data) })
}

// harness is a server that is not listening, whose handlers are called
// directly with recording transactions, over an in-memory registry.
type harness struct {
	srv *Server
}

func newHarness(t testing.TB) *harness {
	reg := newMemRegistry()
	reg.add(reception, password)
	// Calls too: 127.0.0.1 (the messages' source) is a carrier trunk and
	// reception has a DDI, so INVITEs reach the routing engine and rings.
	reg.trunks = []xc5.Trunk{{Name: "t", Address: "127.0.0.1", Enabled: true}}
	srv, err := New(Config{AuthFailures: -1, SourceRate: -1, MaxContacts: 1000}, reg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.EnableCalls(harnessView()); err != nil {
		t.Fatal(err)
	}
	return &harness{srv: srv}
}

// exercise parses data and, if it is a request, hands it to dispatch as
// it is and with a valid Authorization for reception: each must get
// exactly one final answer (none for ACK) and never a 500.
func (h *harness) exercise(t *testing.T, data []byte) {
	msg, err := sip.NewParser().ParseSIP(data)
	if err != nil {
		return
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return
	}
	req.SetSource("127.0.0.1:5099")
	req.SetTransport("UDP")
	for _, authed := range []bool{false, true} {
		r := req.Clone()
		if authed {
			chal := &digest.Challenge{Realm: realm, Nonce: h.srv.nonces.make(realm, "127.0.0.1", h.srv.cfg.Now()), Algorithm: "MD5", QOP: []string{"auth"}}
			cred, err := digest.Digest(chal, digest.Options{Method: string(r.Method), URI: r.Recipient.String(), Username: reception, Password: password})
			if err != nil {
				t.Fatal(err)
			}
			r.RemoveHeader("Authorization")
			r.AppendHeader(sip.NewHeader("Authorization", cred.String()))
		}
		tx := &recordingTx{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.srv.dispatch(r, tx)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("handler hangs on %q", data)
		}
		if os.Getenv("SIPTEST_SHOW") != "" && len(tx.res) == 1 {
			t.Logf("authed=%v %s -> %d %s", authed, r.StartLine(), tx.res[0].StatusCode, tx.res[0].Reason)
		}
		switch {
		case r.IsAck() && len(tx.res) != 0:
			t.Fatalf("ACK answered: %v", tx.res[0].StartLine())
		case !r.IsAck() && len(tx.res) != 1:
			t.Fatalf("%d answers to %q", len(tx.res), r.StartLine())
		case len(tx.res) == 1 && tx.res[0].StatusCode == 500:
			t.Fatalf("500 (a panic) for %q", data)
		}
	}
}

// recordingTx is a server transaction that records responses.
type recordingTx struct {
	mu  sync.Mutex
	res []*sip.Response
}

func (r *recordingTx) Respond(res *sip.Response) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res = append(r.res, res)
	return nil
}
func (r *recordingTx) Terminate()                           {}
func (r *recordingTx) OnTerminate(f sip.FnTxTerminate) bool { return true }
func (r *recordingTx) Done() <-chan struct{}                { return nil }
func (r *recordingTx) Err() error                           { return nil }
func (r *recordingTx) Acks() <-chan *sip.Request            { return nil }
func (r *recordingTx) OnCancel(f sip.FnTxCancel) bool       { return true }

// memRegistry is an in-memory Store for handler tests and benchmarks: a
// single node (always fresh) that notifies its listeners of new accounts.
type memRegistry struct {
	memCallStore
	mu        sync.Mutex
	accounts  map[string]xc5.SIPCredentials
	bindings  map[string]map[string]xc5.Binding
	listeners []func(resource.Change)
}

func newMemRegistry() *memRegistry {
	return &memRegistry{accounts: map[string]xc5.SIPCredentials{}, bindings: map[string]map[string]xc5.Binding{}}
}

func (m *memRegistry) add(username, pw string) xc5.SIPCredentials {
	r := secret.Realm(username)
	ha1 := secret.DigestHA1(username, r, pw)
	c := xc5.SIPCredentials{GUID: "G-" + username, Username: username, Realm: r, HA1MD5: ha1.MD5, HA1SHA256: ha1.SHA256, Enabled: true}
	m.mu.Lock()
	m.accounts[username] = c
	listeners := m.listeners
	m.mu.Unlock()
	for _, fn := range listeners {
		fn(resource.Change{Resource: resource.Account, Account: c.GUID, GUID: c.GUID})
	}
	return c
}

func (m *memRegistry) OnChange(fn func(resource.Change)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, fn)
}

func (m *memRegistry) Fresh() bool { return true }

func (m *memRegistry) SIPCredentials(ctx context.Context, username string) (xc5.SIPCredentials, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.accounts[username]
	if !ok {
		return c, xc5.Errorf(xc5.ENOTFOUND, "account %s not found", username)
	}
	return c, nil
}

func (m *memRegistry) PutRegistration(ctx context.Context, guid, contact string, expires time.Time, ua, source string, limit xc5.ContactCap) ([]xc5.Binding, error) {
	m.mu.Lock()
	if m.bindings[guid] == nil {
		m.bindings[guid] = map[string]xc5.Binding{}
	}
	m.bindings[guid][contact] = xc5.Binding{GUID: contact, Contact: contact, Expires: expires, UserAgent: ua, Source: source}
	m.mu.Unlock()
	return m.ContactsOf(ctx, guid, limit.Now)
}

func (m *memRegistry) DeleteRegistration(ctx context.Context, guid, contact string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.bindings[guid][contact]; !ok {
		return xc5.Errorf(xc5.ENOTFOUND, "registration not found")
	}
	delete(m.bindings[guid], contact)
	return nil
}

func (m *memRegistry) DeleteAllRegistrations(ctx context.Context, guid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.bindings, guid)
	return nil
}

func (m *memRegistry) ExpireRegistrations(ctx context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, bs := range m.bindings {
		for c, b := range bs {
			if !b.Expires.After(now) {
				delete(bs, c)
				n++
			}
		}
	}
	return n, nil
}

func (m *memRegistry) ContactsOf(ctx context.Context, guid string, now time.Time) ([]xc5.Binding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []xc5.Binding
	for _, b := range m.bindings[guid] {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out, nil
}
