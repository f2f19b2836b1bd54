package sipserver

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// rawPhone is a phone on a bare UDP socket (so that its source address
// can be 127.0.0.2 or 127.0.0.3), sending one request at a time.
type rawPhone struct {
	t    testing.TB
	c    *net.UDPConn
	dst  *net.UDPAddr
	user string
	pw   string
	n    int
}

func newRawPhone(t testing.TB, local, server, user, pw string) *rawPhone {
	dst, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	return &rawPhone{t: t, c: rawUDP(t, local), dst: dst, user: user, pw: pw}
}

// send sends a request and returns the response, nil when none came
// within two seconds.
func (p *rawPhone) send(method, ruri string, extra ...string) *sip.Response {
	if _, err := p.c.WriteToUDP(p.request(method, ruri, extra...), p.dst); err != nil {
		p.t.Error(err)
		return nil
	}
	return p.read()
}

// request builds the phone's next request (a new transaction).
func (p *rawPhone) request(method, ruri string, extra ...string) []byte {
	p.n++
	return rawRequest(p.c, method, ruri, p.user, fmt.Sprintf("%s%d", strings.ReplaceAll(p.c.LocalAddr().String(), ":", "x"), p.n), extra...)
}

// read returns the next response, nil when none came within two seconds.
func (p *rawPhone) read() *sip.Response {
	buf := make([]byte, 65535)
	p.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := p.c.Read(buf)
	if err != nil {
		return nil
	}
	m, err := sip.ParseMessage(buf[:n])
	if err != nil {
		p.t.Errorf("bad response: %v", err)
		return nil
	}
	res, _ := m.(*sip.Response)
	return res
}

const rawRURI = "sip:acmebrick.x.co.nz"

// answer is the REGISTER that answers the 401 chal with the MD5 digest:
// for 600 s, unless headers are given instead.
func (p *rawPhone) answer(chal *sip.Response, headers ...string) []byte {
	c, err := digest.ParseChallenge(chal.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		p.t.Fatal(err)
	}
	cred, err := digest.Digest(c, digest.Options{Method: "REGISTER", URI: rawRURI, Username: p.user, Password: p.pw, Count: 1})
	if err != nil {
		p.t.Fatal(err)
	}
	if len(headers) == 0 {
		headers = []string{"Expires: 600"}
	}
	return p.request("REGISTER", rawRURI, append(headers, "Authorization: "+cred.String())...)
}

// register registers the phone (401, then the MD5 answer) and returns the
// final status, 0 when a request went unanswered.
func (p *rawPhone) register() int {
	res := p.send("REGISTER", rawRURI, "Expires: 600")
	if res == nil || res.StatusCode != 401 {
		return status(res)
	}
	if _, err := p.c.WriteToUDP(p.answer(res), p.dst); err != nil {
		p.t.Error(err)
		return 0
	}
	return status(p.read())
}

func status(res *sip.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// flood sends n requests of each method from c as fast as it can, each a
// new transaction (as scanners send them), and counts the responses that
// come back until quiet for a second.
func flood(t *testing.T, c *net.UDPConn, dst *net.UDPAddr, n int, methods ...string) int {
	var answered atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(buf); err != nil {
				return
			}
			answered.Add(1)
		}
	}()
	for i := 0; i < n; i++ {
		for _, m := range methods {
			r := rawRequest(c, m, "sip:100@"+dst.String(), "100@"+dst.String(), fmt.Sprintf("flood%s%d", m, i))
			if _, err := c.WriteToUDP(r, dst); err != nil {
				t.Fatal(err)
			}
		}
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // stay within the socket buffers
		}
	}
	<-done
	return int(answered.Load())
}

