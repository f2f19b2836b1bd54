package sipserver

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/poll"
)

// readRaw returns the next datagram that arrives on c, nil when none came
// within d.
func readRaw(c *net.UDPConn, d time.Duration) []byte {
	buf := make([]byte, 65535)
	c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// TestRegisterUDPRetransmissionAnsweredAgain: a retransmission of a
// REGISTER over UDP answered a moment ago gets the very same final
// response again (RFC 3261 17.2.2, Completed), byte for byte, and the
// binding is written once; a new transaction (new branch) of the same
// phone is handled anew.
func TestRegisterUDPRetransmissionAnsweredAgain(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	gate := make(chan struct{})
	close(gate)
	g := &countingStore{gatedStore: gatedStore{Store: store, gate: gate, waiting: make(chan struct{}, 1)}}
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1, DigestAlgorithms: []string{"MD5"}}, g)
	p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	authed, first := registerRaw(t, p)
	for i := range 3 {
		p.c.WriteToUDP(authed, p.dst)
		again := readRaw(p.c, 5*time.Second)
		if !bytes.Equal(again, first) {
			t.Fatalf("retransmission %d answered\n%s\nwant the same\n%s", i, again, first)
		}
	}
	if n := g.puts.Load(); n != 1 {
		t.Errorf("%d bindings written, want 1", n)
	}
	if code := p.register(); code != 200 { // new transactions
		t.Fatalf("a new registration: %d", code)
	}
	if n := g.puts.Load(); n != 2 {
		t.Errorf("%d bindings written after a new registration, want 2", n)
	}
	st := srv.Stats()
	if got := st.Requests["REGISTER"]; got != 4 {
		t.Errorf("Stats counted %d REGISTERs, want 4 (retransmissions are not requests)", got)
	}
	if got := st.Responses["REGISTER"][200]; got != 2 {
		t.Errorf("Stats counted %d 200s, want 2", got)
	}
}

// TestRegisterUDPMalformed: a REGISTER over UDP that sipgo's parser
// refuses (a Contact that does not parse) is answered 400, routed by its
// Via as any response, instead of being dropped unanswered (its sender
// would retransmit it for 32 s); one without CSeq or Call-ID gets 400 too
// (without Call-ID a worker panicked on its retransmission key, answered
// nothing and logged a stack per datagram); one whose Via does not parse
// cannot be answered and is dropped; and the registrar serves on.
func TestRegisterUDPMalformed(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1}, store)
	p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	la := p.c.LocalAddr().String()
	const callID = "Call-ID: bad@test\r\n"
	msg := func(via, extra string) []byte {
		return []byte("REGISTER sip:acmebrick.x.co.nz SIP/2.0\r\n" + via +
			"From: <sip:" + reception + ">;tag=1\r\nTo: <sip:" + reception + ">\r\n" +
			extra + "Content-Length: 0\r\n\r\n")
	}
	via := "Via: SIP/2.0/UDP " + la + ";branch=z9hG4bKbad1;rport\r\n"
	for _, tc := range []struct{ name, via, extra string }{
		{"bad Contact", via, callID + "CSeq: 1 REGISTER\r\nContact: <sip:desk@\r\n"},
		{"no CSeq", strings.Replace(via, "bad1", "bad2", 1), callID + "Contact: <sip:" + la + ">\r\n"},
		{"no Call-ID", strings.Replace(via, "bad1", "bad4", 1), "CSeq: 1 REGISTER\r\nContact: <sip:" + la + ">\r\n"},
	} {
		p.c.WriteToUDP(msg(tc.via, tc.extra), p.dst)
		res := p.read()
		if status(res) != 400 {
			t.Fatalf("%s: %v, want 400", tc.name, res)
		}
		v := res.Via()
		if rport, _ := v.Params.Get("rport"); rport != strings.Split(la, ":")[1] {
			t.Errorf("%s: Via %s, want rport filled in", tc.name, v)
		}
	}
	p.c.WriteToUDP(msg("Via: SIP/2.0/UDP [garbage;branch=z9hG4bKbad3\r\n", callID+"CSeq: 1 REGISTER\r\n"), p.dst)
	if res := p.read(); res != nil {
		t.Errorf("REGISTER with an unparsable Via: %v, want no answer", res)
	}
	if code := p.register(); code != 200 {
		t.Fatalf("registration after malformed REGISTERs: %d", code)
	}
}

