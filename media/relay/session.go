package relay

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// epoch makes the monotonic clock an int64 the relay goroutines can keep
// in atomics: nanoseconds since the package was loaded.
var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

// rtcpSilence multiplies Config.Silence for RTCP sockets.
const rtcpSilence = 6

// Session relays one call's media between two parties: what arrives on
// side 0 leaves from side 1's socket towards side 1's party, and the
// reverse, for RTP and for RTCP.
type Session struct {
	pool  *Pool
	sides [2]*Side
	count counters
	wg    sync.WaitGroup // the four socket goroutines

	pcmu, pcma atomic.Int32
	rec        atomic.Pointer[recording]

	digits    chan digitEvent // to the OnDTMF dispatcher
	closeOnce sync.Once
}

type digitEvent struct {
	side  int
	digit rune
}

// Side is one party's end of a session: the socket pair that party sends
// to and receives from.
type Side struct {
	pool      *Pool
	idx, pair int
	local     netip.AddrPort
	rtp, rtcp sock

	dtmfPT atomic.Int32 // -1: none
	onDTMF atomic.Pointer[func(rune)]
	dtmf   dtmfState // only the RTP goroutine touches it

	// sources, when set, are the only addresses (besides the SDP's) whose
	// packets may latch this side: the party's signalling address.
	sources atomic.Pointer[[]netip.Addr]
	// heard is when the party's last RTP packet came (monotonic), or when
	// SetRemote gave the side a new party.
	heard atomic.Int64
}

// sock is one UDP socket of a side with what it knows of the party's
// address for that stream.
type sock struct {
	conn    *net.UDPConn
	isRTCP  bool
	remote  atomic.Pointer[netip.AddrPort] // from the party's SDP
	latched atomic.Pointer[latch]          // where its packets really come from
}

// latch is the source a socket accepts; last is when it last sent.
type latch struct {
	addr netip.AddrPort
	last atomic.Int64
}

// Side returns side i: 0 is the caller's, 1 the callee's.
func (s *Session) Side(i int) *Side { return s.sides[i] }

// SetPayloadTypes tells recording which payload types carry PCMU and PCMA
// (0 and 8 unless set; -1 for none). Other payload types are not decoded.
func (s *Session) SetPayloadTypes(pcmu, pcma int) {
	s.pcmu.Store(int32(pcmu))
	s.pcma.Store(int32(pcma))
}

// Stats returns what this session has relayed so far (Sessions is 1).
func (s *Session) Stats() Stats {
	st := s.count.stats()
	st.Sessions = 1
	return st
}

func (s *Session) start() {
	s.pcma.Store(8)
	s.digits = make(chan digitEvent, 64)
	for i, sd := range s.sides {
		peer := s.sides[1-i]
		s.wg.Add(2)
		go s.relay(sd, &sd.rtp, &peer.rtp)
		go s.relay(sd, &sd.rtcp, &peer.rtcp)
	}
	go s.dispatchDigits()
}

// Close stops relaying and frees the ports. It may be called more than
// once and from any goroutine, including an OnDTMF callback.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		for _, sd := range s.sides {
			sd.closeSockets()
		}
		s.wg.Wait()
		close(s.digits)
		s.rec.Store(nil)
		s.pool.closedSession(s)
	})
	return nil
}

func (sd *Side) closeSockets() {
	sd.rtp.conn.Close()
	sd.rtcp.conn.Close()
}

// Local is the address and RTP port to write into the SDP sent to this
// side's party.
func (sd *Side) Local() netip.AddrPort { return sd.local }

// AllowSources restricts the packets that may latch this side to those
// from the address of the party's SDP and from ips (its signalling
// address, which behind NAT is where its RTP comes from too): a stranger
// spraying the port cannot take the stream over. No ips: any source, as
// for a carrier whose media gateways are not its signalling address.
func (sd *Side) AllowSources(ips ...netip.Addr) {
	if len(ips) == 0 {
		sd.sources.Store(nil)
		return
	}
	out := make([]netip.Addr, len(ips))
	for i, ip := range ips {
		out[i] = ip.Unmap()
	}
	sd.sources.Store(&out)
}

// mayLatch reports whether src may be this side's party.
func (sd *Side) mayLatch(so *sock, src netip.AddrPort) bool {
	list := sd.sources.Load()
	if list == nil {
		return true
	}
	ip := src.Addr().Unmap()
	if r := so.remote.Load(); r != nil && r.Addr() == ip {
		return true
	}
	for _, a := range *list {
		if a == ip {
			return true
		}
	}
	return false
}