// TestScannerThrottled: a scanner floods xc5 from 127.0.0.1 with OPTIONS
// and REGISTERs; beyond its address's burst they go unanswered, while a
// phone on 127.0.0.2 registers normally.
func TestScannerThrottled(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	phone := newRawPhone(t, "127.0.0.2:0", srv.addr, reception, password)
	scanner := rawUDP(t, "127.0.0.1:0")
	dst, _ := net.ResolveUDPAddr("udp", srv.addr)

	registered := make(chan int, 1)
	go func() {
		time.Sleep(50 * time.Millisecond) // in the middle of the flood
		registered <- phone.register()
	}()
	const n = 2500
	answered := flood(t, scanner, dst, n, "OPTIONS", "REGISTER")
	if code := <-registered; code != 200 {
		t.Fatalf("the phone on 127.0.0.2 got %d during the flood, want 200", code)
	}
	if got := contactsOf(t, store, guid, srv.clock.Now()); len(got) != 1 {
		t.Fatalf("bindings %v", got)
	}
	// The test clock stands still: the scanner gets its burst, no more.
	if answered > srv.cfg.SourceBurst || answered == 0 {
		t.Errorf("the scanner's %d requests drew %d answers, want at most its burst of %d", 2*n, answered, srv.cfg.SourceBurst)
	}
	// Most of the rest were dropped by the throttle (a few may be lost in
	// the sockets when the machine is busy).
	if d := srv.Throttled(); d < n {
		t.Errorf("Throttled() = %d of %d", d, 2*n)
	}
}

// TestNATPhonesNotThrottled: 200 phones behind one NAT address
// (127.0.0.3) send OPTIONS keepalives every 30 s, all at once, then
// register together and re-register every 60 s, for several minutes;
// then the NAT restarts and every phone, on a new port, sends a keepalive
// and registers again at the same moment: not one request goes
// unanswered. The budget is scaled down (a source 250, the address 500
// a burst) to keep the test quick: the restart's 600 requests exceed the
// ceiling of an address nobody authenticated at, and fit in the ten times
// higher one of an address where phones did. A carrier's trunk address
// is not throttled at all.
func TestNATPhonesNotThrottled(t *testing.T) {
	x := newPBX(t, Config{SourceBurst: 250, MaxContacts: 20})
	const phones = 200
	ps := make([]*rawPhone, phones)
	for i := range ps { // ten phones an account
		user := fmt.Sprintf("desk%d@acmebrick.x.co.nz", i/10)
		if i%10 == 0 {
			x.account("acmebrick.x.co.nz", `{"username":"`+user+`","password":"`+password+`"}`)
		}
		ps[i] = newRawPhone(t, "127.0.0.3:0", x.srv.addr, user, password)
	}
	all := func(what string, f func(p *rawPhone) int, want int) {
		t.Helper()
		var wg sync.WaitGroup
		var bad atomic.Int64
		for _, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got := f(p); got != want {
					bad.Add(1)
				}
			}()
		}
		wg.Wait()
		if bad.Load() > 0 {
			t.Fatalf("%s: %d of %d phones behind the NAT were refused or unanswered (throttled %d)", what, bad.Load(), phones, x.srv.Throttled())
		}
	}
	keepalive := func(p *rawPhone) int { return status(p.send("OPTIONS", "sip:"+x.srv.addr)) }
	for range 2 { // a minute of keepalives before any registration
		all("keepalive", keepalive, 200)
		x.srv.clock.Advance(30 * time.Second)
	}
	for range 3 { // three minutes of registrations and keepalives
		all("register", (*rawPhone).register, 200)
		all("keepalive", keepalive, 200)
		x.srv.clock.Advance(30 * time.Second)
		all("keepalive", keepalive, 200)
		x.srv.clock.Advance(30 * time.Second)
	}
	// The NAT restarts: every phone comes from a new port at once.
	all("keepalive and registration after the NAT restarted", func(p *rawPhone) int {
		p.c = rawUDP(t, "127.0.0.3:0")
		if c := keepalive(p); c != 200 {
			return c
		}
		return p.register()
	}, 200)
	if d := x.srv.Throttled(); d != 0 {
		t.Errorf("Throttled() = %d", d)
	}

	// A carrier on its trunk's address sends far beyond the budget.
	x.trunk("", "", "")
	c := rawUDP(t, "127.0.0.1:0")
	dst, _ := net.ResolveUDPAddr("udp", x.srv.addr)
	// The trunks are loaded (as once any call came in), so that the
	// lookup made when half the carrier's burst is gone is as quick as in
	// service, not a first read of the store racing a flood of 50,000 a
	// second.
	if !x.srv.isTrunk(c.LocalAddr().String(), "UDP") {
		t.Fatal("the carrier's address is no trunk's")
	}
	// Far more than the budget must be answered and nothing throttled; on
	// a loaded machine loopback UDP itself drops some of a 2000-datagram
	// burst, so the count is not asked to be near n.
	const n = 2000
	if got := flood(t, c, dst, n, "OPTIONS"); got < 2*x.srv.cfg.SourceBurst || x.srv.Throttled() != 0 {
		t.Errorf("the carrier's %d OPTIONS drew %d answers (throttled %d); its budget was %d", n, got, x.srv.Throttled(), x.srv.cfg.SourceBurst)
	}
}

