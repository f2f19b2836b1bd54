// Package sipserver is the SIP service of xc5, built on the sipgo stack
// (transports, parser, transactions): the registrar (REGISTER with RFC
// 8760 digest authentication, SHA-256 and MD5, against the accounts'
// stored HA1 values, bindings kept in the store), OPTIONS keepalives, and,
// once EnableCalls is called, calls: xc5 is a back-to-back user agent that
// asks the routing engine what to do with each INVITE and rings phones and
// carriers accordingly, with pickup, caller presentation, concurrent
// limits and call detail records.
//
// It depends on the domain (package xc5, package resource) and routing,
// never on the SQL store: the store is handed to New once, as a Store.
//
// See docs/sip.md for the behaviour and the decisions behind it.
package sipserver

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/ratelimit"
	"xc5/resource"
)

// Store is what the SIP service needs from the store, given to New once:
// the registrar's accounts and bindings, the carrier trunks, somewhere to
// keep call detail records, the call count the nodes of a cluster share
// (used with Config.ShareCallCounts), and notice of changes, with the read
// fence saying when that notice is complete, for the caches the service
// keeps. The capabilities are the domain's (package xc5); *sqlstore.Store
// implements them all.
type Store interface {
	xc5.RegistrarStore
	xc5.TrunkStore
	xc5.CDRStore
	xc5.ActiveCallCounter
	xc5.ReadFence
	resource.Notifier
}

