package sipserver

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"xc5"
	"xc5/resource"
)

// trunkCache keeps the trunks in memory: every INVITE from an unknown
// address is matched against them. It reloads when the store reports a
// trunk write and at least every ttl (writes made on other nodes). One
// load runs at a time, outside the lock; while it runs, and after it
// failed, requests are matched against the last list loaded (a database
// outage keeps carriers' calls recognised), and a failed load is tried
// again only after a back-off, not on every INVITE.
type trunkCache struct {
	store   xc5.TrunkStore
	ttl     time.Duration
	timeout time.Duration // bounds a load started in the background
	log     *slog.Logger

	mu      sync.Mutex
	loaded  time.Time
	valid   bool
	gen     uint64 // invalidations so far: a load read before one is stale
	ever    bool   // a load has succeeded: list is a real list
	list    []trunkEntry
	loading chan struct{} // closed when the load under way ends; nil when none
	retryAt time.Time     // after a failed load, none before this
	backoff time.Duration
	lastErr error // of the last load, nil once one succeeded

	kick     chan struct{} // invalidate wakes keep with it
	done     chan struct{} // closed by stop: keep returns
	stopOnce sync.Once
}

type trunkEntry struct {
	xc5.Trunk
	nets []netip.Prefix
}

// trunkRetry is the first back-off after a failed load; it doubles up to
// trunkRetryMax while loads keep failing.
const (
	trunkRetry    = 500 * time.Millisecond
	trunkRetryMax = 10 * time.Second
)

