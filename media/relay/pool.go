package relay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Config says where a Pool's sockets live. It comes from the operator's
// configuration, so NewPool checks it and says what is wrong.
type Config struct {
	Bind      netip.Addr // address the UDP sockets listen on (e.g. 127.0.0.1)
	Advertise netip.Addr // address written into SDP (defaults to Bind)
	// PortMin and PortMax bound the RTP and RTCP ports, both inclusive.
	// RTP ports are even and RTCP is RTP+1, so the range holds
	// (PortMax-PortMin+1)/2 port pairs and a session takes two of them.
	PortMin, PortMax int
	// Silence is how long the latched source of a side must be silent
	// before a packet from another source may take its place (2 s if 0).
	Silence time.Duration
	// MaxRecording bounds one recording, per channel (1 h if 0): what
	// arrives after it is not recorded, so a forgotten recording cannot
	// grow without bound.
	MaxRecording time.Duration
}

// ErrExhausted is returned (wrapped) by Open when every port pair of the
// range is taken.
var ErrExhausted = errors.New("relay: no free RTP ports")

// Pool hands out sessions whose sockets take ports from the configured
// range. It is safe for concurrent use.
type Pool struct {
	cfg Config

	mu   sync.Mutex
	free []int // port pair indexes, a FIFO: a freed pair is reused last
	open map[*Session]struct{}
	// inUse marks the pairs bound now, read without the lock by the relay
	// goroutines to drop packets that come from the pool's own sockets.
	inUse []atomic.Bool

	// Totals of closed sessions; open ones are summed in Stats.
	closed counters
}

// Stats is what a pool has relayed, for metrics.
type Stats struct {
	Sessions int    // sessions open now
	Packets  uint64 // RTP and RTCP packets relayed
	Bytes    uint64 // their UDP payload bytes
	Dropped  uint64 // packets not relayed: unknown source, no destination, send error
}

// counters are atomic so the relay goroutines never take a lock per packet.
type counters struct {
	packets, bytes, dropped atomic.Uint64
}

func (c *counters) add(s Stats) {
	c.packets.Add(s.Packets)
	c.bytes.Add(s.Bytes)
	c.dropped.Add(s.Dropped)
}

func (c *counters) stats() Stats {
	return Stats{Packets: c.packets.Load(), Bytes: c.bytes.Load(), Dropped: c.dropped.Load()}
}

// NewPool checks cfg and returns a pool over its port range. No socket is
// opened until Open.
func NewPool(cfg Config) (*Pool, error) {
	if !cfg.Bind.IsValid() {
		return nil, errors.New("relay: bind address is missing")
	}
	if !cfg.Advertise.IsValid() {
		if cfg.Bind.IsUnspecified() {
			return nil, fmt.Errorf("relay: bind address %v is unspecified: set the address to advertise in SDP", cfg.Bind)
		}
		cfg.Advertise = cfg.Bind
	}
	if cfg.PortMin < 1 || cfg.PortMax > 65535 || cfg.PortMin > cfg.PortMax {
		return nil, fmt.Errorf("relay: port range %d-%d is not within 1-65535 with min <= max", cfg.PortMin, cfg.PortMax)
	}
	first := cfg.PortMin + cfg.PortMin%2 // the first even port
	pairs := (cfg.PortMax - first + 1) / 2
	if pairs < 2 {
		return nil, fmt.Errorf("relay: port range %d-%d holds %d RTP/RTCP port pair(s); a session needs 2", cfg.PortMin, cfg.PortMax, max(pairs, 0))
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 2 * time.Second
	}
	if cfg.MaxRecording <= 0 {
		cfg.MaxRecording = time.Hour
	}
	cfg.PortMin = first
	p := &Pool{cfg: cfg, free: make([]int, pairs), open: map[*Session]struct{}{}, inUse: make([]atomic.Bool, pairs)}
	for i := range p.free {
		p.free[i] = i
	}
	return p, nil
}

// Stats sums the counters of open and closed sessions.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.closed.stats()
	st.Sessions = len(p.open)
	for s := range p.open {
		st.Packets += s.count.packets.Load()
		st.Bytes += s.count.bytes.Load()
		st.Dropped += s.count.dropped.Load()
	}
	return st
}