// Config tunes the SIP service. Zero values take the defaults given.
type Config struct {
	// Addr is where Serve listens, on UDP and TCP alike. Default
	// 127.0.0.1:5060; port 0 picks a free port that both transports share.
	Addr string
	// Name goes into the Server and User-Agent headers. Default "xc5".
	Name string
	// Host is the host name or IP address xc5 puts in the Via, Contact and
	// From of the requests it sends on calls, where phones and carriers
	// send the rest of the dialog. Default: the host of Addr, or when Addr
	// is a wildcard address, the first non-loopback address of the
	// machine. Behind a NAT, or with the public address on another
	// interface, it is the address phones and carriers can reach
	// (`xc5 serve --sip-advertise`).
	Host string
	// Port is the port advertised with Host in the Via and Contact of
	// calls over UDP and TCP. Default: the port Addr bound (over TCP the
	// Via then carries the connection's own port).
	Port int
	// TLSHost and TLSPort are advertised instead of Host and the TLS
	// listener's port for calls over TLS (`--sip-tls-advertise`).
	// Default: Host and the port ListenAndServeTLS bound.
	TLSHost string
	TLSPort int

	// ExternalRingSeconds bounds how long a call sent out over a carrier
	// (a plain external dial or a forward to an external number) may ring
	// before xc5 gives up; the carrier usually ends it first. Default 120.
	ExternalRingSeconds int
	// MaxCallDuration hangs up answered calls that last longer, so that a
	// call whose phone vanished without a BYE does not hold its accounts'
	// concurrent_limit for ever. Default 12 hours.
	MaxCallDuration time.Duration
	// ShareCallCounts makes concurrent_limit count the calls of every node
	// sharing the store's database (the store's active-call count), not
	// only this node's: for nodes of a PostgreSQL cluster. Default off.
	ShareCallCounts bool

	// CDRDelay is how long a call detail record may wait after its call
	// ended, so that the records of many calls are written in one
	// transaction (see cdrQueue). Default 200 ms.
	CDRDelay time.Duration

	// MaxCallSetups bounds the calls being set up at once on this node: an
	// initial INVITE counts from its arrival until a phone or carrier it
	// rings first responds (100 Trying, 180, or a final answer), or until
	// it is refused without a ring; calls that ring (waiting for a person)
	// and answered calls do not count. Above it new INVITEs get 503
	// Service Unavailable with Retry-After at once, so that an overloaded
	// node refuses new calls cheaply instead of failing the calls it
	// already carries. Setting up a call takes about a millisecond, so the
	// count stays in single figures until the node (or the network to the
	// phones) cannot keep up and set-ups queue. 128 at 500 calls a second
	// is a quarter of a second of queue, half of SIP's first
	// retransmission interval (see docs/sip.md). Default 128; negative
	// means no limit.
	MaxCallSetups int
	// MaxPendingRegisters bounds the REGISTERs being handled at once
	// (challenge, credentials, the binding's write); above it a REGISTER
	// gets 503 with Retry-After at once. Handling one takes well under a
	// millisecond of CPU and a share of a commit, so a few dozen are in
	// progress at thousands a second while commits are quick; a pause (a
	// commit slowed by other disk work, fsync p99 150 ms under load; a
	// process that lost the CPU) holds hundreds or thousands more for a
	// moment, and those should still be served. 8192 is about 0.8 s of
	// requests at 5,000 registrations (10,000 REGISTERs) a second: only a
	// queue that keeps growing, past the point where phones retransmit
	// (500 ms), reaches it. It keeps an avalanche of registrations (every
	// phone of a network coming back at once) from taking the node into
	// the collapse where queues and retransmissions feed each other.
	// Default 8192; negative means no limit.
	MaxPendingRegisters int
	// MaxQueueWait bounds the wait of requests in the UDP socket's receive
	// buffer: a REGISTER, OPTIONS or initial INVITE read after waiting
	// there longer is dropped before it is parsed (its sender retransmits
	// it), so that the queue the registrar cannot see stays short under
	// overload. Responses and requests of calls in progress are never
	// dropped. Default 400 ms, below SIP's first retransmission; negative
	// turns it off.
	MaxQueueWait time.Duration
	// MaxRegisterWait bounds the queue of REGISTERs by waiting time: once
	// the oldest REGISTER in progress has waited this long, REGISTERs
	// that start a registration (no credentials) get 503 at once, while
	// the answers to challenges already sent are still served. Below
	// SIP's first retransmission (500 ms), so that phones are refused
	// before they retransmit into the queue. Default 400 ms; negative
	// turns it off.
	MaxRegisterWait time.Duration
	// RetryAfter is the Retry-After of those 503s. Default 1 s.
	RetryAfter time.Duration
	// RegisterRetrySpread spreads the Retry-After of REGISTERs refused
	// for overload evenly over RetryAfter to RetryAfter plus this, in
	// whole seconds, so that a storm of phones refused together does not
	// come back together. Default 9 s (Retry-After 1 to 10); negative
	// means no spread.
	RegisterRetrySpread time.Duration

	// MinExpires is the shortest registration accepted; shorter non-zero
	// requests get 423 Interval Too Brief. Default 60 s.
	MinExpires time.Duration
	// MaxExpires caps the registration interval: longer requests are
	// granted this much. Default 3600 s.
	MaxExpires time.Duration
	// DefaultExpires applies when a REGISTER names no expiry. Default
	// 3600 s (then capped by MaxExpires).
	DefaultExpires time.Duration
	// MaxContacts bounds the bindings of one account; a REGISTER that
	// would exceed it gets 403. Default 10.
	MaxContacts int

	// NonceTTL is how long a nonce is good for; older ones get a fresh
	// challenge with stale=true. Default 5 minutes.
	NonceTTL time.Duration
	// NonceKey signs nonces. Default: random per process, so that after a
	// restart phones get stale=true and re-authenticate silently.
	NonceKey []byte
	// DigestAlgorithms are the algorithms challenged for, one challenge
	// each, in this order. Default SHA-256 then MD5 (RFC 8760). Some
	// clients answer only the first challenge and know only MD5 (sipp
	// 3.6, old phones): {"MD5"} or {"MD5", "SHA-256"} lets them in.
	DigestAlgorithms []string
	// MaxNonces bounds the replay guard (nonces seen, with their last
	// nonce-count); when it is full the oldest nonces are retired early,
	// which makes them stale. Default 1<<20.
	MaxNonces int

	// AuthFailures failed authentications from one source IP within
	// AuthWindow block that IP (with a backoff that doubles while it goes
	// on): its requests are answered 403 without looking at credentials.
	// Default 20 per minute; negative disables the limits.
	// AuthFailuresPerUser (default 10) bounds the failures per username
	// from addresses that failed AuthTries (default 3) times for it;
	// addresses that have not are always checked. See package ratelimit.
	AuthFailures        int
	AuthWindow          time.Duration
	AuthFailuresPerUser int
	AuthTries           int

	// SourceRate and SourceBurst are the request budget of one source (a
	// token bucket, as Kamailio's pike module keeps): over UDP an IP
	// address and port, over TCP and TLS a connection. Requests outside
	// the dialogs of calls (REGISTER, OPTIONS, new INVITEs, …) beyond it
	// are dropped without an answer, so that a SIP scanner's flood is
	// mostly unanswered. All the sources of one address (an IPv6 /64)
	// share a ceiling of twice the budget, UDP apart from connections; an
	// address where a phone authenticated within the last MaxExpires gets
	// ten times that ceiling, and its requests whose digest nonce was
	// sent to it pass even when it is spent. A source that authenticated
	// within MaxExpires (every phone holding a binding) is not throttled,
	// nor is a carrier trunk's. Default 50 a second with a burst of 1,000
	// (see docs/sip.md "Scanners"); a SourceBurst of zero or less is the
	// default (`xc5 serve` refuses one). A negative SourceRate turns the
	// throttle off.
	SourceRate  int
	SourceBurst int

	// UDPBuffer is the size asked for the UDP socket's receive and send
	// buffers (the kernel caps it at net.core.rmem_max and wmem_max).
	// Default 4 MiB, about 8,000 requests; negative keeps the system's.
	UDPBuffer int

	// SweepInterval is how often expired bindings, nonces and failure
	// counters are dropped. Default 10 s.
	SweepInterval time.Duration
	// RequestTimeout bounds the store work of one request. Default 10 s.
	RequestTimeout time.Duration

	// Now is the clock; default time.Now. Tests inject their own.
	Now func() time.Time
}