// newTrunkCache makes the cache and starts loading the trunks at once, in
// the background (keep), rather than on the first INVITE: a node whose
// database goes away before any call still knows its carriers, so its
// phones' 111 goes out. stop ends the background loads.
func newTrunkCache(store xc5.TrunkStore, ttl, timeout time.Duration, log *slog.Logger) *trunkCache {
	tc := &trunkCache{store: store, ttl: ttl, timeout: timeout, log: log,
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	go tc.keep()
	return tc
}

func (tc *trunkCache) invalidate() {
	tc.mu.Lock()
	tc.valid = false
	tc.gen++
	tc.mu.Unlock()
	select {
	case tc.kick <- struct{}{}:
	default:
	}
}

// stop ends keep; the cache still serves and loads on demand.
func (tc *trunkCache) stop() {
	tc.stopOnce.Do(func() { close(tc.done) })
}

// keep loads the trunks in the background whenever the list is not
// valid (at start, after a trunk write), retrying a failed load after its
// back-off until one succeeds, so that the list in memory is current
// before a database outage rather than read on the first INVITE.
func (tc *trunkCache) keep() {
	for {
		tc.mu.Lock()
		var wait <-chan struct{}
		var retry <-chan time.Time
		switch {
		case tc.valid:
		case tc.loading != nil:
			wait = tc.loading
		case time.Now().Before(tc.retryAt):
			retry = time.After(time.Until(tc.retryAt))
		default:
			tc.loading = make(chan struct{})
			wait = tc.loading
			go tc.load(tc.store)
		}
		tc.mu.Unlock()
		select {
		case <-tc.done:
			return
		case <-wait:
		case <-retry:
		case <-tc.kick:
		}
	}
}

// unloaded is the store's error while no list has ever loaded (the node
// started during an outage): nothing can tell a carrier from a stranger.
func (tc *trunkCache) unloaded() error {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	switch {
	case tc.ever:
		return nil
	case tc.lastErr != nil:
		return tc.lastErr
	case tc.loading != nil:
		return errStoreSlow
	}
	return nil
}

// get returns the trunks, starting a reload when stale. When the list is
// only older than ttl it does not wait: the reload runs in the
// background. When a trunk was written (or no list loaded yet) it waits
// for the reload, at most as long as ctx, so that the write is seen at
// once; after a failed load it serves the old list until the back-off is
// over.
func (tc *trunkCache) get(ctx context.Context) []trunkEntry {
	for {
		tc.mu.Lock()
		if (tc.valid && time.Since(tc.loaded) < tc.ttl) || time.Now().Before(tc.retryAt) {
			defer tc.mu.Unlock()
			return tc.list
		}
		if tc.loading == nil {
			tc.loading = make(chan struct{})
			go tc.load(tc.store)
		}
		wait, list, stale := tc.loading, tc.list, tc.valid
		tc.mu.Unlock()
		if stale {
			return list
		}
		select {
		case <-wait: // current now, or read before a write: then again
		case <-ctx.Done():
			tc.mu.Lock()
			defer tc.mu.Unlock()
			return tc.list
		}
	}
}

// load reads the trunks once and publishes the list, or keeps the old one
// and backs off when the read fails.
func (tc *trunkCache) load(store xc5.TrunkStore) {
	tc.mu.Lock()
	gen := tc.gen
	tc.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
	ts, err := store.Trunks(ctx)
	cancel()
	tc.mu.Lock()
	defer func() {
		close(tc.loading)
		tc.loading = nil
		tc.mu.Unlock()
	}()
	if err != nil {
		tc.backoff = min(max(2*tc.backoff, trunkRetry), trunkRetryMax)
		tc.retryAt, tc.lastErr = time.Now().Add(tc.backoff), err
		tc.log.Error("loading trunks failed; matching against the last list", "err", err, "retry", tc.backoff)
		return
	}
	list := make([]trunkEntry, 0, len(ts))
	for _, t := range ts {
		e := trunkEntry{Trunk: t}
		e.nets, _ = resource.ParsePrefixes(t.Address) // checked when written; a bad entry matches nothing
		list = append(list, e)
	}
	// A trunk written while the read ran may be missing from it: the
	// list is served, but not taken as current (keep and get load again).
	tc.list, tc.loaded, tc.valid, tc.ever = list, time.Now(), tc.gen == gen, true
	tc.backoff, tc.retryAt, tc.lastErr = 0, time.Time{}, nil
}

// inbound returns the enabled trunk a request from source (ip:port) over
// transport comes from, or nil. Over UDP the port must be the trunk's own
// (unless it is 0): another process or customer behind the carrier's
// address is not the carrier. TCP and TLS connections come from any port.
// When only the port is wrong, wrongPort is the trunk whose address holds
// the IP, so that the INVITE can be refused instead of challenged.
func (tc *trunkCache) inbound(ctx context.Context, source, transport string) (t, wrongPort *xc5.Trunk) {
	src, ok := parseSource(source, transport)
	if !ok {
		return nil, nil
	}
	for _, e := range tc.get(ctx) {
		if !e.Enabled || !e.holds(src.addr) {
			continue
		}
		tr := e.Trunk
		if e.portFits(src) {
			return &tr, nil
		}
		if wrongPort == nil {
			wrongPort = &tr
		}
	}
	return nil, wrongPort
}

// holdsSource reports whether source (ip:port) over transport is an
// address of the enabled trunk guid without inbound_auth, by inbound's
// port rule, whatever other trunks also hold it.
func (tc *trunkCache) holdsSource(ctx context.Context, guid, source, transport string) bool {
	src, ok := parseSource(source, transport)
	if !ok {
		return false
	}
	for _, e := range tc.get(ctx) {
		if e.GUID == guid {
			return e.Enabled && !e.InboundAuth && e.holds(src.addr) && e.portFits(src)
		}
	}
	return false
}

// trunkSource is where a request comes from, as the trunks' rules read it.
type trunkSource struct {
	addr    netip.Addr
	port    int
	anyPort bool // TCP and TLS connections come from any port
}

func parseSource(source, transport string) (trunkSource, bool) {
	ap, err := netip.ParseAddrPort(source)
	if err != nil {
		return trunkSource{}, false
	}
	return trunkSource{addr: ap.Addr().Unmap(), port: int(ap.Port()), anyPort: !strings.EqualFold(transport, "udp")}, true
}

// portFits reports whether src's port is one the trunk sends from: any
// over TCP and TLS, else the trunk's own port unless that is 0.
func (e *trunkEntry) portFits(src trunkSource) bool {
	return src.anyPort || e.Port == 0 || e.Port == src.port
}

// holds reports whether one of the trunk's addresses holds addr.
func (e *trunkEntry) holds(addr netip.Addr) bool {
	for _, n := range e.nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// outbound returns the trunk external calls go to: the enabled trunk with
// a proxy and the lowest priority, or nil.
func (tc *trunkCache) outbound(ctx context.Context) *xc5.Trunk {
	for _, e := range tc.get(ctx) {
		if e.Enabled && e.Proxy != "" {
			t := e.Trunk
			return &t
		}
	}
	return nil
}

// fromTrunk decides an INVITE that may come from a carrier: its source is
// a trunk's address and its From names none of our accounts. handled is
// false when it is not a carrier call (no trunk there, or a phone sharing
// the address that answers a challenge as itself), which the caller then
// authenticates as a phone; ok reports a carrier call let in, and when
// handled and not ok the INVITE has been answered.
func (b *b2bua) fromTrunk(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) (c caller, handled, ok bool) {
	t, wrongPort := b.trunks.inbound(ctx, req.Source(), req.Transport())
	if t == nil && wrongPort == nil {
		if err := b.trunks.unloaded(); err != nil {
			// No list of trunks yet: a carrier would be challenged as
			// a phone. 503 makes it try another node.
			b.s.storeFailed(tx, req, err)
			return c, true, false
		}
		return c, false, false
	}
	from := req.From()
	if b.namesAccount(ctx, &from.Address) {
		return c, false, false
	}
	creds, garbled := credentialsOf(req, "Proxy-Authorization")
	authz := req.GetHeader("Proxy-Authorization") != nil
	switch {
	case t == nil && authz:
		return c, false, false
	case t == nil:
		b.s.log.Warn("INVITE from a trunk's address but not from its port", "trunk", wrongPort.Name,
			"source", req.Source(), "port", wrongPort.Port)
		b.s.respond(tx, req, sip.StatusForbidden, "Not From The Trunk's Port")
		return c, true, false
	case t.InboundAuth && creds != nil && !strings.EqualFold(creds.Username, t.Username):
		return c, false, false // a phone on the carrier's address
	case t.InboundAuth && garbled != nil:
		b.s.respond(tx, req, sip.StatusBadRequest, "Malformed Proxy-Authorization")
		return c, true, false
	case t.InboundAuth:
		if !b.s.authenticateTrunk(req, tx, t, creds, b.host) {
			return c, true, false
		}
	case authz:
		return c, false, false
	}
	user, _ := aorUser(&from.Address)
	c = caller{number: user, trunk: t}
	if c.number == "" || c.number == "anonymous" {
		c.number, c.private = "anonymous", true
	}
	if p := req.GetHeader("Privacy"); p != nil && strings.Contains(strings.ToLower(p.Value()), "id") {
		c.private = true
	}
	return c, true, true
}

// authenticateTrunk checks a carrier's answer (creds, nil when it sent
// none) to a challenge in realm against the trunk's username and
// password, with the nonces and replay guard phones have. It answers the
// INVITE itself when it returns false: 407 to challenge, 403 for a wrong
// answer or a trunk without a password. Wrong answers are logged but not
// counted against the source address's failure limit: whoever can forge
// the carrier's address (what inbound_auth guards against) could then
// lock the carrier out with a few bad answers, and a long random trunk
// password is not guessed online anyway.
func (s *Server) authenticateTrunk(req *sip.Request, tx sip.ServerTransaction, t *xc5.Trunk, creds *digest.Credentials, realm string) bool {
	if creds == nil {
		s.challenge(tx, req, true, realm, false)
		return false
	}
	h := offered(creds)
	if creds.Realm != realm || h == nil {
		s.challenge(tx, req, true, realm, false)
		return false
	}
	want := expected(h, hashJoin(h, t.Username, realm, t.Password), string(req.Method), creds)
	if t.Password == "" || subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(creds.Response))) != 1 {
		s.log.Warn("wrong digest answer from a trunk", "trunk", t.Name, "source", req.Source())
		s.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return false
	}
	return s.freshNonce(tx, req, true, creds, realm, "trunk "+t.Name)
}
