package sipserver

import (
	"bytes"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// staleConn reads the UDP listener and drops, before they are parsed, the
// requests that start new work (REGISTER, OPTIONS, an INVITE without a To
// tag) once they have waited in the socket's receive buffer longer than
// maxWait: under overload that buffer (4 MiB, thousands of requests) is
// the queue that grows, unseen by the registrar's own bound, until every
// request is read after its sender retransmitted it, and every copy is
// parsed, matched and answered again. The sender of a dropped request
// retransmits it (SIP over UDP does, from 500 ms on), and that copy finds
// a queue kept short by the cheap drops: a head drop, as CoDel does.
// Responses, ACK, BYE, CANCEL and requests within dialogs are never
// dropped: they belong to calls already let in. How long a datagram
// waited is what the kernel's receive timestamp (SO_TIMESTAMPNS) says.
type staleConn struct {
	*net.UDPConn
	maxWait time.Duration // 0: no stale drop
	oob     []byte        // used by the one reading goroutine only
	dropped *atomic.Int64
	reg     *udpRegistrar // takes the REGISTERs; nil: sipgo does
}

// withStaleDrop wraps c when it is a UDP socket that can report receive
// times and maxWait is positive; otherwise it returns c unchanged.
func withStaleDrop(c net.PacketConn, maxWait time.Duration, dropped *atomic.Int64) net.PacketConn {
	u, ok := c.(*net.UDPConn)
	if !ok || maxWait <= 0 || !enableRecvTime(u) {
		return c
	}
	return &staleConn{UDPConn: u, maxWait: maxWait, oob: make([]byte, 128), dropped: dropped}
}

// udpReader wraps Serve's UDP socket for sipgo's reader: it drops stale
// requests (as withStaleDrop) and hands REGISTERs to reg, the stateless
// registrar (udpreg.go), unless Handle replaced the REGISTER handler. A
// socket that is not a *net.UDPConn is returned unchanged.
func (s *Server) udpReader(c net.PacketConn, reg *udpRegistrar) net.PacketConn {
	u, ok := c.(*net.UDPConn)
	if !ok {
		return c
	}
	maxWait := s.cfg.MaxQueueWait
	if maxWait <= 0 || !enableRecvTime(u) {
		maxWait = 0
	}
	return &staleConn{UDPConn: u, maxWait: maxWait, oob: make([]byte, 128), dropped: &s.stale, reg: reg}
}

// ReadFrom implements net.PacketConn for sipgo's UDP reader.
func (c *staleConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, oobn, _, addr, err := c.ReadMsgUDPAddrPort(b, c.oob)
		if err != nil {
			return n, nil, err
		}
		var at time.Time
		if c.maxWait > 0 {
			var ok bool
			if at, ok = recvTime(c.oob[:oobn]); ok && time.Since(at) > c.maxWait && startsWork(b[:n]) {
				c.dropped.Add(1)
				continue
			}
		}
		if c.reg != nil && bytes.HasPrefix(b[:n], []byte("REGISTER ")) && !c.reg.s.customRegister.Load() {
			if at.IsZero() {
				at = time.Now()
			}
			c.reg.take(b[:n], netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), at)
			continue
		}
		return n, net.UDPAddrFromAddrPort(addr), nil
	}
}

// startsWork reports whether a datagram is a request that starts new work
// and is retransmitted by its sender until answered.
func startsWork(m []byte) bool {
	switch {
	case bytes.HasPrefix(m, []byte("REGISTER ")), bytes.HasPrefix(m, []byte("OPTIONS ")):
		return true
	case bytes.HasPrefix(m, []byte("INVITE ")):
		return !toHasTag(m)
	}
	return false
}

// toHasTag reports whether the To header of a raw request has a tag
// parameter (a request within a dialog). A header it cannot find counts
// as tagged: what is not understood is not dropped.
func toHasTag(m []byte) bool {
	if end := bytes.Index(m, []byte("\r\n\r\n")); end >= 0 {
		m = m[:end]
	}
	for len(m) > 0 {
		i := bytes.IndexByte(m, '\n')
		if i < 0 {
			return true
		}
		m = m[i+1:]
		line := m
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("To")) || bytes.EqualFold(name, []byte("t")) {
			return bytes.Contains(bytes.ToLower(value), []byte(";tag="))
		}
	}
	return true
}

// StaleDropped reports how many requests were dropped unread for
// overload: they waited in the UDP receive buffer longer than
// Config.MaxQueueWait, or (REGISTERs) found the UDP registrar's queue full.
func (s *Server) StaleDropped() int64 { return s.stale.Load() }