func (c *Config) defaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:5060"
	}
	if c.Name == "" {
		c.Name = "xc5"
	}
	if c.ExternalRingSeconds <= 0 {
		c.ExternalRingSeconds = 120
	}
	def(&c.MaxCallDuration, 12*time.Hour)
	def(&c.MinExpires, 60*time.Second)
	def(&c.MaxExpires, 3600*time.Second)
	def(&c.DefaultExpires, 3600*time.Second)
	def(&c.NonceTTL, 5*time.Minute)
	def(&c.AuthWindow, time.Minute)
	def(&c.SweepInterval, 10*time.Second)
	def(&c.RequestTimeout, 10*time.Second)
	if c.MaxCallSetups == 0 {
		c.MaxCallSetups = 128
	}
	def(&c.RetryAfter, time.Second)
	def(&c.MaxRegisterWait, 400*time.Millisecond)
	def(&c.MaxQueueWait, 400*time.Millisecond)
	def(&c.RegisterRetrySpread, 9*time.Second)
	if c.MaxPendingRegisters == 0 {
		c.MaxPendingRegisters = 8192
	}
	def(&c.CDRDelay, 200*time.Millisecond)
	if c.UDPBuffer == 0 {
		c.UDPBuffer = 4 << 20
	}
	if c.MaxContacts == 0 {
		c.MaxContacts = 10
	}
	if c.MaxNonces == 0 {
		c.MaxNonces = 1 << 20
	}
	if c.AuthFailures == 0 {
		c.AuthFailures = 20
	}
	if c.SourceRate == 0 {
		c.SourceRate = 50
	}
	if c.SourceBurst <= 0 {
		c.SourceBurst = max(1000, c.SourceRate)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if len(c.DigestAlgorithms) == 0 {
		c.DigestAlgorithms = defaultAlgorithms
	}
	algs := make([]string, len(c.DigestAlgorithms))
	for i, a := range c.DigestAlgorithms {
		algs[i] = strings.ToUpper(a)
		if a == "" || hasher(a) == nil {
			return fmt.Errorf("sip: digest algorithm %q is not MD5 or SHA-256", a)
		}
	}
	c.DigestAlgorithms = algs
	if len(c.NonceKey) == 0 {
		c.NonceKey = make([]byte, 32)
		rand.Read(c.NonceKey)
	}
	switch {
	case c.Port < 0 || c.Port > 65535 || c.TLSPort < 0 || c.TLSPort > 65535:
		return fmt.Errorf("sip: advertised ports %d, %d out of range", c.Port, c.TLSPort)
	case c.MinExpires < time.Second || c.MaxExpires < c.MinExpires:
		return fmt.Errorf("sip: need 1s <= MinExpires (%v) <= MaxExpires (%v)", c.MinExpires, c.MaxExpires)
	case c.NonceTTL < time.Second:
		return fmt.Errorf("sip: NonceTTL %v is too short", c.NonceTTL)
	}
	return nil
}

