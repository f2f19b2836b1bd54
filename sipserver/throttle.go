package sipserver

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/ratelimit"
)

const (
	// addrScale is the budget of one address (all its ports, or all its
	// connections) in units of one source's: a NAT's phones each send
	// from a port of their own, a scanner rotating ports shares it.
	addrScale = 2
	// knownScale multiplies the address budget of an address where a
	// phone authenticated recently: an office or hotel NAT with hundreds
	// of phones, not a scanner.
	knownScale = 10
	// maxTracked bounds each table of buckets; beyond it new sources
	// share one overflow bucket (see table).
	maxTracked = 100000
	// maxExempt bounds the sources and addresses remembered as
	// authenticated; only valid credentials add to them.
	maxExempt = 1 << 20
)

// throttle is a per-source request budget, as Kamailio's pike module
// keeps, made so that a forged source address cannot lock a customer's
// phones out:
//
//   - a token bucket per source: over UDP the IP address and port (one
//     phone behind a NAT), over TCP and TLS the connection. A request
//     that finds its bucket empty is dropped without an answer;
//   - a higher ceiling per address (an IPv6 address counts by its /64,
//     ratelimit.AddrKey), kept apart for UDP and for connections, so that
//     a scanner rotating ports gets no more than addrScale sources' worth,
//     and a UDP flood (forgeable) never charges TCP or TLS (not forgeable
//     off-path). An address where a phone authenticated recently has
//     knownScale times that ceiling, and its requests whose digest nonce
//     verifies (one xc5 sent to that address) pass even when it is spent;
//   - a source (exact IP:port, or connection) that authenticated within
//     knownFor, as every phone holding a binding did, is not throttled;
//     nor is a carrier trunk's.
//
// See docs/sip.md "Scanners".
type throttle struct {
	mu       sync.Mutex
	rate     float64 // tokens a second of one source; <= 0 means no throttle
	knownFor time.Duration

	sources *table               // class|ip:port
	addrs   *table               // class|AddrKey(ip)
	exempt  map[string]time.Time // sources authenticated (or trunks): exempt until
	known   map[string]time.Time // AddrKey(ip) with an authenticated phone: known until

	lastPrune time.Time // of exempt and known when full
}

func newThrottle(rate, burst int, knownFor time.Duration) *throttle {
	r, b := float64(rate), float64(burst)
	return &throttle{rate: r, knownFor: knownFor,
		sources: newTable(r, b, maxTracked), addrs: newTable(r*addrScale, b*addrScale, maxTracked),
		exempt: map[string]time.Time{}, known: map[string]time.Time{}}
}

// origin names where a request comes from, as the throttle counts it.
type origin struct {
	source string // "u|192.0.2.1:5060" over UDP, "c|…" a TCP/TLS/WS connection
	addr   string // "u|192.0.2.1", "c|2001:db8::/64": the address ceiling
	ip     string // AddrKey of the IP: known or not, whatever the transport
}

// originOf is the origin of a request from source ("ip:port") over
// transport.
func originOf(source, transport string) origin {
	class := "c|"
	if strings.EqualFold(transport, "udp") {
		class = "u|"
	}
	host := source
	if h, _, err := net.SplitHostPort(source); err == nil {
		host = h
	}
	ip := ratelimit.AddrKey(host)
	return origin{source: class + source, addr: class + ip, ip: ip}
}

// allow reports whether a request from o may be served, taking a token
// from its source's bucket and from its address's. credentials says
// whether it carries digest credentials with a nonce xc5 sent to its
// address; it is asked only when a bucket is empty. isTrunk is asked, at
// most once a minute per source, when the source has used half its burst
// (in the background) or finds a bucket empty: carriers are not
// throttled.
func (t *throttle) allow(o origin, now time.Time, credentials, isTrunk func() bool) bool {
	if t.rate <= 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.exempt[o.source]) {
		return true
	}
	scale := 1.0
	if now.Before(t.known[o.ip]) {
		scale = knownScale
	}
	src := t.sources.get(o.source, now, 1)
	if t.sources.take(src, now, 1) && t.addrs.take(t.addrs.get(o.addr, now, scale), now, scale) {
		if t.sources.burst >= 2 && src.tokens < t.sources.burst/2 && t.mayLookUp(src, now) {
			// Half its burst gone: find out now whether it is a
			// carrier's, so that a carrier is known before its bucket
			// runs dry.
			go t.lookUp(o, src, now, isTrunk)
		}
		return true
	}
	if scale > 1 && credentials() {
		return true
	}
	if !t.mayLookUp(src, now) {
		return false
	}
	t.mu.Unlock()
	trunk := t.lookUp(o, src, now, isTrunk)
	t.mu.Lock()
	return trunk
}

// mayLookUp reports whether src may be looked up among the trunks now (at
// most once a minute, one lookup at a time; never the overflow bucket),
// and if so marks the lookup begun. While one is in flight the source's
// requests over budget are dropped, as any other source's would be.
func (t *throttle) mayLookUp(src *bucket, now time.Time) bool {
	if src.overflow || src.checking || (!src.trunkChecked.IsZero() && now.Sub(src.trunkChecked) < time.Minute) {
		return false
	}
	src.checking, src.trunkChecked = true, now
	return true
}