// TestThrottleBudget checks the buckets: a new source (UDP address and
// port, or connection) gets its burst and then rate a second, an address
// (all its ports) twice that, TCP apart from UDP; a source that
// authenticated is exempt, an address where one did has ten times the
// ceiling, and its requests with verified credentials pass when it is
// spent.
func TestThrottleBudget(t *testing.T) {
	now := time.Now()
	th := newThrottle(50, 500, time.Hour)
	no := func() bool { return false }
	for _, tc := range []struct {
		name      string
		step      func()
		transport string
		ip        string
		port      int
		ports     int // sources on consecutive ports; 0 is one
		creds     bool
		n         int // requests from each source
		want      int // allowed in all
	}{
		{"one source: its burst", nil, "UDP", "192.0.2.1", 5060, 0, false, 600, 500},
		{"credentials do not help an unknown address", nil, "UDP", "192.0.2.1", 5060, 0, true, 10, 0},
		{"refilled at rate", func() { now = now.Add(2 * time.Second) }, "UDP", "192.0.2.1", 5060, 0, false, 600, 100},
		{"another port: its own burst", nil, "UDP", "192.0.2.1", 5061, 0, false, 600, 500},
		{"a third port: the address's ceiling is spent", nil, "UDP", "192.0.2.1", 5062, 0, false, 600, 100},
		{"TCP from the address has its own", nil, "TCP", "192.0.2.1", 40000, 0, false, 600, 500},
		{"another address has its own", nil, "UDP", "192.0.2.2", 5060, 0, false, 600, 500},
		{"an IPv6 /64 is one address", nil, "UDP", "2001:db8::", 5060, 0, false, 600, 500},
		{"a scanner rotating its /64's addresses", nil, "UDP", "2001:db8::1:", 5060, 0, false, 600, 500},
		{"… and ports", nil, "UDP", "2001:db8::2:", 5060, 5, false, 600, 0},
		{"authenticated source: exempt", func() { th.authenticatedFrom(originOf("192.0.2.2:5060", "UDP"), now) },
			"UDP", "192.0.2.2", 5060, 0, false, 5000, 5000},
		{"known address, another port: its source's burst", nil, "UDP", "192.0.2.2", 5061, 0, false, 600, 500},
		{"known address: ten times the ceiling", func() { now = now.Add(10 * time.Second) }, "UDP", "192.0.2.2", 6000, 30, false, 500, 10000},
		{"known address spent: verified credentials pass", nil, "UDP", "192.0.2.2", 7000, 0, true, 10, 10},
		{"known address spent: no credentials, dropped", nil, "UDP", "192.0.2.2", 7001, 0, false, 10, 0},
		{"known no more after knownFor", func() { now = now.Add(2 * time.Hour) }, "UDP", "192.0.2.2", 8000, 30, false, 500, 1000},
		{"the exemption expired too", nil, "UDP", "192.0.2.2", 5060, 0, false, 10, 0},
	} {
		if tc.step != nil {
			tc.step()
		}
		got := 0
		for p := range max(1, tc.ports) {
			host := tc.ip
			if strings.HasSuffix(host, ":") {
				host += fmt.Sprintf("%x", p+1) // 2001:db8::1:1, 2001:db8::1:2, …
			}
			o := originOf(net.JoinHostPort(host, fmt.Sprint(tc.port+p)), tc.transport)
			for range tc.n {
				if th.allow(o, now, func() bool { return tc.creds }, no) {
					got++
				}
			}
		}
		if got != tc.want {
			t.Errorf("%s: %d allowed, want %d", tc.name, got, tc.want)
		}
	}
}