// Handler answers one request in its server transaction.
type Handler = sipgo.RequestHandler

// Server is the SIP service: a sipgo user agent and server whose requests
// this package dispatches.
type Server struct {
	cfg      Config
	reg      xc5.RegistrarStore // the store behind the credentials cache
	store    Store
	log      *slog.Logger
	ua       *sipgo.UserAgent
	sip      *sipgo.Server
	nonces   *nonces
	replay   *replayGuard
	limiter  *ratelimit.Limiter
	throttle *throttle

	dropped atomic.Int64 // requests dropped by the throttle

	registers atomic.Int64 // REGISTERs in progress
	regWork   *regWork     // when they arrived
	regGate   regGate      // their turns at the CPU
	shedRegs  atomic.Int64 // REGISTERs refused for overload
	stale     atomic.Int64 // requests dropped unread after MaxQueueWait

	mu       sync.RWMutex
	handlers map[sip.RequestMethod]Handler
	b2b      *b2bua // calls, once EnableCalls ran

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	life      sync.Mutex
	udp       net.PacketConn
	tcp       net.Listener
	listening map[string]string // extra transports: network -> bound address
	closing   bool
	sweepOnce sync.Once
	wg        sync.WaitGroup
}

// New builds a SIP server over store. It does not listen yet: see Serve,
// Listen and ListenAndServe.
func New(cfg Config, store Store, log *slog.Logger) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "sip")
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(cfg.Name),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		return nil, err
	}
	s := &Server{
		cfg: cfg, reg: withCredCache(store, cfg.Now), store: store, log: log, ua: ua, sip: srv,
		nonces:   &nonces{key: cfg.NonceKey, ttl: cfg.NonceTTL},
		replay:   newReplayGuard(cfg.NonceTTL, cfg.MaxNonces),
		limiter:  newLimiter(cfg),
		throttle: newThrottle(cfg.SourceRate, cfg.SourceBurst, cfg.MaxExpires),
		regWork:  newRegWork(),
		regGate:  newRegGate(),
		handlers: map[sip.RequestMethod]Handler{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.handlers[sip.REGISTER] = s.handleRegister
	s.handlers[sip.OPTIONS] = s.handleOptions
	srv.OnNoRoute(s.dispatch) // every method comes through dispatch
	return s, nil
}

// Handle installs h for requests with the given method, replacing what
// was there (REGISTER and OPTIONS are built in). It is where calls plug
// in: Handle(sip.INVITE, …), and ACK, BYE and CANCEL with it. Safe to
// call while serving.
func (s *Server) Handle(method sip.RequestMethod, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[method] = h
}

// OnInvite installs the INVITE handler; until one is installed INVITEs
// are answered 405 Method Not Allowed.
func (s *Server) OnInvite(h Handler) { s.Handle(sip.INVITE, h) }

// UserAgent returns the sipgo user agent whose transports the server
// listens on, for building clients (sipgo.NewClient) that send from the
// same sockets.
func (s *Server) UserAgent() *sipgo.UserAgent { return s.ua }

// Config returns the configuration in force, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// knownMethods are the RFC 3261 family methods: when no handler serves
// one it is 405 Method Not Allowed; anything else is 501 Not Implemented.
var knownMethods = []sip.RequestMethod{sip.INVITE, sip.ACK, sip.CANCEL, sip.BYE, sip.REGISTER, sip.OPTIONS,
	sip.SUBSCRIBE, sip.NOTIFY, sip.REFER, sip.INFO, sip.MESSAGE, sip.PRACK, sip.UPDATE, sip.PUBLISH}

// allow is the value of the Allow header: the methods with a handler.
func (s *Server) allow() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var m []string
	for _, k := range knownMethods {
		if s.handlers[k] != nil {
			m = append(m, string(k))
		}
	}
	return strings.Join(m, ", ")
}