// lookUp asks isTrunk about o (a lookup mayLookUp began; called without
// t.mu) and exempts a trunk's source for a minute.
func (t *throttle) lookUp(o origin, src *bucket, now time.Time, isTrunk func() bool) bool {
	trunk := isTrunk()
	t.mu.Lock()
	defer t.mu.Unlock()
	src.checking = false
	if trunk {
		t.exemptLocked(o.source, now.Add(time.Minute), now)
	}
	return trunk
}

// authenticatedFrom marks the exact origin o, which answered a challenge
// with valid credentials, as exempt for knownFor, and its address known:
// its ceiling is knownScale times higher for knownFor. authenticate calls
// it on every success, for REGISTERs and INVITEs alike.
func (t *throttle) authenticatedFrom(o origin, now time.Time) {
	if t.rate <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.knownLocked(o.ip, now)
	t.exemptLocked(o.source, now.Add(t.knownFor), now)
}

func (t *throttle) knownLocked(ip string, now time.Time) {
	if _, ok := t.known[ip]; !ok && len(t.known) >= maxExempt && !t.pruneExemptLocked(now) {
		return
	}
	t.known[ip] = now.Add(t.knownFor)
}

func (t *throttle) exemptLocked(source string, until, now time.Time) {
	if _, ok := t.exempt[source]; !ok && len(t.exempt) >= maxExempt && !t.pruneExemptLocked(now) {
		return // full of live entries: this one goes without
	}
	if until.After(t.exempt[source]) {
		t.exempt[source] = until
	}
}

// pruneExemptLocked forgets the expired exemptions, at most once a second,
// and reports whether there is room again.
func (t *throttle) pruneExemptLocked(now time.Time) bool {
	if now.Sub(t.lastPrune) >= time.Second {
		t.lastPrune = now
		forgetBefore(t.exempt, now)
		forgetBefore(t.known, now)
	}
	return len(t.exempt) < maxExempt && len(t.known) < maxExempt
}

func forgetBefore(m map[string]time.Time, now time.Time) {
	for k, until := range m {
		if !now.Before(until) {
			delete(m, k)
		}
	}
}

// prune forgets what a new source would have anyway: full buckets and
// expired exemptions. The sweep calls it.
func (t *throttle) prune(now time.Time) {
	if t.rate <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sources.prune(now)
	t.addrs.prune(now)
	forgetBefore(t.exempt, now)
	forgetBefore(t.known, now)
}

// throttled reports whether req is to be dropped: a request over its
// source's budget. ACK is never throttled (it is never answered), nor is a
// request within a dialog of a call (the B2BUA knows its Call-ID and tag):
// it belongs to a call already let in. A To tag alone proves nothing —
// anyone can write one — so a request with a tag that names no dialog, and
// every REGISTER, is charged like any other.
func (s *Server) throttled(req *sip.Request) bool {
	if req.IsAck() || s.inDialog(req) {
		return false
	}
	o := originOf(req.Source(), req.Transport())
	creds := func() bool { return s.verifiedCredentials(req, sourceIP(req)) }
	isTrunk := func() bool { return s.isTrunk(req.Source(), req.Transport()) }
	if s.throttle.allow(o, s.cfg.Now(), creds, isTrunk) {
		return false
	}
	if s.dropped.Add(1)%1000 == 1 {
		s.log.Warn("sip: throttling a source over its request budget", "source", req.Source(), "dropped_total", s.dropped.Load())
	}
	return true
}

// inDialog reports whether req is a request within a dialog of a call
// xc5 carries.
func (s *Server) inDialog(req *sip.Request) bool {
	if req.Method == sip.REGISTER {
		return false // a REGISTER is never within a dialog (RFC 3261 §10.2)
	}
	if to := req.To(); to == nil || !to.Params.Has("tag") {
		return false
	}
	s.mu.RLock()
	b := s.b2b
	s.mu.RUnlock()
	return b != nil && b.lookup(req) != nil
}

// verifiedCredentials reports whether req carries digest credentials
// whose nonce xc5 made for the address ip, and still young: proof
// that the sender receives what is sent to that address (a forger off
// the path cannot have one). Only the HMAC is checked: no store read.
func (s *Server) verifiedCredentials(req *sip.Request, ip string) bool {
	for _, name := range [...]string{"Authorization", "Proxy-Authorization"} {
		c, err := credentialsOf(req, name)
		if err != nil || c == nil {
			continue
		}
		_, issued, ok := s.nonces.check(c.Nonce, c.Realm, ip)
		age := s.cfg.Now().Unix() - issued
		if ok && age < int64(s.cfg.NonceTTL/time.Second) && age > -60 {
			return true
		}
	}
	return false
}

// isTrunk reports whether a request from source over transport comes from
// a carrier trunk (its address and, over UDP, its port).
func (s *Server) isTrunk(source, transport string) bool {
	s.mu.RLock()
	b := s.b2b
	s.mu.RUnlock()
	if b == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RequestTimeout)
	defer cancel()
	t, _ := b.trunks.inbound(ctx, source, transport)
	return t != nil
}

// Throttled reports how many requests were dropped because their source
// was over its budget (Config.SourceRate, SourceBurst).
func (s *Server) Throttled() int64 { return s.dropped.Load() }
