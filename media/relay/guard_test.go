package relay

import (
	"net/netip"
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/internal/poll"
	"xc5/internal/rtptest"
)

// TestSendable: the addresses a party's SDP may make the relay send to.
// Loopback is a phone's address only for a relay on loopback (tests, a
// single machine); otherwise it, like multicast, link-local and the
// well-known ports, would make the relay a way into the machine or its
// network.
func TestSendable(t *testing.T) {
	public := &Pool{cfg: Config{Bind: netip.MustParseAddr("192.0.2.10")}}
	local := &Pool{cfg: Config{Bind: netip.MustParseAddr("127.0.0.1")}}
	for _, tc := range []struct {
		addr         string
		public, loop bool
	}{
		{"198.51.100.7:40000", true, true},
		{"10.1.2.3:40000", true, true},
		{"127.0.0.1:5080", false, true},
		{"127.0.0.1:80", false, false},
		{"0.0.0.0:40000", false, false},
		{"224.0.0.1:40000", false, false},
		{"169.254.1.1:40000", false, false},
		{"[fe80::1]:40000", false, false},
		{"[::1]:40000", false, true},
		{"198.51.100.7:0", false, false},
	} {
		a := netip.MustParseAddrPort(tc.addr)
		if got := public.sendable(a); got != tc.public {
			t.Errorf("relay on a public address: sendable(%s) = %v", tc.addr, got)
		}
		if got := local.sendable(a); got != tc.loop {
			t.Errorf("relay on loopback: sendable(%s) = %v", tc.addr, got)
		}
	}
}

// TestOnlyRTPRelayed: a datagram that is not RTP (a SIP request sprayed
// at a relay port) is never sent on from the relay's address.
func TestOnlyRTPRelayed(t *testing.T) {
	p := newPool(t, 31600, 31699)
	s, a, b := call(t, p)
	a.Send(s.Side(0).Local(), []byte("INVITE sip:voicemail@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP x\r\n\r\n"))
	a.Send(s.Side(0).Local(), []byte{0x80, 0})
	a.SendTone(s.Side(0).Local(), rtptest.PCMU, 1000, 100*time.Millisecond)
	waitAudio(t, b, 400)
	if got := p.Stats().Dropped; got < 2 {
		t.Fatalf("dropped %d, want the two non-RTP datagrams", got)
	}
}

// TestAllowSourcesStopsEarlyHijack: with the party's signalling address
// given, a stranger who sprays a side's port before the party's first
// packet cannot latch it: the party's audio still gets through and the
// stranger hears nothing.
func TestAllowSourcesStopsEarlyHijack(t *testing.T) {
	p := newPool(t, 31700, 31799)
	s, a, b := call(t, p)
	s.Side(0).AllowSources(netip.MustParseAddr("127.0.0.1"))
	stranger := rtptest.ListenOn(t, netip.MustParseAddrPort("127.0.0.2:0"))
	stranger.SendTone(s.Side(0).Local(), rtptest.PCMU, 600, 200*time.Millisecond)
	stop := a.StartTone(s.Side(0).Local(), rtptest.PCMU, 1000)
	waitAudio(t, b, 1600)
	stop()
	stopB := b.StartTone(s.Side(1).Local(), rtptest.PCMU, 500)
	poll.Until(t, 5*time.Second, "the party to hear", func() bool { return len(a.Received()) >= 1600 })
	stopB()
	if stranger.Packets() != 0 {
		t.Errorf("the stranger received %d packets", stranger.Packets())
	}
	if audiotest.Has(b.Received(), 8000, 600) {
		t.Error("the stranger's 600 Hz reached B")
	}
}