// dispatch routes a request to its handler. A panic in a handler is
// logged and answered 500, never taken down with the process.
func (s *Server) dispatch(req *sip.Request, tx sip.ServerTransaction) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in SIP handler", "panic", p, "method", req.Method, "stack", string(debug.Stack()))
			if tx != nil && !req.IsAck() {
				tx.Respond(s.response(req, sip.StatusInternalServerError, "Server Internal Error"))
			}
		}
	}()
	if s.throttled(req) {
		return // over its address's budget: dropped, as pike does
	}
	s.mu.RLock()
	h := s.handlers[req.Method]
	s.mu.RUnlock()
	switch {
	case req.IsAck(): // never answered
		if h != nil {
			h(req, tx)
		}
	case tx == nil:
	case req.SipVersion != "SIP/2.0":
		s.respond(tx, req, sip.StatusVersionNotSupported, "Version Not Supported")
	case h != nil:
		h(req, tx)
	case req.Method == sip.BYE || req.Method == sip.CANCEL:
		s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	case slices.Contains(knownMethods, req.Method):
		s.respond(tx, req, sip.StatusMethodNotAllowed, "Method Not Allowed", sip.NewHeader("Allow", s.allow()))
	default:
		s.respond(tx, req, sip.StatusNotImplemented, "Not Implemented", sip.NewHeader("Allow", s.allow()))
	}
}

// handleOptions answers keepalives and capability queries.
func (s *Server) handleOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(tx, req, sip.StatusOK, "OK", sip.NewHeader("Allow", s.allow()), sip.NewHeader("Accept", "application/sdp"))
}

// response builds a response to req with the Server header.
func (s *Server) response(req *sip.Request, code int, reason string, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Server", s.cfg.Name))
	return res
}

func (s *Server) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	if err := tx.Respond(s.response(req, code, reason, hdrs...)); err != nil {
		s.log.Debug("respond failed", "code", code, "err", err)
	}
}

// statelessTx answers an INVITE's refusals (final responses other than
// 2xx) once: the response is sent and the transaction ended at once,
// before the INVITE server transaction could retransmit it until an ACK
// comes (RFC 3261 Timer G: 11 copies over 32 s). A request from anyone,
// forged source address included, must not draw more than it sends: an
// unauthenticated INVITE that is never ACKed would otherwise make xc5 a
// reflection amplifier of 26 times the bytes. Kamailio answers such
// requests statelessly too (sl_send_reply). A lost refusal is recovered
// by the caller's own retransmission of the INVITE, which then starts a
// new transaction and draws one new answer; the ACK of a refusal matches
// no transaction and is ignored.
type statelessTx struct{ sip.ServerTransaction }

func (t statelessTx) Respond(res *sip.Response) error {
	err := t.ServerTransaction.Respond(res)
	if !res.IsProvisional() && !res.IsSuccess() {
		t.Terminate()
	}
	return err
}

