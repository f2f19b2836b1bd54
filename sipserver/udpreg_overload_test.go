package sipserver

import (
	"strconv"
	"testing"
	"time"

	"xc5/internal/poll"
)

// holdGate takes every turn at the registrar's CPU gate, so that UDP
// REGISTERs queue as they do while the CPU is behind. The turns still
// held when the test ends are given back then, on failure too: workers
// waiting for a turn would hold up the server's Close.
func holdGate(t testing.TB, s *Server) *heldGate {
	h := &heldGate{s: s, held: cap(s.regGate)}
	for range h.held {
		s.regGate <- struct{}{}
	}
	t.Cleanup(h.release)
	return h
}

// heldGate is the turns a test holds (holdGate).
type heldGate struct {
	s    *Server
	held int
}

// give gives back n of the turns (no more than are held).
func (h *heldGate) give(n int) {
	for ; n > 0 && h.held > 0; n, h.held = n-1, h.held-1 {
		<-h.s.regGate
	}
}

// release gives back every turn still held.
func (h *heldGate) release() { h.give(h.held) }

// TestUDPAnswersServedFirst: a phone's answer to its challenge that
// arrives behind a queue of new REGISTERs is served before them: it
// completes a registration already half paid for, where they only start
// one. In one queue it waited for all of them, and in a storm its sender
// retransmitted it, and gave up.
//
// The order of service is read from the order of the answers on one
// socket, with one turn at the CPU: the answer asks for 1 s, which is
// refused 423 as soon as it is authenticated, inside its turn, as each
// new REGISTER's 401 is (a 200 comes after the commit, outside the turn,
// and with every turn free the other workers go on meanwhile, more or
// less as the kernel schedules them).
func TestUDPAnswersServedFirst(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1, DigestAlgorithms: []string{"MD5"}}, store)
	p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	chal := p.send("REGISTER", rawRURI, "Expires: 600")
	if status(chal) != 401 {
		t.Fatalf("first REGISTER: %v", chal)
	}
	answer := p.answer(chal, "Expires: 1")

	gate := holdGate(t, srv.Server)
	const queued = 100
	sendRegisters(t, p, queued)
	poll.Until(t, 5*time.Second, "the new REGISTERs to be queued", func() bool { return srv.registers.Load() == queued })
	if _, err := p.c.WriteToUDP(answer, p.dst); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 5*time.Second, "the answer to be queued", func() bool { return srv.registers.Load() == queued+1 })
	gate.give(1)
	ahead := 0
	for {
		res := p.read()
		if status(res) == 423 {
			break
		}
		if status(res) != 401 {
			t.Fatalf("after %d new REGISTERs: %v, want 401 or the answer's 423", ahead, res)
		}
		ahead++
	}
	gate.release()
	// The workers that held a new REGISTER before the answer came serve
	// them first (they wait for the turn ahead of the worker that takes
	// the answer): at most one per worker on the CPU (cap+2, see
	// udpRegistrar.active), not the queue (100 of 100 in one queue).
	t.Logf("the answer was served after %d new REGISTERs", ahead)
	if limit := cap(srv.regGate) + 2; ahead > limit {
		t.Errorf("the answer was served after %d of the %d new REGISTERs queued ahead of it, want at most %d", ahead, queued, limit)
	}
	for i := ahead; i < queued; i++ {
		if res := p.read(); status(res) != 401 {
			t.Fatalf("new REGISTER %d: %v, want 401", i, res)
		}
	}
}

// TestUDPStaleNewRegisterDropped: a new REGISTER that waited in the
// registrar's queue longer than MaxQueueWait is dropped unanswered, as it
// would be had it waited in the socket's buffer (its sender retransmits,
// and the copy is served), once the budget of 503s for them is spent
// (none here); an answer to a challenge that waited as long is still
// served.
func TestUDPStaleNewRegisterDropped(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1, MaxQueueWait: 150 * time.Millisecond, StaleRefusals: -1, DigestAlgorithms: []string{"MD5"}}, store)
	desk := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	chal := desk.send("REGISTER", rawRURI, "Expires: 600")
	if status(chal) != 401 {
		t.Fatalf("first REGISTER: %v", chal)
	}
	gate := holdGate(t, srv.Server)
	late := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	stale := late.request("REGISTER", rawRURI, "Expires: 600")
	if _, err := late.c.WriteToUDP(stale, late.dst); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.c.WriteToUDP(desk.answer(chal), desk.dst); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // both wait twice MaxQueueWait
	gate.release()
	if res := desk.read(); status(res) != 200 {
		t.Fatalf("answer to the challenge after waiting: %v, want 200", res)
	}
	if res := late.read(); res != nil {
		t.Fatalf("new REGISTER after waiting: %v, want no answer", res.StartLine())
	}
	if n := srv.StaleDropped(); n != 1 {
		t.Errorf("StaleDropped() = %d, want 1", n)
	}
	// Its retransmission, read at once, is served.
	if _, err := late.c.WriteToUDP(stale, late.dst); err != nil {
		t.Fatal(err)
	}
	if res := late.read(); status(res) != 401 {
		t.Fatalf("retransmitted REGISTER: %v, want 401", res)
	}
}