// SetRemote sets where this side's party said (in its SDP) it receives
// RTP; RTCP goes to the port above. It forgets any latched source, so the
// next packet to arrive latches afresh: a re-INVITE moving the media is
// followed at once.
//
// An address that cannot be sent to (0.0.0.0 of an old-style hold, port
// 0) clears it: nothing is sent to the party until its packets arrive.
// So does one that no phone has but that would turn the relay into a way
// into the machine or its network: multicast, link-local, a port below
// 1024, or loopback for a relay that does not itself listen on loopback.
func (sd *Side) SetRemote(a netip.AddrPort) {
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if !sd.pool.sendable(a) {
		sd.rtp.remote.Store(nil)
		sd.rtcp.remote.Store(nil)
	} else {
		rtcp := netip.AddrPortFrom(a.Addr(), a.Port()+1)
		sd.rtp.remote.Store(&a)
		sd.rtcp.remote.Store(&rtcp)
	}
	sd.rtp.latched.Store(nil)
	sd.rtcp.latched.Store(nil)
	sd.heard.Store(monotonic())
}

// Idle is how long this side's party has sent no RTP (counted from its
// SetRemote when it never did): a media node or phone that died.
func (sd *Side) Idle() time.Duration { return time.Duration(monotonic() - sd.heard.Load()) }

// Remote is where this side's party is sent RTP now: the latched source
// if any packet came, else the address of SetRemote (invalid if neither).
func (sd *Side) Remote() netip.AddrPort { return sd.rtp.dest() }

// SetDTMFPayloadType sets the RFC 4733 telephone-event payload type of
// this side's party (from its SDP); -1 turns DTMF detection off.
func (sd *Side) SetDTMFPayloadType(pt int) { sd.dtmfPT.Store(int32(pt)) }

// OnDTMF sets fn to be called once per RFC 4733 digit arriving on this
// side (0-9, *, #, A-D), in order. It runs on a goroutine of the session
// (not the relaying one), so a slow fn delays later digits, not audio.
func (sd *Side) OnDTMF(fn func(digit rune)) { sd.onDTMF.Store(&fn) }

func (so *sock) dest() netip.AddrPort {
	if l := so.latched.Load(); l != nil {
		return l.addr
	}
	if r := so.remote.Load(); r != nil {
		return *r
	}
	return netip.AddrPort{}
}

// accept latches the first source, keeps it while it is live, and moves
// to another source only after the latched one has been silent for the
// given time, or at once if the new one is the address of the party's
// SDP (signalling vouches for it: a re-INVITE's new port while the old
// one still has packets in flight).
func (so *sock) accept(src netip.AddrPort, now, silence int64) bool {
	l := so.latched.Load()
	if l != nil {
		if l.addr == src {
			l.last.Store(now)
			return true
		}
		if r := so.remote.Load(); now-l.last.Load() < silence && (r == nil || *r != src) {
			return false
		}
	}
	nl := &latch{addr: src}
	nl.last.Store(now)
	so.latched.CompareAndSwap(l, nl)
	return true
}

// relay is the one goroutine of one socket: read into a reused buffer,
// check the source, look at the packet if recording or DTMF need it, and
// send it on from the peer side's socket of the same kind.
func (s *Session) relay(sd *Side, in, out *sock) {
	defer s.wg.Done()
	silence := int64(s.pool.cfg.Silence)
	if in.isRTCP {
		// RTCP comes every few seconds (RFC 3550 §6.2), so a gap of
		// Silence between reports is normal, not a sign the party left.
		silence *= rtcpSilence
	}
	buf := make([]byte, 4096) // an MTU-sized packet with room; 16 KiB a session
	for {
		n, src, err := in.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		now := monotonic()
		if !isRTP(buf[:n], in.isRTCP) || s.pool.ours(src) || !sd.mayLatch(in, src) || !in.accept(src, now, silence) {
			s.count.dropped.Add(1)
			continue
		}
		pkt := buf[:n]
		if !in.isRTCP {
			sd.heard.Store(now)
			s.inspect(sd, pkt, now)
		}
		dst := out.dest()
		if !dst.IsValid() {
			s.count.dropped.Add(1)
			continue
		}
		if _, err := out.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			s.count.dropped.Add(1)
			continue
		}
		s.count.packets.Add(1)
		s.count.bytes.Add(uint64(n))
	}
}

// inspect feeds an RTP packet to the recording and to DTMF detection.
func (s *Session) inspect(sd *Side, pkt []byte, now int64) {
	if rec := s.rec.Load(); rec != nil {
		rec.add(sd.idx, pkt, now, int(s.pcmu.Load()), int(s.pcma.Load()))
	}
	if pt := sd.dtmfPT.Load(); pt >= 0 {
		if d, ok := sd.dtmf.see(pkt, int(pt)); ok {
			select {
			case s.digits <- digitEvent{sd.idx, d}:
			default: // a flood of events; drop rather than stall audio
			}
		}
	}
}

func (s *Session) dispatchDigits() {
	for ev := range s.digits {
		if fn := s.sides[ev.side].onDTMF.Load(); fn != nil {
			(*fn)(ev.digit)
		}
	}
}

// isRTP reports a packet that can be RTP (or RTCP): version 2 and at
// least a header. Nothing else is relayed, so that the relay never
// carries another protocol (a SIP request, say) from its address.
func isRTP(b []byte, rtcp bool) bool {
	min := 12
	if rtcp {
		min = 8
	}
	return len(b) >= min && b[0]>>6 == 2
}