// Open returns a session with two sides, each with an even RTP port and
// the RTCP port above it, both bound. Ports some other program holds are
// skipped (and put back at the end of the queue).
func (p *Pool) Open() (*Session, error) {
	s := &Session{pool: p}
	for i := range s.sides {
		sd, err := p.bindSide()
		if err != nil {
			for _, b := range s.sides[:i] {
				b.closeSockets()
				p.inUse[b.pair].Store(false)
				p.release(b.pair)
			}
			return nil, err
		}
		sd.idx, sd.pool = i, p
		sd.heard.Store(monotonic())
		s.sides[i] = sd
	}
	p.mu.Lock()
	p.open[s] = struct{}{}
	p.mu.Unlock()
	s.start()
	return s, nil
}

// bindSide takes port pairs off the free queue until one binds.
func (p *Pool) bindSide() (*Side, error) {
	p.mu.Lock()
	tries := len(p.free)
	p.mu.Unlock()
	var lastErr error
	for range tries {
		pair, ok := p.take()
		if !ok {
			break
		}
		port := p.cfg.PortMin + 2*pair
		rtp, err := listen(p.cfg.Bind, port)
		if err != nil {
			lastErr = err
			p.release(pair)
			continue
		}
		rtcp, err := listen(p.cfg.Bind, port+1)
		if err != nil {
			lastErr = err
			rtp.Close()
			p.release(pair)
			continue
		}
		p.inUse[pair].Store(true)
		sd := &Side{pair: pair, local: netip.AddrPortFrom(p.cfg.Advertise, uint16(port))}
		sd.rtp.conn, sd.rtcp.conn = rtp, rtcp
		sd.rtcp.isRTCP = true
		sd.dtmfPT.Store(-1)
		return sd, nil
	}
	p.mu.Lock()
	open := len(p.open)
	p.mu.Unlock()
	if lastErr != nil {
		return nil, fmt.Errorf("%w in %d-%d (%d sessions open; last bind error: %v)", ErrExhausted, p.cfg.PortMin, p.cfg.PortMax, open, lastErr)
	}
	return nil, fmt.Errorf("%w in %d-%d (%d sessions open)", ErrExhausted, p.cfg.PortMin, p.cfg.PortMax, open)
}

func (p *Pool) take() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		return 0, false
	}
	pair := p.free[0]
	p.free = p.free[1:]
	return pair, true
}

func (p *Pool) release(pair int) {
	p.mu.Lock()
	p.free = append(p.free, pair)
	p.mu.Unlock()
}

// closed moves a session's counters to the pool's totals and frees its
// ports; Session.Close calls it once, after its sockets are closed.
func (p *Pool) closedSession(s *Session) {
	p.mu.Lock()
	delete(p.open, s)
	p.closed.add(s.count.stats())
	for _, sd := range s.sides {
		p.inUse[sd.pair].Store(false)
		p.free = append(p.free, sd.pair)
	}
	p.mu.Unlock()
}

func listen(addr netip.Addr, port int) (*net.UDPConn, error) {
	return net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(port))))
}

// ours reports whether src is a socket of this pool: an SDP that names
// the relay itself (by mistake, or to make it send to itself) would
// otherwise loop packets between its sockets as fast as they go.
func (p *Pool) ours(src netip.AddrPort) bool {
	a := src.Addr().Unmap()
	if a != p.cfg.Bind && a != p.cfg.Advertise && !(p.cfg.Bind.IsUnspecified() && a.IsLoopback()) {
		return false
	}
	i := (int(src.Port()) - p.cfg.PortMin) / 2
	return int(src.Port()) >= p.cfg.PortMin && i < len(p.inUse) && p.inUse[i].Load()
}

// sendable reports an address the relay may send a party's media to.
func (p *Pool) sendable(a netip.AddrPort) bool {
	ip := a.Addr()
	switch {
	case !ip.IsValid() || ip.IsUnspecified() || a.Port() < 1024 || a.Port() == 65535:
		return false
	case ip.IsMulticast() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast():
		return false
	case ip.IsLoopback() && !p.cfg.Bind.IsLoopback():
		return false
	}
	return true
}