// TestUDPStaleRefusalsBudget: of the new REGISTERs that waited too long
// for a worker, StaleRefusals a second (a tenth of a second's worth at
// once) get 503 with the spread Retry-After, which keeps their phones
// away; the rest are dropped unanswered, since the CPU that is behind
// cannot answer them all.
func TestUDPStaleRefusalsBudget(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1, MaxQueueWait: 150 * time.Millisecond, StaleRefusals: 20,
		RetryAfter: time.Second, RegisterRetrySpread: 9 * time.Second, DigestAlgorithms: []string{"MD5"}}, store)
	gate := holdGate(t, srv.Server)
	const queued = 30
	p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	sendRegisters(t, p, queued)
	poll.Until(t, 5*time.Second, "the REGISTERs to be queued", func() bool { return srv.registers.Load() == queued })
	time.Sleep(300 * time.Millisecond) // all wait twice MaxQueueWait
	gate.release()
	refused := 0
	for res := p.read(); res != nil; res = p.read() {
		if status(res) != 503 {
			t.Fatalf("a new REGISTER that waited too long: %v, want 503 or nothing", res.StartLine())
		}
		if ra := res.GetHeader("Retry-After"); ra == nil {
			t.Fatal("503 without Retry-After")
		} else if n, err := strconv.Atoi(ra.Value()); err != nil || n < 1 || n > 10 {
			t.Fatalf("Retry-After %q, want 1 to 10", ra.Value())
		}
		refused++
	}
	// A burst of 2, and 20 a second after it while the 30 were taken (a
	// few milliseconds: one more at most, on a slow machine two).
	if refused < 1 || refused > 4 {
		t.Errorf("%d of %d refused 503, want 1 to 4", refused, queued)
	}
	if n := srv.ShedRegisters(); n != int64(refused) {
		t.Errorf("ShedRegisters() = %d, want %d", n, refused)
	}
	if n := srv.StaleDropped(); n != int64(queued-refused) {
		t.Errorf("StaleDropped() = %d, want %d", n, queued-refused)
	}
}

// TestUDPRegisterLimitCountsWork: MaxPendingRegisters counts the REGISTERs
// workers hold, not the ones queued behind the CPU: a queue longer than
// the limit, which only the CPU holds up, is served (its oldest dropped
// by waiting time, not refused by count), where counting it refused all
// but the first few with 503, each refusal costing as much as the
// challenge it replaced.
func TestUDPRegisterLimitCountsWork(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	limit := cap(newRegGate()) + 8 // more than the workers that hold one at once
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1, MaxPendingRegisters: limit, DigestAlgorithms: []string{"MD5"}}, store)
	gate := holdGate(t, srv.Server)
	queued := 3 * limit
	p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	sendRegisters(t, p, queued)
	poll.Until(t, 5*time.Second, "the REGISTERs to be queued", func() bool { return srv.registers.Load() == int64(queued) })
	gate.release()
	for i := range queued {
		if res := p.read(); status(res) != 401 {
			t.Fatalf("REGISTER %d of %d queued with a limit of %d: %v, want 401", i, queued, limit, res)
		}
	}
	if n := srv.ShedRegisters(); n != 0 {
		t.Errorf("ShedRegisters() = %d, want 0", n)
	}
}

func TestHasAuthorization(t *testing.T) {
	head := "REGISTER sip:acmebrick.x.co.nz SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{head + "Authorization: Digest username=\"a\"\r\n\r\n", true},
		{head + "authorization: Digest username=\"a\"\r\n\r\n", true},
		{head + "AUTHORIZATION  \t: Digest\r\n\r\n", true},
		{head + "Content-Length: 0\r\n\r\n", false},
		{head + "Proxy-Authorization: Digest username=\"a\"\r\n\r\n", false},
		{head + "Authorization-Info: x\r\n\r\n", false},
		{head + "X-Note: Authorization: none\r\n\r\n", false},
		{head + "Content-Length: 24\r\n\r\nAuthorization: in a body", false},
		{"REGISTER sip:a SIP/2.0\nAuthorization: Digest\n\n", true},
		{"Authorization: Digest", false}, // the request line, not a header
		{"", false},
	} {
		if got := hasAuthorization([]byte(tc.msg)); got != tc.want {
			t.Errorf("hasAuthorization(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}

// sendRegisters sends n new REGISTERs from p without waiting for answers.
func sendRegisters(t *testing.T, p *rawPhone, n int) {
	t.Helper()
	for range n {
		if _, err := p.c.WriteToUDP(p.request("REGISTER", rawRURI, "Expires: 600"), p.dst); err != nil {
			t.Fatal(err)
		}
	}
}
