package relay

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/internal/poll"
	"xc5/internal/rtptest"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// newPool is a pool over a range of its own, so tests running at once do
// not take each other's ports (ports held elsewhere are skipped anyway).
func newPool(t testing.TB, min, max int) *Pool {
	t.Helper()
	p, err := NewPool(Config{Bind: loopback, PortMin: min, PortMax: max})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func open(t testing.TB, p *Pool) *Session {
	t.Helper()
	s, err := p.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// call sets up a session between two endpoints from their SDP, the way
// the B2BUA will.
func call(t *testing.T, p *Pool) (s *Session, a, b *rtptest.Endpoint) {
	s = open(t, p)
	a, b = rtptest.Listen(t), rtptest.Listen(t)
	for i, e := range []*rtptest.Endpoint{a, b} {
		addr, err := SDPAddr(e.SDP("1"))
		if err != nil {
			t.Fatal(err)
		}
		s.Side(i).SetRemote(addr)
	}
	return s, a, b
}

// waitAudio waits until e has received n samples.
func waitAudio(t *testing.T, e *rtptest.Endpoint, n int) {
	t.Helper()
	poll.Until(t, 10*time.Second, "audio to arrive", func() bool { return len(e.Received()) >= n })
}

func TestRelayBothWays(t *testing.T) {
	p := newPool(t, 31000, 31099)
	s, a, b := call(t, p)
	stopA := a.StartTone(s.Side(0).Local(), rtptest.PCMU, 1000)
	stopB := b.StartTone(s.Side(1).Local(), rtptest.PCMA, 600)
	waitAudio(t, a, 8000)
	waitAudio(t, b, 8000)
	stopA()
	stopB()
	atB, atA := b.Received(), a.Received()
	if !audiotest.Has(atB, 8000, 1000) || audiotest.Has(atB, 8000, 600) {
		t.Errorf("B should hear A's 1 kHz only")
	}
	if !audiotest.Has(atA, 8000, 600) || audiotest.Has(atA, 8000, 1000) {
		t.Errorf("A should hear B's 600 Hz only")
	}
	// Each party hears us from the port it sends to: symmetric for
	// firewalls and NAT.
	for e, want := range map[*rtptest.Endpoint]netip.AddrPort{a: s.Side(0).Local(), b: s.Side(1).Local()} {
		for from := range e.From() {
			if from != want {
				t.Errorf("packets from %v, want only from %v", from, want)
			}
		}
	}
	st := p.Stats()
	if st.Sessions != 1 || st.Packets < 100 || st.Bytes < st.Packets*172 {
		t.Errorf("stats = %+v", st)
	}
}

// A phone behind NAT sends from an address its SDP does not name; the
// relay answers to where its packets come from.
func TestNATLatching(t *testing.T) {
	p := newPool(t, 31100, 31199)
	s, sdpA, b := call(t, p)
	phone := rtptest.Listen(t) // the socket the NAT really maps A to
	stop := phone.StartTone(s.Side(0).Local(), rtptest.PCMU, 1000)
	defer stop()
	waitAudio(t, b, 1600) // latched: a packet got through
	b.SendTone(s.Side(1).Local(), rtptest.PCMU, 600, 500*time.Millisecond)
	waitAudio(t, phone, 3200)
	if !audiotest.Has(phone.Received(), 8000, 600) {
		t.Error("the phone behind NAT does not hear B")
	}
	if n := sdpA.Packets(); n != 0 {
		t.Errorf("the SDP address got %d packets after latching", n)
	}
	if got := s.Side(0).Remote(); got != phone.Addr() {
		t.Errorf("side 0 remote = %v, want the latched %v", got, phone.Addr())
	}
}

// While the latched source is live, another source can neither take the
// stream over nor be heard; after its silence, a new source latches.
func TestLatchHijack(t *testing.T) {
	p, err := NewPool(Config{Bind: loopback, PortMin: 31200, PortMax: 31299, Silence: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, a, b := call(t, p)
	stop := a.StartTone(s.Side(0).Local(), rtptest.PCMU, 1000)
	waitAudio(t, b, 800)
	attacker := rtptest.Listen(t)
	attacker.SendTone(s.Side(0).Local(), rtptest.PCMU, 600, 200*time.Millisecond)
	b.SendTone(s.Side(1).Local(), rtptest.PCMU, 600, 100*time.Millisecond)
	stop()
	if attacker.Packets() != 0 {
		t.Errorf("the attacker received %d packets", attacker.Packets())
	}
	if audiotest.Has(b.Received(), 8000, 600) {
		t.Error("the attacker's 600 Hz reached B")
	}
	if p.Stats().Dropped < 10 {
		t.Errorf("dropped = %d, want the attacker's 10 packets", p.Stats().Dropped)
	}
	// A silent long enough: a new source (the phone moved) is followed.
	time.Sleep(400 * time.Millisecond)
	moved := rtptest.Listen(t)
	moved.SendTone(s.Side(0).Local(), rtptest.PCMU, 1000, 100*time.Millisecond)
	poll.Until(t, 5*time.Second, "the moved phone to latch", func() bool { return s.Side(0).Remote() == moved.Addr() })
}

func TestPoolExhaustionAndReuse(t *testing.T) {
	p := newPool(t, 31301, 31309) // even ports 31302..31308: 4 pairs, 2 sessions
	s1, s2 := open(t, p), open(t, p)
	_, err := p.Open()
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("third Open: err = %v, want ErrExhausted", err)
	}
	t.Log(err)
	for _, s := range []*Session{s1, s2} {
		for i := range 2 {
			if port := s.Side(i).Local().Port(); port%2 != 0 || port < 31302 || port > 31308 {
				t.Errorf("RTP port %d not even within the range", port)
			}
		}
	}
	s1.Close()
	s1.Close() // idempotent
	s3 := open(t, p)
	if p.Stats().Sessions != 2 || s3 == nil {
		t.Errorf("sessions = %d after close and reopen", p.Stats().Sessions)
	}
}

func TestNewPoolRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no bind", Config{PortMin: 10000, PortMax: 20000}},
		{"unspecified bind without advertise", Config{Bind: netip.IPv4Unspecified(), PortMin: 10000, PortMax: 20000}},
		{"min above max", Config{Bind: loopback, PortMin: 20000, PortMax: 10000}},
		{"max too big", Config{Bind: loopback, PortMin: 10000, PortMax: 70000}},
		{"zero", Config{Bind: loopback}},
		{"one pair", Config{Bind: loopback, PortMin: 10000, PortMax: 10002}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewPool(tc.cfg); err == nil {
				t.Fatal("accepted")
			} else {
				t.Log(err)
			}
		})
	}
}