// TestRegisterUDPResponseRouting: a response over UDP goes where sipgo
// sends it (RFC 3261 18.2.2, RFC 3581): without rport, to the source
// address at the Via's port; with rport, to the source port, which the
// Via's rport and received then name.
func TestRegisterUDPResponseRouting(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1}, store)
	send, recv := rawUDP(t, "127.0.0.1:0"), rawUDP(t, "127.0.0.1:0")
	dst, _ := net.ResolveUDPAddr("udp", srv.addr)
	req := rawRequest(send, "REGISTER", rawRURI, reception, "route1")
	req = bytes.Replace(req, []byte(send.LocalAddr().String()+";branch=z9hG4bKroute1;rport"),
		[]byte(recv.LocalAddr().String()+";branch=z9hG4bKroute1"), 1)
	send.WriteToUDP(req, dst)
	if got := readRaw(recv, 3*time.Second); !bytes.HasPrefix(got, []byte("SIP/2.0 401 ")) {
		t.Fatalf("without rport, at the Via's port: %q", got)
	}
	if got := readRaw(send, 200*time.Millisecond); got != nil {
		t.Fatalf("without rport, at the source port: %q", got)
	}
	send.WriteToUDP(rawRequest(send, "REGISTER", rawRURI, reception, "route2"), dst)
	got := readRaw(send, 3*time.Second)
	m, err := sip.ParseMessage(got)
	if err != nil {
		t.Fatalf("with rport: %q: %v", got, err)
	}
	v := m.(*sip.Response).Via()
	rport, _ := v.Params.Get("rport")
	received, _ := v.Params.Get("received")
	if want := netip.MustParseAddrPort(send.LocalAddr().String()); rport != strconv.Itoa(int(want.Port())) || received != want.Addr().String() {
		t.Errorf("with rport: Via %s, want rport=%d;received=%s", v, want.Port(), want.Addr())
	}
}

// TestRegisterTCPStillTransactional: a REGISTER over TCP goes through
// sipgo's transactions (the UDP path is for Serve's UDP socket only).
func TestRegisterTCPStillTransactional(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1}, store)
	p := newPhone(t, srv.addr, "TCP")
	res := p.login(p.register(reception, []string{"<sip:desk@127.0.0.1:5099;transport=tcp>"}, 600), "SHA-256", reception, password)
	wantStatus(t, res, 200)
	if srv.udpReg.txs.len() != 0 {
		t.Errorf("%d UDP transactions after a registration over TCP", srv.udpReg.txs.len())
	}
}

// FuzzRegisterDatagram: whatever a REGISTER datagram holds, reading it
// (parse, the 400 fallback, the transaction key, the response's
// destination) does not panic.
func FuzzRegisterDatagram(f *testing.F) {
	store := newStore(f)
	srv := startServer(f, Config{AuthFailures: -1, SourceRate: -1}, store)
	r := srv.udpReg
	c := rawUDP(f, "127.0.0.1:0")
	base := rawRequest(c, "REGISTER", rawRURI, reception, "fuzz1", "Expires: 600")
	f.Add(base)
	f.Add(bytes.Replace(base, []byte("<sip:"), []byte("<sip:x@"), 1))
	f.Add([]byte("REGISTER sip:a SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;rport=99999\r\nCSeq: 1 REGISTER\r\n\r\n"))
	f.Add([]byte("REGISTER \r\n\r\n"))
	src := netip.MustParseAddrPort(c.LocalAddr().String())
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.HasPrefix(data, []byte("REGISTER ")) {
			data = append([]byte("REGISTER "), data...)
		}
		d := &regDatagram{data: data, src: src, arrived: time.Now()}
		if req := r.parse(d); req != nil {
			udpDest(req, src)
			if r.begin(d, req) { // the transaction match (a 400 goes to c)
				r.txs.forget(d.reply.tx)
			}
		}
	})
}

// TestRegisterUDPPoolGrowsByStoreWaits: REGISTERs waiting for a slow store
// hold no turn at the CPU: with more of them held than there are turns and
// workers at work, new REGISTERs (the challenges of other phones) are
// still served, every held one reaches the store, and all are answered
// 200 when it catches up.
func TestRegisterUDPPoolGrowsByStoreWaits(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	g := &countingStore{gatedStore: gatedStore{Store: store, gate: make(chan struct{}), waiting: make(chan struct{}, 1)}}
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1, DigestAlgorithms: []string{"MD5"}, MaxContacts: 100}, g)
	n := int(srv.udpReg.active) + 6
	var phones []*rawPhone
	for i := range n {
		p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
		chal := p.send("REGISTER", rawRURI, "Expires: 600")
		if status(chal) != 401 {
			t.Fatalf("phone %d's first REGISTER with %d held: %v", i, i, chal)
		}
		p.c.WriteToUDP(p.answer(chal), p.dst)
		phones = append(phones, p)
	}
	poll.Until(t, 10*time.Second, "every answered REGISTER held by the store", func() bool { return g.puts.Load() == int64(n) })
	close(g.gate)
	for i, p := range phones {
		if res := p.read(); status(res) != 200 {
			t.Errorf("phone %d: %v", i, res)
		}
	}
}

// registerRaw registers p (challenge, answer) and returns the answered
// REGISTER's bytes and its 200.
func registerRaw(t *testing.T, p *rawPhone) (authed, ok []byte) {
	t.Helper()
	chal := p.send("REGISTER", rawRURI, "Expires: 600")
	if status(chal) != 401 {
		t.Fatalf("first REGISTER: %v", chal)
	}
	authed = p.answer(chal)
	p.c.WriteToUDP(authed, p.dst)
	ok = readRaw(p.c, 5*time.Second)
	if !bytes.HasPrefix(ok, []byte("SIP/2.0 200 ")) {
		t.Fatalf("answered REGISTER: %q", ok)
	}
	return authed, ok
}
