package sipserver

import (
	"context"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// knownScale multiplies the budget of an address that authenticated
// recently: an office or hotel NAT with hundreds of phones, not a scanner.
const knownScale = 10

// throttle is a per-source-address request budget, as Kamailio's pike
// module keeps: a token bucket per IP address, filled at rate a second up
// to burst. A request that finds its bucket empty is dropped without an
// answer. A SIP scanner (tens of thousands of OPTIONS or REGISTERs a
// second from one address) then gets a few hundred answers instead of all
// of them, and costs xc5 only the parsing. An address that authenticated
// within the last knownFor has knownScale times the budget, and its
// requests that carry credentials are never dropped: a flood from behind a
// customer's NAT does not starve the phones that share it. See docs/sip.md
// "Scanners".
type throttle struct {
	mu       sync.Mutex
	rate     float64 // tokens a second; <= 0 means no throttle
	burst    float64
	knownFor time.Duration
	cap      int // addresses tracked at most
	m        map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	known  time.Time // the address authenticated: known until then
	// A carrier trunk's address is not throttled: looked up (at most once
	// a minute) when its bucket runs dry, exempt until trunkUntil.
	trunkChecked, trunkUntil time.Time
	checking                 bool // a lookup is in flight: let requests by meanwhile
}

func newThrottle(rate, burst int, knownFor time.Duration) *throttle {
	return &throttle{rate: float64(rate), burst: float64(burst), knownFor: knownFor, cap: 100000, m: map[string]*bucket{}}
}

// allow takes a token from ip's bucket and reports whether there was
// one. credentials says whether the request carries digest credentials.
// isTrunk is asked, at most once a minute per address, when the bucket is
// empty: carriers' addresses are not throttled.
func (t *throttle) allow(ip string, credentials bool, now time.Time, isTrunk func() bool) bool {
	if t.rate <= 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.m[ip]
	if b == nil {
		if len(t.m) >= t.cap {
			t.pruneLocked(now)
			if len(t.m) >= t.cap {
				return true // flooded from very many addresses: track no more
			}
		}
		b = &bucket{tokens: t.burst, last: now}
		t.m[ip] = b
	}
	known := now.Before(b.known)
	scale := 1.0
	if known {
		scale = knownScale
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.tokens+dt*t.rate*scale, t.burst*scale)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	if known && credentials {
		return true
	}
	if now.Before(b.trunkUntil) || b.checking {
		return true
	}
	if b.trunkChecked.IsZero() || now.Sub(b.trunkChecked) >= time.Minute {
		b.checking, b.trunkChecked = true, now
		t.mu.Unlock()
		trunk := isTrunk()
		t.mu.Lock()
		b.checking = false
		if trunk {
			b.trunkUntil = now.Add(time.Minute)
			return true
		}
	}
	return false
}

// authenticated marks ip as an address with a phone that holds valid
// credentials.
func (t *throttle) authenticated(ip string, now time.Time) {
	if t.rate <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.m[ip]; b != nil {
		b.known = now.Add(t.knownFor)
	}
}

func (t *throttle) prune(now time.Time) {
	if t.rate <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
}

// pruneLocked forgets the addresses whose buckets are full again and that
// are not known: they are as a new address would be.
func (t *throttle) pruneLocked(now time.Time) {
	full := time.Duration(t.burst / t.rate * float64(time.Second))
	for ip, b := range t.m {
		if now.Sub(b.last) >= full && !now.Before(b.known) && !now.Before(b.trunkUntil) {
			delete(t.m, ip)
		}
	}
}

// throttled reports whether req is to be dropped: an out-of-dialog
// request (REGISTER, OPTIONS, a new INVITE, …) over its source address's
// budget. ACK, CANCEL and requests within a dialog are never throttled:
// they belong to calls already let in.
func (s *Server) throttled(req *sip.Request) bool {
	if req.IsAck() || req.Method == sip.CANCEL {
		return false
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		return false
	}
	ip := sourceIP(req)
	creds := req.GetHeader("Authorization") != nil || req.GetHeader("Proxy-Authorization") != nil
	if s.throttle.allow(ip, creds, s.cfg.Now(), func() bool { return s.isTrunk(req.Source(), req.Transport()) }) {
		return false
	}
	if s.dropped.Add(1)%1000 == 1 {
		s.log.Warn("sip: throttling a source over its request budget", "source", ip, "dropped_total", s.dropped.Load())
	}
	return true
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
// address was over its budget (Config.SourceRate, SourceBurst).
func (s *Server) Throttled() int64 { return s.dropped.Load() }
