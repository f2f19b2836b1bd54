// Package sipserver is the SIP service of xc5, built on the sipgo stack
// (transports, parser, transactions): the registrar (REGISTER with RFC
// 8760 digest authentication, SHA-256 and MD5, against the accounts'
// stored HA1 values, bindings kept in the store), OPTIONS keepalives, and,
// once EnableCalls is called, calls: xc5 is a back-to-back user agent that
// asks the routing engine what to do with each INVITE and rings phones and
// carriers accordingly, with pickup, caller presentation, concurrent
// limits and call detail records.
//
// It depends on the domain (packages xc5, resource and media), routing and
// the RTP relay (media/relay), never on the SQL store: the store is handed
// to New once, as a Store.
//
// See docs/sip.md for the behaviour and the decisions behind it.
package sipserver

import (
	"context"
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
	xc5.MailQueue
	xc5.VoicemailStore
	xc5.RoomStore
	resource.Notifier
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

	registers atomic.Int64  // REGISTERs in progress
	regWork   *regWork      // when they arrived
	regGate   regGate       // their turns at the CPU
	shedRegs  atomic.Int64  // REGISTERs refused for overload
	stale     atomic.Int64  // requests dropped unread: after MaxQueueWait, or the UDP registrar's queue full
	warmed    atomic.Bool   // the credentials cache's warm-up has run (or begun)
	udpReg    *udpRegistrar // REGISTERs over Serve's UDP socket, once serving

	customRegister atomic.Bool // Handle replaced the REGISTER handler: all go through sipgo
	count          counters    // requests, responses and calls (stats.go)

	mu       sync.RWMutex
	handlers map[sip.RequestMethod]Handler
	b2b      *b2bua // calls, once EnableCalls ran

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	life        sync.Mutex
	udp         net.PacketConn
	tcp         net.Listener
	listening   map[string]string // extra transports: network -> bound address
	closing     bool
	sweepOnce   sync.Once
	serving     chan struct{} // closed once Serve reads requests
	servingOnce sync.Once
	wg          sync.WaitGroup
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
		sipgo.WithUserAgentParser(sip.NewParser(sip.WithHeadersParsers(lenientHeaders()))),
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
		serving:  make(chan struct{}),
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
	if method == sip.REGISTER {
		s.customRegister.Store(true)
	}
}

// OnInvite installs the INVITE handler; until one is installed INVITEs
// are answered 405 Method Not Allowed.
func (s *Server) OnInvite(h Handler) { s.Handle(sip.INVITE, h) }

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
	slot := methodSlot(req.Method)
	s.count.requests[slot].Add(1)
	if tx != nil {
		tx = countedTx{ServerTransaction: tx, c: &s.count, slot: slot}
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

// responder answers a request: a sipgo server transaction, or, for a
// REGISTER over UDP, udpReply, which writes to the socket itself (see
// udpreg.go). The registrar's code takes one, so that both paths share it.
type responder interface {
	Respond(res *sip.Response) error
}

func (s *Server) respond(tx responder, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
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

// statelessly returns r answering final refusals without keeping them
// for retransmissions: statelessTx for a transaction, udpReply's stateless
// form for a REGISTER over UDP.
func statelessly(r responder) responder {
	switch t := r.(type) {
	case sip.ServerTransaction:
		return statelessTx{t}
	case *udpReply:
		return udpStateless{t}
	}
	return r
}

// startSweep starts, once, the background loop that expires bindings on
// time and forgets old nonces and failure counts, and the credentials
// cache's warm-up.
func (s *Server) startSweep() {
	s.sweepOnce.Do(func() {
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			s.warmCredentials()
		}()
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

// lenientHeaders are sipgo's header parsers but those of Refer-To and
// Referred-By: sipgo drops a whole message whose parsed header does not
// parse, so a REFER with a malformed Refer-To would get no answer at all.
// Kept as plain headers, they are read by referTarget, which answers 400.
func lenientHeaders() map[string]sip.HeaderParser {
	m := map[string]sip.HeaderParser{}
	for k, p := range sip.DefaultHeadersParser() {
		switch k {
		case "refer-to", "r", "referred-by", "b":
			continue
		}
		m[k] = p
	}
	return m
}
