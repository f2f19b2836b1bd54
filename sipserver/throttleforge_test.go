package sipserver

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"xc5/internal/poll"
)

// floodFrom sends n requests from c (each a new transaction, made by
// req(i)) as fast as the socket buffers allow and counts the responses by
// status until quiet for a second.
func floodFrom(t *testing.T, c *net.UDPConn, dst *net.UDPAddr, n int, req func(i int) []byte) map[string]int {
	t.Helper()
	done := make(chan map[string]int)
	go func() { done <- countResponsesQuiet(c, time.Second) }()
	for i := range n {
		if _, err := c.WriteToUDP(req(i), dst); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // stay within the socket buffers
		}
	}
	return <-done
}

// countResponsesQuiet counts responses by status until none came for
// quiet.
func countResponsesQuiet(c *net.UDPConn, quiet time.Duration) map[string]int {
	got := map[string]int{}
	buf := make([]byte, 65535)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		if err != nil {
			return got
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if strings.HasPrefix(line, "SIP/2.0 ") {
			got[strings.Fields(line)[1]]++
		}
	}
}

func total(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

// withToTag gives a raw request's To header a tag.
func withToTag(r []byte, aor, tag string) []byte {
	return []byte(strings.Replace(string(r), "To: <sip:"+aor+">", "To: <sip:"+aor+">;tag="+tag, 1))
}

// TestToTagDoesNotBypassThrottle: a scanner that writes a To tag into its
// OPTIONS and REGISTERs is throttled like any other: a tag that names no
// dialog of a call is no dialog, and a REGISTER never is in one.
func TestToTagDoesNotBypassThrottle(t *testing.T) {
	x := newPBX(t, Config{SourceBurst: 100})
	c := rawUDP(t, "127.0.0.1:0")
	dst, _ := net.ResolveUDPAddr("udp", x.srv.addr)
	const n = 1000
	aor := "100@acmebrick.x.co.nz"
	got := floodFrom(t, c, dst, n, func(i int) []byte {
		m := []string{"OPTIONS", "REGISTER"}[i%2]
		return withToTag(rawRequest(c, m, rawRURI, aor, fmt.Sprintf("tt%d", i)), aor, "scan")
	})
	if a := total(got); a > 100 || a == 0 {
		t.Errorf("%d requests with a To tag from one address drew %v, want at most the burst of 100", n, got)
	}
	if d := x.srv.Throttled(); d < n/2 {
		t.Errorf("Throttled() = %d of %d", d, n)
	}
}

// TestForgedToTagInviteOneAnswer: an INVITE whose To tag names no dialog
// draws one 481, not the INVITE transaction's retransmissions of it
// (Timer G: the second 500 ms after the first).
func TestForgedToTagInviteOneAnswer(t *testing.T) {
	x := newPBX(t, Config{})
	c := rawUDP(t, "127.0.0.1:0")
	dst, _ := net.ResolveUDPAddr("udp", x.srv.addr)
	r := withToTag(rawRequest(c, "INVITE", "sip:608@"+x.srv.addr, reception, "ampTag"), reception, "forged")
	if _, err := c.WriteToUDP(r, dst); err != nil {
		t.Fatal(err)
	}
	if got := countResponses(c, 2500*time.Millisecond); got["481"] != 1 || len(got) != 1 {
		t.Fatalf("one INVITE with a forged To tag drew %v in 2.5 s, want one 481", got)
	}
}

// junkAuthorization is digest credentials with a nonce xc5 never made.
const junkAuthorization = `Authorization: Digest username="desk0@acmebrick.x.co.nz",realm="acmebrick.x.co.nz",nonce="AAAA",uri="sip:acmebrick.x.co.nz",response="00000000000000000000000000000000"`

// TestJunkCredentialsThrottled: from an address where a phone
// authenticated, requests carrying an Authorization header whose nonce
// xc5 did not send there are throttled like any other: only a verified
// nonce lets a request past a spent budget.
func TestJunkCredentialsThrottled(t *testing.T) {
	x := newPBX(t, Config{SourceBurst: 100})
	x.account("acmebrick.x.co.nz", `{"username":"desk0@acmebrick.x.co.nz","password":"`+password+`"}`)
	p := newRawPhone(t, "127.0.0.3:0", x.srv.addr, "desk0@acmebrick.x.co.nz", password)
	if c := p.register(); c != 200 {
		t.Fatalf("register %d", c)
	}
	forger := rawUDP(t, "127.0.0.3:0")
	dst, _ := net.ResolveUDPAddr("udp", x.srv.addr)
	const n = 1000
	got := floodFrom(t, forger, dst, n, func(i int) []byte {
		return rawRequest(forger, "REGISTER", rawRURI, "desk0@acmebrick.x.co.nz", fmt.Sprintf("bog%d", i), junkAuthorization)
	})
	if a := total(got); a > 100 || a == 0 {
		t.Errorf("%d REGISTERs with junk credentials from a known address drew %v, want at most the source's burst of 100", n, got)
	}
}

// TestForgedFloodSparesNATPhones: a forger sends OPTIONS "from" a
// customer's NAT address (its IP, other ports, rotating them so as to spend
// the address's ceiling too). The phone registered from that address
// keeps its keepalives and registration (its exact IP and port are
// exempt), a phone whose NAT port changed gets back in with its cached
// nonce (verified credentials from a known address), and a phone over TCP
// from the same address is untouched (connections have their own
// ceiling). What the forger still does: a phone on a new port without
// credentials (its keepalive, its first REGISTER) goes unanswered while
// the flood lasts (docs/sip.md "Scanners").
func TestForgedFloodSparesNATPhones(t *testing.T) {
	x := newPBX(t, Config{SourceBurst: 100}) // a source 100, the address 200, known 2,000
	x.account("acmebrick.x.co.nz", `{"username":"desk0@acmebrick.x.co.nz","password":"`+password+`"}`)
	x.account("acmebrick.x.co.nz", `{"username":"desk1@acmebrick.x.co.nz","password":"`+password+`"}`)
	p := newRawPhone(t, "127.0.0.3:0", x.srv.addr, "desk0@acmebrick.x.co.nz", password)
	if c := p.register(); c != 200 {
		t.Fatalf("register %d", c)
	}
	dst, _ := net.ResolveUDPAddr("udp", x.srv.addr)
	for port := range 30 { // 30 ports of 100: the known ceiling of 2,000 and more
		forger := rawUDP(t, "127.0.0.3:0")
		for i := range 100 {
			r := rawRequest(forger, "OPTIONS", "sip:"+x.srv.addr, "scan@127.0.0.3", fmt.Sprintf("f%dx%d", port, i))
			if _, err := forger.WriteToUDP(r, dst); err != nil {
				t.Fatal(err)
			}
			if i%50 == 49 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	// Each port sends no more than its source's burst: any drop means the
	// address's ceiling is spent (and with the clock still, it stays so).
	poll.Until(t, 5*time.Second, "100 requests throttled", func() bool { return x.srv.Throttled() >= 100 })
	if c := status(p.send("OPTIONS", "sip:"+x.srv.addr)); c != 200 {
		t.Errorf("the registered phone's keepalive during the flood: %d", c)
	}
	chal := p.send("REGISTER", rawRURI, "Expires: 600")
	if status(chal) != 401 {
		t.Fatalf("the registered phone's REGISTER without credentials during the flood: %d", status(chal))
	}

	// Its NAT mapping changes: a new port, the nonce it holds.
	p.c = rawUDP(t, "127.0.0.3:0")
	if c := status(p.send("OPTIONS", "sip:"+x.srv.addr)); c != 0 {
		t.Errorf("a new source's keepalive got %d: the forger's flood no longer spends the address (update docs/sip.md)", c)
	}
	if _, err := p.c.WriteToUDP(p.answer(chal), p.dst); err != nil {
		t.Fatal(err)
	}
	if c := status(p.read()); c != 200 {
		t.Errorf("the phone on a new port answering its challenge: %d, want 200", c)
	}
	if c := status(p.send("OPTIONS", "sip:"+x.srv.addr)); c != 200 {
		t.Errorf("its keepalive from the new port once authenticated: %d", c)
	}

	// Over TCP from the same address.
	tp := newTCPRawPhone(t, "127.0.0.3:0", x.srv.addr)
	if c := tp.send("OPTIONS"); c != 200 {
		t.Errorf("a phone over TCP from the flooded address: %d", c)
	}
}

// tcpRawPhone is a bare TCP connection from a chosen local address.
type tcpRawPhone struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
	n  int
}

func newTCPRawPhone(t *testing.T, local, server string) *tcpRawPhone {
	la, _ := net.ResolveTCPAddr("tcp", local)
	c, err := (&net.Dialer{LocalAddr: la, Timeout: 2 * time.Second}).Dial("tcp", server)
	if err != nil {
		t.Skipf("cannot connect from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return &tcpRawPhone{t: t, c: c, rd: bufio.NewReader(c)}
}

// send sends a request and returns the status of the response, 0 when
// none came within two seconds.
func (p *tcpRawPhone) send(method string) int {
	p.n++
	la := p.c.LocalAddr().String()
	branch := fmt.Sprintf("tcp%s%d", strings.NewReplacer(".", "", ":", "").Replace(la), p.n)
	msg := fmt.Sprintf("%s sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:tcp@%s>;tag=%s\r\nTo: <sip:tcp@%s>\r\nCall-ID: %s@test\r\nCSeq: 1 %s\r\n"+
		"Max-Forwards: 70\r\nContact: <sip:%s;transport=tcp>\r\nContent-Length: 0\r\n\r\n",
		method, p.c.RemoteAddr(), la, branch, la, branch, la, branch, method, la)
	if _, err := p.c.Write([]byte(msg)); err != nil {
		p.t.Error(err)
		return 0
	}
	p.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := p.rd.ReadString('\n')
	if err != nil {
		return 0
	}
	for { // the rest of the header; the responses here have no body
		h, err := p.rd.ReadString('\n')
		if err != nil || h == "\r\n" {
			break
		}
	}
	res := strings.Fields(line)
	if len(res) < 2 || res[0] != "SIP/2.0" {
		return 0
	}
	var code int
	fmt.Sscan(res[1], &code)
	return code
}

// TestThrottleFullTable: with the tables full, a flood of fresh addresses
// shares one overflow bucket instead of passing, and a scanner already
// over its budget stays throttled; once a second the refilled buckets are
// forgotten and new addresses get their own again.
func TestThrottleFullTable(t *testing.T) {
	now := time.Now()
	th := newThrottle(50, 100, time.Hour)
	th.sources.cap, th.addrs.cap = 1000, 1000
	no := func() bool { return false }
	allow := func(o origin) bool { return th.allow(o, now, no, no) }
	scanner := originOf("198.51.100.1:5060", "UDP")
	phone := originOf("198.51.100.2:5060", "UDP")
	th.authenticatedFrom(phone, now)
	for range 100 {
		allow(scanner)
	}
	if allow(scanner) {
		t.Fatal("the scanner is not throttled after its burst")
	}
	fresh := func(from, n int) (ok int) {
		for i := range n {
			if allow(originOf(fmt.Sprintf("10.%d.%d.%d:5060", (from+i)>>16&255, (from+i)>>8&255, (from+i)&255), "UDP")) {
				ok++
			}
		}
		return ok
	}
	const n = 10000
	if got := fresh(0, n); got > 1000+100 {
		t.Errorf("%d fresh addresses against a full table: %d allowed, want at most the table's 1,000 and the overflow's 100", n, got)
	}
	if allow(scanner) {
		t.Error("the scanner passes once the table is full")
	}
	if !allow(phone) {
		t.Error("an authenticated phone is throttled when the table is full")
	}
	if len(th.sources.m) > 1000 || len(th.addrs.m) > 1000 {
		t.Errorf("tables grew to %d and %d", len(th.sources.m), len(th.addrs.m))
	}
	now = now.Add(time.Second) // the fresh addresses' buckets are full again
	if got := fresh(n, 500); got != 500 {
		t.Errorf("a second later %d of 500 new addresses allowed, want all", got)
	}
	scans := 0
	for range 100 {
		if allow(scanner) {
			scans++
		}
	}
	if scans > 50 {
		t.Errorf("a second later the scanner got %d of 100, want its rate of 50 at most", scans)
	}
}

// BenchmarkThrottleFullTable is the cost of one request from a fresh
// address against full tables: the overflow path, and the pass over the
// table once a second (of the clock, which moves a second every 10,000
// requests) amortised.
func BenchmarkThrottleFullTable(b *testing.B) {
	now := time.Now()
	th := newThrottle(50, 1000, time.Hour)
	no := func() bool { return false }
	for i := range maxTracked {
		th.allow(originOf(fmt.Sprintf("10.%d.%d.%d:5060", i>>16&255, i>>8&255, i&255), "UDP"), now, no, no)
	}
	b.ResetTimer()
	for i := range b.N {
		if i%10000 == 9999 { // a flood of 10,000 new addresses a second
			now = now.Add(time.Second)
		}
		th.allow(originOf(fmt.Sprintf("[2001:db8:%x:%x::1]:5060", i>>16&0xffff, i&0xffff), "UDP"), now, no, no)
	}
}

// TestThrottleTrunkLookup: a source that has used half its burst is
// looked up among the trunks; while the lookup is in flight its requests
// over budget are dropped, not let by; once found a trunk it passes. A
// source that is not a trunk is looked up at most once a minute.
func TestThrottleTrunkLookup(t *testing.T) {
	now := time.Now()
	th := newThrottle(50, 4, time.Hour)
	no := func() bool { return false }
	never := func() bool { t.Error("looked up again"); return true }
	started, release := make(chan struct{}), make(chan struct{})
	slow := func() bool { close(started); <-release; return true }
	carrier := originOf("192.0.2.9:5060", "UDP")
	for i, want := range []bool{true, true, true} { // the third leaves 1 of 4: lookup begins
		if th.allow(carrier, now, no, slow) != want {
			t.Fatalf("request %d: allowed %v", i+1, !want)
		}
	}
	<-started
	if !th.allow(carrier, now, no, never) {
		t.Error("the last token was not given")
	}
	if th.allow(carrier, now, no, never) {
		t.Error("a request over budget passed while its source's trunk lookup was in flight")
	}
	close(release)
	poll.Until(t, 5*time.Second, "the carrier allowed", func() bool { return th.allow(carrier, now, no, never) })

	scanner := originOf("192.0.2.10:5060", "UDP")
	for range 10 {
		th.allow(scanner, now, no, no)
	}
	poll.Until(t, 5*time.Second, "the scanner's check done", func() bool {
		th.mu.Lock()
		defer th.mu.Unlock()
		return !th.sources.m[scanner.source].checking
	})
	for range 10 {
		if th.allow(scanner, now, no, never) {
			t.Error("a source found no trunk was let by")
		}
	}
	var looked atomic.Bool
	for range 10 {
		th.allow(scanner, now.Add(61*time.Second), no, func() bool { looked.Store(true); return false })
	}
	poll.Until(t, 5*time.Second, "looked up again after a minute", looked.Load)
}