// Listen binds Config.Addr on UDP and TCP, the same port for both. Serve
// calls it when it has not been called; calling it first reports a busy
// port before anything else starts.
func (s *Server) Listen() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closing {
		return errors.New("sip: server closed")
	}
	if s.udp != nil {
		return nil
	}
	host, port, err := net.SplitHostPort(s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("sip: address %q: %w", s.cfg.Addr, err)
	}
	// With port 0 the UDP port is chosen first and TCP may find it taken:
	// try again with another.
	for try := 0; ; try++ {
		udp, err := net.ListenPacket("udp", s.cfg.Addr)
		if err != nil {
			return fmt.Errorf("sip: listen udp %s: %w", s.cfg.Addr, err)
		}
		_, p, _ := net.SplitHostPort(udp.LocalAddr().String())
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err == nil {
			s.udp, s.tcp = udp, tcp
			s.sizeBuffers(udp)
			return nil
		}
		udp.Close()
		if port != "0" || try == 20 {
			return fmt.Errorf("sip: listen tcp %s: %w", net.JoinHostPort(host, p), err)
		}
	}
}

// sizeBuffers asks for UDP socket buffers of Config.UDPBuffer bytes. The
// kernel's default (about 200 KiB) holds a few hundred requests: a pause
// of a few tens of milliseconds at thousands of requests a second (a
// garbage collection, another process on the CPU) overflows it, and every
// dropped request comes back as a retransmission half a second later,
// adding load just when there is least room for it. Linux caps the size
// at net.core.rmem_max / wmem_max.
func (s *Server) sizeBuffers(c net.PacketConn) {
	u, ok := c.(*net.UDPConn)
	if !ok || s.cfg.UDPBuffer <= 0 {
		return
	}
	if err := u.SetReadBuffer(s.cfg.UDPBuffer); err != nil {
		s.log.Warn("sip: UDP read buffer", "err", err)
	}
	if err := u.SetWriteBuffer(s.cfg.UDPBuffer); err != nil {
		s.log.Warn("sip: UDP write buffer", "err", err)
	}
}

// udpAddr is the local address of the UDP listener Serve uses, for
// requests that must leave from it.
func (s *Server) udpAddr() (sip.Addr, bool) {
	s.life.Lock()
	defer s.life.Unlock()
	if s.udp == nil {
		return sip.Addr{}, false
	}
	host, p, err := net.SplitHostPort(s.udp.LocalAddr().String())
	if err != nil {
		return sip.Addr{}, false
	}
	port, _ := strconv.Atoi(p)
	return sip.Addr{IP: net.ParseIP(host), Port: port, Hostname: host}, true
}

// Addr returns the address Listen bound ("host:port", the same for UDP
// and TCP), or "" before it.
func (s *Server) Addr() string {
	s.life.Lock()
	defer s.life.Unlock()
	if s.udp == nil {
		return ""
	}
	return s.udp.LocalAddr().String()
}

// Serve listens on Config.Addr over UDP and TCP and serves until ctx is
// cancelled or Close is called, and then shuts the server down as Close
// does. It returns nil after such a shutdown, or the error that stopped a
// transport.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.life.Lock()
	udp, tcp := s.udp, s.tcp
	s.life.Unlock()
	s.startSweep()
	errc := make(chan error, 2)
	go func() {
		err := s.sip.ServeUDP(withStaleDrop(udp, s.cfg.MaxQueueWait, &s.stale))
		errc <- fmt.Errorf("sip: udp stopped: %v", err)
	}()
	go func() {
		err := s.sip.ServeTCP(tcp)
		errc <- fmt.Errorf("sip: tcp stopped: %w", err)
	}()
	var err error
	select {
	case <-ctx.Done():
	case <-s.ctx.Done():
	case err = <-errc:
	}
	s.life.Lock()
	closing := s.closing
	s.life.Unlock()
	s.Close()
	if closing {
		return nil
	}
	return err
}