// An SDP naming the relay itself must not make packets circle between
// its sockets.
func TestNoLoopThroughItself(t *testing.T) {
	p := newPool(t, 31900, 31999)
	s := open(t, p)
	other := open(t, p)
	a := rtptest.Listen(t)
	s.Side(0).SetRemote(a.Addr())
	for _, to := range []netip.AddrPort{s.Side(0).Local(), s.Side(1).Local(), other.Side(0).Local()} {
		s.Side(1).SetRemote(to)
		a.SendTone(s.Side(0).Local(), rtptest.PCMU, 1000, 100*time.Millisecond)
	}
	poll.Until(t, 5*time.Second, "the packets to be dropped", func() bool { return p.Stats().Dropped >= 15 })
	time.Sleep(100 * time.Millisecond) // a loop would keep counting
	if st := p.Stats(); st.Packets > 15 {
		t.Errorf("stats %+v: %d packets sent in, at most 15 may go out", st, 15)
	}
}

// c=0.0.0.0 (hold, RFC 2543 style) is not an address to send to.
func TestSetRemoteUnspecified(t *testing.T) {
	p := newPool(t, 32200, 32299)
	s := open(t, p)
	s.Side(1).SetRemote(netip.MustParseAddrPort("0.0.0.0:4000"))
	if r := s.Side(1).Remote(); r.IsValid() {
		t.Errorf("remote = %v, want none", r)
	}
}

// A re-INVITE moves the caller's media to a new port while the old one
// still sends: the SDP's address takes over at once.
func TestReINVITEMovesMedia(t *testing.T) {
	p := newPool(t, 32500, 32599)
	s, a, b := call(t, p)
	stopOld := a.StartTone(s.Side(0).Local(), rtptest.PCMU, 1000)
	defer stopOld()
	waitAudio(t, b, 800)
	moved := rtptest.Listen(t)
	s.Side(0).SetRemote(moved.Addr())
	// The old port's packets in flight latch first, as they would.
	poll.Until(t, 5*time.Second, "the old port to latch again", func() bool { return s.Side(0).Remote() == a.Addr() })
	n := len(b.Received())
	stop := moved.StartTone(s.Side(0).Local(), rtptest.PCMU, 600)
	defer stop()
	poll.Until(t, 5*time.Second, "the new port to latch", func() bool { return s.Side(0).Remote() == moved.Addr() })
	waitAudio(t, b, n+4000)
	if after := b.Received()[n+800:]; !audiotest.Has(after, 8000, 600) || audiotest.Has(after, 8000, 1000) {
		t.Error("after the re-INVITE B should hear the new port's 600 Hz, not the old 1 kHz")
	}
	b.SendTone(s.Side(1).Local(), rtptest.PCMU, 800, 200*time.Millisecond)
	waitAudio(t, moved, 1600)
}