// ListenAndServe serves one transport ("udp", "tcp", "ws" and their 4/6
// variants) on addr, like sipgo's, until ctx is cancelled or Close is
// called. Several may run on one server; Serve is the usual way.
func (s *Server) ListenAndServe(ctx context.Context, network, addr string) error {
	s.startSweep()
	ctx, stop := mergeCancel(s.watchListen(ctx), s.ctx)
	defer stop()
	return s.sip.ListenAndServe(ctx, network, addr)
}

// watchListen returns ctx carrying sipgo's listen-ready hook, recording
// the address each extra transport bound (for the Contact of calls over
// it) and calling any hook ctx already carried.
func (s *Server) watchListen(ctx context.Context) context.Context {
	prev, _ := ctx.Value(sipgo.ListenReadyCtxKey).(sipgo.ListenReadyFuncCtxValue)
	f := sipgo.ListenReadyFuncCtxValue(func(network, addr string) {
		s.life.Lock()
		if s.listening == nil {
			s.listening = map[string]string{}
		}
		s.listening[strings.ToLower(network)] = addr
		s.life.Unlock()
		if prev != nil {
			prev(network, addr)
		}
	})
	return context.WithValue(ctx, sipgo.ListenReadyCtxKey, f) //nolint:staticcheck // sipgo's key
}

// listenPort is the port an extra transport (tls, ws) listens on, 0 if
// none.
func (s *Server) listenPort(network string) int {
	s.life.Lock()
	defer s.life.Unlock()
	_, p, err := net.SplitHostPort(s.listening[network])
	if err != nil {
		return 0
	}
	port, _ := strconv.Atoi(p)
	return port
}

// ListenAndServeTLS serves SIP over TLS on addr (conventionally port
// 5061) with conf, until ctx is cancelled or Close is called. It runs
// beside Serve on the same server: same handlers, same bindings.
func (s *Server) ListenAndServeTLS(ctx context.Context, addr string, conf *tls.Config) error {
	s.startSweep()
	ctx, stop := mergeCancel(s.watchListen(ctx), s.ctx)
	defer stop()
	return s.sip.ListenAndServeTLS(ctx, "tls", addr, conf)
}

// mergeCancel returns a context cancelled when either a or b is done.
func mergeCancel(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// Close stops serving: it closes the listeners, stops the sweep and
// releases the transports. Bindings stay in the store.
func (s *Server) Close() error {
	s.life.Lock()
	if s.closing {
		s.life.Unlock()
		return nil
	}
	s.closing = true
	s.cancel()
	s.mu.RLock()
	if s.b2b != nil {
		s.b2b.trunks.stop() // its background loads
	}
	s.mu.RUnlock()
	var errs []error
	if s.udp != nil {
		errs = append(errs, s.udp.Close())
	}
	if s.tcp != nil {
		errs = append(errs, s.tcp.Close())
	}
	s.life.Unlock()
	s.wg.Wait()
	errs = append(errs, s.ua.Close())
	for _, err := range errs {
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	return nil
}

// startSweep starts, once, the background loop that expires bindings on
// time and forgets old nonces and failure counts.
func (s *Server) startSweep() {
	s.sweepOnce.Do(func() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTicker(s.cfg.SweepInterval)
			defer t.Stop()
			for {
				select {
				case <-s.ctx.Done():
					return
				case <-t.C:
					s.sweep()
				}
			}
		}()
	})
}

// sweep runs one round of the background clean-up.
func (s *Server) sweep() {
	now := s.cfg.Now()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RequestTimeout)
	defer cancel()
	if n, err := s.reg.ExpireRegistrations(ctx, now); err != nil {
		if s.ctx.Err() == nil {
			s.log.Error("expiring registrations failed", "err", err)
		}
	} else if n > 0 {
		s.log.Debug("registrations expired", "count", n)
	}
	s.replay.prune(now)
	s.limiter.Prune(now)
	s.throttle.prune(now)
}

// sourceIP is the host part of a request's source address.
func sourceIP(req *sip.Request) string {
	src := req.Source()
	if host, _, err := net.SplitHostPort(src); err == nil {
		return host
	}
	return src
}

// seconds formats a duration as whole SIP seconds.
func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
