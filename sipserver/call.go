package sipserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/resource"
	"xc5/routing"
)

// mediaReason is the reason phrase of the 503 that destinations needing
// media get until xc5 has a media service: a clear refusal rather than a
// call that rings forever.
const mediaReason = "Media services not available yet"

// b2bua carries out calls: xc5 answers every INVITE itself and places its
// own INVITEs toward the phones and carriers the routing engine picks, so
// that it stays in both dialogs (see docs/sip.md for why a B2BUA).
type b2bua struct {
	s       *Server
	view    *routing.View
	store   Store
	client  *sipgo.Client // UDP and TCP: Via host and port are Config.Host and Port
	tls     *sipgo.Client // TLS: Config.TLSHost and TLSPort
	trunks  *trunkCache
	cdrs    *cdrQueue
	host    string // what goes into Via, Contact and From
	tlsHost string // what goes into Via and Contact over TLS

	// removals deletes the shared count of calls that ended while the
	// database was away.
	removals removals

	// shared, when set, counts calls for concurrent_limit across the
	// nodes sharing a database; active still counts this node's.
	shared xc5.ActiveCallCounter

	mu      sync.Mutex
	active  map[string]int        // account GUID -> calls set up on this node
	dialogs map[string]*end       // dialog key -> one end of a call
	ringing map[*ringing]struct{} // rings in progress, for pickup
	calls   int                   // calls in progress

	setups    atomic.Int64 // calls being set up (see Config.MaxCallSetups)
	emergency atomic.Int64 // emergency calls being set up (emergencySetups)
	shed      atomic.Int64 // INVITEs refused for overload
}

// emergencySetups are set-up slots of emergency calls (111, 112, the
// Emergency location), apart from Config.MaxCallSetups: an overloaded node
// still takes a 111, and a flood of INVITEs to 111 (which still
// authenticate) cannot take more of the CPU than these.
const emergencySetups = 32

// admitCall takes a set-up slot for a new call dialing dialed: one of
// the emergency slots for an emergency number, else one of the others.
func (b *b2bua) admitCall(dialed string) (release func(), ok bool) {
	if b.s.cfg.MaxCallSetups >= 0 && b.view.DialsEmergency(dialed) {
		return b.take(&b.emergency, emergencySetups)
	}
	return b.admit()
}

// admit takes a set-up slot for a new call, or reports overload. The
// returned release gives the slot back; it may be called more than once.
func (b *b2bua) admit() (release func(), ok bool) {
	return b.take(&b.setups, b.s.cfg.MaxCallSetups)
}

// take takes one of limit slots counted by n (negative limit: no limit).
func (b *b2bua) take(n *atomic.Int64, limit int) (release func(), ok bool) {
	if v := n.Add(1); limit >= 0 && v > int64(limit) {
		n.Add(-1)
		b.shed.Add(1)
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(func() { n.Add(-1) }) }, true
}

// Shed reports how many new calls this node refused with 503 because
// too many were being set up at once (Config.MaxCallSetups).
func (s *Server) Shed() int64 {
	s.mu.RLock()
	b := s.b2b
	s.mu.RUnlock()
	if b == nil {
		return 0
	}
	return b.shed.Load()
}

// EnableCalls makes the server carry calls: INVITEs from phones
// (authenticated with 407 digest challenges) and from carrier trunks are
// decided by the routing engine over view and carried out by xc5 as a
// back-to-back user agent, over the store given to New (its trunks, its
// call detail records and, with Config.ShareCallCounts, its call count).
// It installs the INVITE, ACK, BYE and CANCEL handlers; call it once,
// before or while serving.
func (s *Server) EnableCalls(view *routing.View) error {
	if view == nil {
		return errors.New("sip: EnableCalls needs a routing view")
	}
	store := s.store
	host := s.cfg.Host
	if host == "" {
		addr := s.Addr()
		if addr == "" {
			addr = s.cfg.Addr
		}
		host, _, _ = net.SplitHostPort(addr)
		if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
			host = firstAddress()
		}
	}
	tlsHost := s.cfg.TLSHost
	if tlsHost == "" {
		tlsHost = host
	}
	client, err := s.callClient(host, s.cfg.Port)
	if err != nil {
		return err
	}
	tlsClient, err := s.callClient(tlsHost, s.cfg.TLSPort)
	if err != nil {
		return err
	}
	b := &b2bua{s: s, view: view, store: store, client: client, tls: tlsClient, host: host, tlsHost: tlsHost,
		trunks:  newTrunkCache(store, 10*time.Second, s.cfg.RequestTimeout, s.log),
		cdrs:    newCDRQueue(store, s.log),
		active:  map[string]int{},
		dialogs: map[string]*end{},
		ringing: map[*ringing]struct{}{},
	}
	if s.cfg.ShareCallCounts {
		b.shared = store
	}
	b.removals.log = s.log
	store.OnChange(func(c resource.Change) {
		if c.Resource == nil || c.Resource == resource.Trunk {
			b.trunks.invalidate()
		}
	})
	s.mu.Lock()
	s.b2b = b
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		b.cdrs.run(s.ctx, s.cfg.CDRDelay)
	}()
	s.Handle(sip.INVITE, b.onInvite)
	s.Handle(sip.ACK, b.onAck)
	s.Handle(sip.BYE, b.onBye)
	s.Handle(sip.CANCEL, b.onCancel)
	return nil
}

// ActiveCalls reports how many calls of the account are set up on this
// node (as caller, or as the answering party): what concurrent_limit is
// checked against.
func (s *Server) ActiveCalls(accountGUID string) int {
	s.mu.RLock()
	b := s.b2b
	s.mu.RUnlock()
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active[accountGUID]
}

// Calls reports how many calls are in progress on this node, ringing or
// answered.
func (s *Server) Calls() int {
	s.mu.RLock()
	b := s.b2b
	s.mu.RUnlock()
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// callClient is the client that sends xc5's requests on calls, with host
// and port (0: the socket's) in the Via. With an advertised address
// (Config.Host, Port, TLSHost, TLSPort: xc5 behind a NAT) the Via asks for
// rport (RFC 3581), so that responses come back to the address the
// request was seen from, through the NAT, rather than to the advertised
// port at the request's source IP (RFC 3261 §18.2.2), where nothing may
// listen.
func (s *Server) callClient(host string, port int) (*sipgo.Client, error) {
	opts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientPort(port), sipgo.WithClientLogger(s.log)}
	if c := s.cfg; c.Host != "" || c.Port != 0 || c.TLSHost != "" || c.TLSPort != 0 {
		opts = append(opts, sipgo.WithClientNAT())
	}
	return sipgo.NewClient(s.ua, opts...)
}

// firstAddress is the first non-loopback address of the machine, for a
// server listening on a wildcard address; 127.0.0.1 when there is none.
func firstAddress() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

// contact is xc5's Contact for a dialog over transport: where the other
// side sends BYE and re-INVITE. It carries the advertised address
// (Config.Host and Port, TLSHost and TLSPort) when one is set.
func (b *b2bua) contact(transport string) sip.ContactHeader {
	tp := strings.ToLower(transport)
	host, port := b.host, b.s.cfg.Port
	switch tp {
	case "tls":
		host, port = b.tlsHost, b.s.cfg.TLSPort
		if port == 0 {
			port = b.s.listenPort(tp)
		}
	case "udp", "tcp", "":
	default:
		port = b.s.listenPort(tp)
	}
	if port == 0 {
		addr := b.s.Addr()
		if addr == "" {
			addr = b.s.cfg.Addr
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ = strconv.Atoi(p)
	}
	u := sip.Uri{Scheme: "sip", User: "xc5", Host: host, Port: port}
	if tp != "udp" && tp != "" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", tp)
	}
	return sip.ContactHeader{Address: u}
}

// dialogUA is the sipgo dialog user agent for one end of a call. Requests
// in the dialog go back to where the other side's messages came from
// (RewriteContact): phones behind NAT register from the address they can
// be reached at, not the one in their Contact.
func (b *b2bua) dialogUA(transport string) *sipgo.DialogUA {
	c := b.client
	if strings.EqualFold(transport, "tls") {
		c = b.tls
	}
	return &sipgo.DialogUA{Client: c, ContactHDR: b.contact(transport), RewriteContact: true}
}

// ---- who is calling ----

// caller is who an INVITE comes from.
type caller struct {
	acct    *routing.Account // the authenticated account; nil for a carrier call
	number  string           // the external caller's number (From user)
	offers  []string         // the numbers an account's phone offers to present, best first
	private bool             // the external caller withholds its number
	trunk   *xc5.Trunk
}

// name is the caller as the engine and the CDRs know it.
func (c caller) name() string {
	if c.acct != nil {
		return c.acct.Username
	}
	return c.number
}

// identify decides who sent an INVITE. A carrier is recognised by its
// source address and port (and, when its trunk says so, its answer to a
// digest challenge: fromTrunk); anything else must authenticate as an
// account. An INVITE from a trunk's address that carries credentials of
// its own, or whose From names one of our accounts, is a phone sharing
// the address and is challenged: authentication only ever makes a call
// harder to place.
func (b *b2bua) identify(req *sip.Request, tx sip.ServerTransaction, emergency bool) (caller, bool) {
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	if emergency {
		ctx = forEmergency(ctx)
	}
	if c, handled, ok := b.fromTrunk(ctx, req, tx); handled {
		return c, ok
	}
	creds, ok := b.s.authenticate(ctx, req, tx, true)
	if !ok {
		return caller{}, false
	}
	b.s.throttle.authenticated(sourceIP(req), b.s.cfg.Now())
	a := b.view.Account(creds.GUID)
	if a == nil {
		a = b.view.Account(creds.Username)
	}
	if a == nil {
		b.s.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return caller{}, false
	}
	return caller{acct: a, offers: offeredIdentities(req)}, true
}

// offeredIdentities are the numbers a phone offers to present, best
// first: the user parts of P-Asserted-Identity and P-Preferred-Identity
// (sip: or tel: URIs, the first of each), then of From. The engine keeps
// the first that is one of the account's own numbers.
func offeredIdentities(req *sip.Request) []string {
	var out []string
	for _, name := range [...]string{"P-Asserted-Identity", "P-Preferred-Identity"} {
		for _, h := range req.GetHeaders(name) {
			if u := identityUser(h.Value()); u != "" {
				out = append(out, u)
			}
		}
	}
	if f := req.From(); f != nil {
		if u, _ := aorUser(&f.Address); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// identityUser is the user part of the first address in an identity
// header value: "Name" <sip:6499290089@host;user=phone>, <tel:+6499290089>.
func identityUser(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	} else if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(strings.ToLower(v), "tel:"):
		v = v[4:]
	case strings.HasPrefix(strings.ToLower(v), "sip:"), strings.HasPrefix(strings.ToLower(v), "sips:"):
		v = v[strings.IndexByte(v, ':')+1:]
		at := strings.IndexByte(v, '@')
		if at < 0 {
			return ""
		}
		v = v[:at]
	default:
		return ""
	}
	if i := strings.IndexAny(v, ";?"); i >= 0 {
		v = v[:i]
	}
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	return strings.NewReplacer("-", "", ".", "", " ", "", "(", "", ")", "").Replace(v)
}

// namesAccount reports whether a From address names one of our accounts.
func (b *b2bua) namesAccount(ctx context.Context, u *sip.Uri) bool {
	user, _ := aorUser(u)
	if user == "" || user == "anonymous" {
		return false
	}
	_, err := b.s.reg.SIPCredentials(ctx, aorName(u))
	return err == nil
}

// ---- the INVITE ----

// onInvite takes a new call (or a re-INVITE in a call's dialog).
func (b *b2bua) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	// Until the caller is known, a refusal is sent once, never
	// retransmitted (see statelessTx).
	pre := statelessTx{tx}
	to, from, cid, cseq := req.To(), req.From(), req.CallID(), req.CSeq()
	if to == nil || from == nil || cid == nil || cseq == nil {
		b.s.respond(pre, req, sip.StatusBadRequest, "Missing Dialog Headers")
		return
	}
	if to.Params.Has("tag") {
		b.reinvite(req, tx)
		return
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		b.s.respond(pre, req, sip.StatusTooManyHops, "Too Many Hops")
		return
	}
	if req.Contact() == nil {
		b.s.respond(pre, req, sip.StatusBadRequest, "Missing Contact")
		return
	}
	// The dialed number is read first (a few string operations): an
	// emergency call has slots of its own, so that overload never refuses
	// a 111 (docs/routing.md, "Emergency calls").
	dialed := dialedOf(&req.Recipient)
	release, ok := b.admitCall(dialed)
	if !ok {
		// Overloaded: refuse before any work, so that the calls already
		// up keep their CPU. A carrier tries another route or node.
		b.s.respond(pre, req, sip.StatusServiceUnavailable, "Overloaded",
			sip.NewHeader("Retry-After", seconds(max(b.s.cfg.RetryAfter, time.Second))))
		return
	}
	defer release()
	who, ok := b.identify(req, pre, b.view.DialsEmergency(dialed))
	if !ok {
		return
	}
	if dialed == "" {
		b.s.respond(tx, req, sip.StatusNotFound, "Not Found")
		return
	}
	if who.acct != nil && (dialed == "*8" || (strings.HasPrefix(dialed, "**") && len(dialed) > 2)) {
		release() // a pickup answers at once or not at all: nothing to queue
		b.pickup(req, tx, who.acct, dialed)
		return
	}
	c, err := b.newCall(req, tx, who, dialed)
	if err != nil {
		b.s.log.Debug("call refused", "err", err)
		b.s.respond(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	c.setupDone = release
	c.run()
}

// dialedOf is what a caller dialed, from an INVITE's Request-URI: the
// user part of a sip: or sips: URI or the number of a tel: URI (RFC
// 3966), without parameters (111;phone-context=+64) and without a
// trailing # after a number (the en-bloc sending key some phones add), so
// that every spelling of 111 is the emergency number.
func dialedOf(u *sip.Uri) string {
	s := u.User
	switch u.Scheme {
	case "sip", "sips":
	case "tel":
		s = u.Raw()
	default:
		return ""
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	if v, err := url.PathUnescape(s); err == nil {
		s = v
	}
	if n, ok := strings.CutSuffix(s, "#"); ok && n != "" && n != "+" && strings.Trim(strings.TrimPrefix(n, "+"), "0123456789") == "" {
		s = n
	}
	return s
}

// onCancel answers a CANCEL that matches no INVITE: sipgo's transaction
// layer has already answered (200, then 487) the ones that do, and the
// call sees the cancellation through its dialog's context.
func (b *b2bua) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

// call is one call through xc5: the caller's INVITE, the rings the engine
// asks for, and once answered the bridge between the caller and the
// answering end.
type call struct {
	b       *b2bua
	id      string // the caller's Call-ID
	req     *sip.Request
	tx      sip.ServerTransaction
	dlg     *sipgo.DialogServerSession // xc5 as UAS toward the caller
	caller  *end
	who     caller
	dialed  string
	started time.Time
	ctx     context.Context // done when the caller cancels (or its INVITE dies unanswered)
	decided chan struct{}   // closed when the engine has decided
	// setupDone gives the call's set-up slot back once its first ring
	// starts (see Config.MaxCallSetups).
	setupDone func()
	log       *slog.Logger

	mu          sync.Mutex
	provisional bool // a 180/183 was relayed to the caller
	other       *end // the answering end, once answered
	answeredAt  time.Time
	ended       bool
	media       string   // what needed media ("menu"), "" if nothing
	counted     []string // account GUIDs this call counts as active
	legSeq      int      // blast legs counted so far (countLeg)
	legsUp      []func() // releases the counts of answered blast legs
	awaiting    map[*end]*ackWait
	reinviting  bool
	trace       routing.Trace
	lastFail    *sip.Response // the last final failure of a leg
	finished    bool
	unreachable error       // the store could not answer the set-up (see storeDown)
	rang        bool        // a leg was sent
	limit       *time.Timer // ends the call after MaxCallDuration
}

// ackWait is a 2xx that xc5 relayed to end `from` and that from's ACK
// completes: the ACK is passed on to `to` (nil when the 2xx was xc5's own).
type ackWait struct {
	cseq uint32
	to   *end
	done chan struct{}
}

func (b *b2bua) newCall(req *sip.Request, tx sip.ServerTransaction, who caller, dialed string) (*call, error) {
	dlg, err := b.dialogUA(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		return nil, err
	}
	tag, _ := dlg.InviteRequest.To().Params.Get("tag")
	id := req.CallID().Value()
	c := &call{b: b, id: id, req: req, tx: tx, dlg: dlg, who: who, dialed: dialed, started: b.s.cfg.Now(),
		ctx: dlg.Context(), decided: make(chan struct{}), awaiting: map[*end]*ackWait{},
		log: b.s.log.With("call", id)}
	c.caller = &end{call: c, uas: dlg, key: dialogKey(id, tag), name: who.name(), acct: who.acct, trunk: who.trunk != nil}
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	b.register(c.caller)
	if who.acct != nil {
		c.count(who.acct)
	}
	c.log.Debug("call", "from", who.name(), "dialed", dialed)
	return c, nil
}

// run decides the call with the routing engine, in the INVITE's own
// goroutine, and answers the caller when no ring did.
func (c *call) run() {
	d := &driver{c: c}
	tr := c.b.view.Decide(routing.Call{From: c.who.name(), Dialed: c.dialed, At: c.b.s.cfg.Now(), Presents: c.who.offers,
		External: c.who.acct == nil}, d)
	c.mu.Lock()
	c.trace = tr
	answered := c.other != nil
	c.mu.Unlock()
	close(c.decided)
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		for _, st := range tr.Steps {
			c.log.Debug("routing", "kind", st.Kind, "account", st.Account, "text", st.Text)
		}
	}
	if answered {
		return // bridged by a ring; the call ends with a BYE
	}
	o := tr.Outcome
	outcome, code, reason := o.Outcome, 0, ""
	switch {
	case c.ctx.Err() != nil:
		c.finish("cancelled", sip.StatusRequestTerminated)
		return
	case c.mediaNeeded() != "" || needsMedia(o.Outcome):
		if m := c.mediaNeeded(); m != "" && !needsMedia(o.Outcome) {
			outcome = m
		}
		code, reason = sip.StatusServiceUnavailable, mediaReason
	case o.Outcome == routing.Dropped:
		code, reason = o.Code, o.Reason
	case o.Outcome == routing.Busy:
		code, reason = sip.StatusBusyHere, "Busy Here"
	case o.Outcome == routing.External:
		// The engine sends the call over a carrier without ringing: a
		// plain external dial or a forward to an external number.
		c.mu.Lock()
		c.lastFail = nil
		c.mu.Unlock()
		res := d.Ring(routing.Ring{Targets: []routing.Target{{External: o.Number}}, Seconds: c.b.s.cfg.ExternalRingSeconds, Emergency: o.Emergency})
		if c.isAnswered() {
			return
		}
		switch {
		case c.ctx.Err() != nil:
			c.finish("cancelled", sip.StatusRequestTerminated)
			return
		case res.Status == routing.RingNoPhones:
			code, reason, outcome = sip.StatusServiceUnavailable, "No Carrier Available", "failed"
		case c.failure() != nil:
			f := c.failure()
			code, reason, outcome = f.StatusCode, f.Reason, "failed"
			if res.Status == routing.RingBusy {
				outcome = routing.Busy
			}
		case res.Status == routing.RingBusy:
			code, reason, outcome = sip.StatusBusyHere, "Busy Here", routing.Busy
		default:
			code, reason, outcome = sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", routing.Unanswered
		}
	case o.Outcome == routing.Answered:
		// The engine saw an answer that the bridge did not keep (the
		// caller went away while it was being answered).
		c.finish("failed", sip.StatusRequestTerminated)
		return
	default:
		code, reason = sip.StatusTemporarilyUnavailable, "Temporarily Unavailable"
	}
	if code < 300 || code > 699 {
		code = sip.StatusInternalServerError
	}
	var hdrs []sip.Header
	if err := c.storeFailure(); err != nil {
		// The store could not say where the call goes: 503 with a
		// Retry-After, so that a carrier tries another route or node,
		// rather than busy, voicemail or "not registered".
		code, reason, outcome = sip.StatusServiceUnavailable, "Service Unavailable", "failed"
		hdrs = append(hdrs, storeRetryHeader())
	}
	// Straight to the transaction, which retransmits the answer until
	// the ACK comes: the call itself is over now, whatever the caller's
	// ACK does.
	res := sip.NewResponseFromRequest(c.dlg.InviteRequest, code, reason, nil)
	res.AppendHeader(sip.NewHeader("Server", c.b.s.cfg.Name))
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := c.tx.Respond(res); err != nil && c.ctx.Err() != nil {
		c.finish("cancelled", sip.StatusRequestTerminated)
		return
	}
	c.finish(outcome, code)
}

// needsMedia reports the engine outcomes that only a media service can
// carry out.
func needsMedia(outcome string) bool {
	switch outcome {
	case routing.Email, routing.Voicemail, routing.Conference, routing.RecordPrompt:
		return true
	}
	return false
}

func (c *call) mediaNeeded() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.media
}

func (c *call) isAnswered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.other != nil
}

func (c *call) failure() *sip.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastFail
}

// count counts the call as active for an account and for each of its
// ancestors that holds a concurrent_limit, which bounds the calls of its
// whole subtree; once per call and account, as the shared count does.
func (c *call) count(a *routing.Account) {
	for _, x := range c.b.view.Chain(a) {
		if x == a || x.ConcurrentLimit > 0 {
			c.countFor(x.GUID)
		}
	}
}

func (c *call) countFor(guid string) {
	if c.own(guid) > 0 {
		return
	}
	c.mu.Lock()
	c.counted = append(c.counted, guid)
	c.mu.Unlock()
	c.b.mu.Lock()
	c.b.active[guid]++
	shared := c.b.shared
	c.b.mu.Unlock()
	if shared != nil {
		expires := c.b.s.cfg.Now().Add(c.b.s.cfg.MaxCallDuration)
		ctx, cancel := context.WithTimeout(c.b.s.ctx, c.b.s.cfg.RequestTimeout)
		err := waitStore(ctx, func() error { return shared.AddActiveCall(ctx, c.id, guid, expires) })
		cancel()
		if err != nil {
			// The row may still be written: finish deletes it anyway.
			c.log.Warn("shared call count", "err", err)
		}
	}
}

// own is how many times this call is counted for an account (0 or 1), so
// that a call does not find its own caller at the limit.
func (c *call) own(guid string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, g := range c.counted {
		if g == guid {
			n++
		}
	}
	return n
}

// atLimit reports whether the account, or an ancestor, has as many calls
// set up in its subtree besides this one as its concurrent_limit; 0 is
// no limit. A limit on a company thus binds every account the company
// creates, whatever their own limits. When the shared count cannot be
// read (the database is away) the call is taken as at its limit and
// marked for a 503 (storeDown): neither letting it through nor holding
// it is right.
func (b *b2bua) atLimit(a *routing.Account, c *call) bool {
	for _, x := range b.view.Chain(a) {
		if x.ConcurrentLimit <= 0 {
			continue
		}
		if n, ok := b.activeBesides(x.GUID, c); !ok || n >= x.ConcurrentLimit {
			return true
		}
	}
	return false
}

// activeBesides counts an account's calls in progress other than c: on
// every node when the count is shared, else on this one. ok is false
// when the shared count could not be read.
func (b *b2bua) activeBesides(guid string, c *call) (n int, ok bool) {
	own := c.own(guid)
	b.mu.Lock()
	n = b.active[guid] - own
	shared := b.shared
	b.mu.Unlock()
	if shared != nil {
		// The shared count has one row per call and account.
		ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
		all, err := shared.ActiveCalls(ctx, guid, b.s.cfg.Now())
		cancel()
		switch {
		case err == nil:
			n = all - own
		case unavailable(err) || ctx.Err() != nil:
			c.storeDown(err)
			return 0, false
		}
	}
	return n, true
}

// relayProvisional passes the first 180/183 of any leg to the caller, with
// its SDP (early media flows end to end like the rest).
func (c *call) relayProvisional(res *sip.Response) {
	c.mu.Lock()
	if c.provisional || c.other != nil || c.ended {
		c.mu.Unlock()
		return
	}
	c.provisional = true
	c.mu.Unlock()
	var hdrs []sip.Header
	if ct := res.ContentType(); ct != nil && len(res.Body()) > 0 {
		hdrs = append(hdrs, sip.NewHeader("Content-Type", ct.Value()))
	}
	var body []byte
	if len(res.Body()) > 0 {
		body = res.Body()
	}
	if err := c.dlg.Respond(res.StatusCode, res.Reason, body, hdrs...); err != nil {
		c.log.Debug("relaying provisional failed", "err", err)
	}
}

// claim makes win the answering end of the call, unless the call ended
// or was answered meanwhile: from then on the call counts for win's account
// and win's dialog is known, so that its requests find the call.
func (c *call) claim(win *end) bool {
	c.mu.Lock()
	if c.ended || c.other != nil {
		c.mu.Unlock()
		return false
	}
	c.other = win
	c.answeredAt = c.b.s.cfg.Now()
	w := &ackWait{cseq: c.req.CSeq().SeqNo, done: make(chan struct{})}
	if win.uac != nil {
		w.to = win
	}
	c.awaiting[c.caller] = w
	c.mu.Unlock()
	c.b.register(win)
	if win.acct != nil {
		c.count(win.acct)
	}
	c.log.Debug("answered", "by", win.name)
	return true
}

// answer bridges the caller to the end claim made the winner: 200 with the
// winner's SDP (xc5 carries signalling only; media flows between the two
// ends). It returns once the caller has acknowledged, and false when the
// caller is gone, in which case the call has been hung up.
func (c *call) answer(body []byte, ctype string) bool {
	res := sip.NewResponseFromRequest(c.dlg.InviteRequest, sip.StatusOK, "OK", body)
	if ctype != "" && len(body) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", ctype))
	}
	res.AppendHeader(sip.NewHeader("Server", c.b.s.cfg.Name))
	if err := c.dlg.WriteResponse(res); err != nil {
		c.log.Debug("the caller did not take the answer", "err", err)
		c.hangup(nil)
		return false
	}
	c.mu.Lock()
	if !c.ended {
		c.limit = time.AfterFunc(c.b.s.cfg.MaxCallDuration, func() {
			c.log.Info("call hung up after MaxCallDuration", "max", c.b.s.cfg.MaxCallDuration)
			c.hangup(nil)
		})
	}
	c.mu.Unlock()
	return true
}

// hangup ends an answered call: BYE to every end but the one that hung
// up (from), then the records.
func (c *call) hangup(from *end) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	ends := []*end{c.caller, c.other}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, e := range ends {
		if e == nil || e == from {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.bye(ctx); err != nil {
				c.log.Debug("BYE failed", "to", e.name, "err", err)
			}
		}()
	}
	wg.Wait()
	outcome := routing.Answered
	if c.other != nil && c.other.trunk {
		outcome = routing.External
	}
	c.finish(outcome, sip.StatusOK)
}

// finish ends the call's bookkeeping once: the dialogs are forgotten, the
// active counts released and the call detail records written.
func (c *call) finish(outcome string, code int) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished, c.ended = true, true
	if c.limit != nil {
		c.limit.Stop()
	}
	counted := c.counted
	ends := []*end{c.caller, c.other}
	answeredAt, other := c.answeredAt, c.other
	c.mu.Unlock()
	ended := c.b.s.cfg.Now()
	b := c.b
	b.mu.Lock()
	for _, g := range counted {
		if b.active[g]--; b.active[g] <= 0 {
			delete(b.active, g)
		}
	}
	for _, e := range ends {
		if e != nil && b.dialogs[e.key] == e {
			delete(b.dialogs, e.key)
		}
	}
	shared := b.shared
	b.mu.Unlock()
	c.releaseLegs()
	if shared != nil && len(counted) > 0 {
		ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
		if err := waitStore(ctx, func() error { return shared.RemoveActiveCall(ctx, c.id) }); err != nil {
			c.log.Warn("shared call count: deleting the call's row later", "err", err)
			b.removals.add(b.s.ctx, shared, c.id)
		}
		cancel()
	}
	// Counted as ended only once every node's count has let it go, so that
	// "no calls in progress" means no node still counts this one.
	b.mu.Lock()
	b.calls--
	b.mu.Unlock()
	if other != nil && other.cancel != nil {
		other.cancel()
	}
	c.log.Debug("call ended", "outcome", outcome, "code", code)
	go c.writeCDRs(outcome, code, answeredAt, ended, other)
}

// writeCDRs writes the call's records: direction out on the caller's
// account, in on the account that answered (or, unanswered, the first
// account the call was delivered to).
func (c *call) writeCDRs(outcome string, code int, answeredAt, ended time.Time, other *end) {
	select {
	case <-c.decided:
	case <-time.After(time.Minute):
	}
	c.mu.Lock()
	tr := c.trace
	c.mu.Unlock()
	vals := map[string]any{
		"from": c.who.name(), "to": c.dialed, "started": rfc3339(c.started), "ended": rfc3339(ended),
		"outcome": outcome, "code": int64(code), "call_id": c.id, "duration": int64(0), "answered": "", "answered_by": "",
		"withheld": c.who.trunk != nil && c.who.private, // shown as anonymous below system level (api/partition.go)
	}
	if !answeredAt.IsZero() && other != nil {
		vals["answered"] = rfc3339(answeredAt)
		vals["answered_by"] = other.name
		if d := ended.Sub(answeredAt); d > 0 {
			vals["duration"] = int64((d + time.Second - 1) / time.Second)
		}
	}
	write := func(guid, direction string) {
		v := make(map[string]any, len(vals)+1)
		for k, x := range vals {
			v[k] = x
		}
		v["direction"] = direction
		c.b.cdrs.add(guid, v)
	}
	if c.who.acct != nil {
		write(c.who.acct.GUID, "out")
	}
	var in *routing.Account
	switch {
	case other != nil && other.acct != nil:
		in = other.acct
	default:
		for _, st := range tr.Steps {
			if st.Kind == "deliver" && st.Account != "" {
				in = c.b.view.Account(st.Account)
				break
			}
		}
	}
	if in != nil {
		write(in.GUID, "in")
	}
}

func rfc3339(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// ---- ends of a call ----

// end is one side of a call: the caller or a picker (xc5 answered them,
// uas) or a phone or carrier leg (xc5 called them, uac).
type end struct {
	call   *call
	uas    *sipgo.DialogServerSession
	uac    *sipgo.DialogClientSession
	key    string           // dialog key: Call-ID and xc5's tag
	name   string           // username, or the external number
	acct   *routing.Account // the on-net account; nil over a carrier
	trunk  bool
	cancel context.CancelFunc // releases a leg's context
}

// dialogKey names a dialog by its Call-ID and xc5's own tag, which the
// other side's in-dialog requests carry in their To header.
func dialogKey(callID, tag string) string { return callID + "\x00" + tag }

func requestKey(req *sip.Request) string {
	cid, to := req.CallID(), req.To()
	if cid == nil || to == nil {
		return ""
	}
	tag, _ := to.Params.Get("tag")
	return dialogKey(cid.Value(), tag)
}

func (b *b2bua) register(e *end) {
	b.mu.Lock()
	b.dialogs[e.key] = e
	b.mu.Unlock()
}

func (b *b2bua) lookup(req *sip.Request) *end {
	k := requestKey(req)
	if k == "" {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dialogs[k]
}

// target is where requests in the end's dialog go: its Contact.
func (e *end) target() sip.Uri {
	if e.uas != nil {
		if ct := e.uas.InviteRequest.Contact(); ct != nil {
			return *ct.Address.Clone()
		}
		return e.uas.InviteRequest.Recipient
	}
	if res := e.uac.InviteResponse; res != nil {
		if ct := res.Contact(); ct != nil {
			return *ct.Address.Clone()
		}
	}
	return e.uac.InviteRequest.Recipient
}

// request sends a request in the end's dialog.
func (e *end) request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	if e.uas != nil {
		return e.uas.TransactionRequest(ctx, req)
	}
	return e.uac.TransactionRequest(ctx, req)
}

// ack acknowledges the end's 2xx, carrying the other side's ACK body (the
// SDP answer of a delayed offer).
func (e *end) ack(ctx context.Context, body []byte, ctype string) error {
	ack := sip.NewRequest(sip.ACK, e.target())
	if len(body) > 0 {
		ack.SetBody(body)
		if ctype != "" {
			ack.AppendHeader(sip.NewHeader("Content-Type", ctype))
		}
	}
	if e.uas != nil {
		return e.uas.WriteRequest(ack)
	}
	return e.uac.WriteAck(ctx, ack)
}

// bye hangs the end up.
func (e *end) bye(ctx context.Context) error {
	if e.uas != nil {
		return e.uas.Bye(ctx)
	}
	if e.uac.LoadState() < sip.DialogStateConfirmed {
		if err := e.uac.Ack(ctx); err != nil {
			return err
		}
	}
	return e.uac.Bye(ctx)
}

// onAck takes an ACK in a call's dialog: it confirms xc5's 2xx and is
// passed on to the end whose 2xx xc5 relayed.
func (b *b2bua) onAck(req *sip.Request, tx sip.ServerTransaction) {
	x := b.lookup(req)
	if x == nil {
		return
	}
	if x.uas != nil {
		x.uas.ReadAck(req, tx)
	}
	c := x.call
	seq := uint32(0)
	if cs := req.CSeq(); cs != nil {
		seq = cs.SeqNo
	}
	c.mu.Lock()
	w := c.awaiting[x]
	if w != nil && w.cseq == seq {
		delete(c.awaiting, x)
	} else {
		w = nil
	}
	c.mu.Unlock()
	if w == nil {
		return
	}
	close(w.done)
	if w.to != nil {
		ctype := ""
		if ct := req.ContentType(); ct != nil {
			ctype = ct.Value()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := w.to.ack(ctx, req.Body(), ctype); err != nil {
			c.log.Debug("passing ACK on failed", "to", w.to.name, "err", err)
		}
	}
}

// onBye takes a BYE in a call's dialog and hangs the other end up.
func (b *b2bua) onBye(req *sip.Request, tx sip.ServerTransaction) {
	x := b.lookup(req)
	if x == nil {
		b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	var err error
	if x.uas != nil {
		err = x.uas.ReadBye(req, tx)
	} else {
		err = x.uac.ReadBye(req, tx)
	}
	if err != nil {
		b.s.respond(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	c := x.call
	if c.isAnswered() {
		c.hangup(x)
	}
	// Before the answer only the caller has a dialog with xc5: its BYE
	// ends the dialog's context, which stops the rings like a CANCEL.
}

// reinvite relays a re-INVITE (hold, resume, codec change) from one end
// of an answered call to the other, SDP included, and the answer back.
func (b *b2bua) reinvite(req *sip.Request, tx sip.ServerTransaction) {
	x := b.lookup(req)
	if x == nil {
		// Anyone can write a To tag: the 481 is sent once, never
		// retransmitted (see statelessTx).
		b.s.respond(statelessTx{tx}, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c := x.call
	c.mu.Lock()
	y := c.other
	if x == c.other {
		y = c.caller
	}
	switch {
	case c.ended:
		c.mu.Unlock()
		b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	case c.other == nil || c.reinviting:
		c.mu.Unlock()
		b.s.respond(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	c.reinviting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reinviting = false
		c.mu.Unlock()
	}()
	var err error
	if x.uas != nil {
		err = x.uas.ReadRequest(req, tx)
	} else {
		err = x.uac.ReadRequest(req, tx)
	}
	if err != nil {
		b.s.respond(tx, req, sip.StatusInternalServerError, "CSeq Out Of Order")
		return
	}
	out := sip.NewRequest(sip.INVITE, y.target())
	if body := req.Body(); len(body) > 0 {
		out.SetBody(body)
		if ct := req.ContentType(); ct != nil {
			out.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
		}
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, sip.Timer_B)
	defer cancel()
	ctr, err := y.request(ctx, out)
	if err != nil {
		b.s.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	defer ctr.Terminate()
	var res *sip.Response
	for res == nil {
		select {
		case r := <-ctr.Responses():
			if !r.IsProvisional() {
				res = r
			}
		case <-ctr.Done():
			b.s.respond(tx, req, sip.StatusRequestTimeout, "Request Timeout")
			return
		case <-ctx.Done():
			b.s.respond(tx, req, sip.StatusRequestTimeout, "Request Timeout")
			return
		}
	}
	relay := sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, nil)
	if body := res.Body(); len(body) > 0 {
		relay.SetBody(body)
		if ct := res.ContentType(); ct != nil {
			relay.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
		}
	}
	if !res.IsSuccess() {
		tx.Respond(relay)
		return
	}
	ct := b.contact(req.Transport())
	relay.AppendHeader(&ct)
	w := &ackWait{cseq: req.CSeq().SeqNo, to: y, done: make(chan struct{})}
	c.mu.Lock()
	c.awaiting[x] = w
	c.mu.Unlock()
	// xc5 is x's UAS here: it sends its 2xx again until x's ACK comes
	// (RFC 3261 §13.3.1.4); the ACK then goes on to y.
	interval := sip.T1
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	for {
		if err := tx.Respond(relay); err != nil {
			return
		}
		select {
		case <-w.done:
			return
		case <-deadline.C:
			c.mu.Lock()
			delete(c.awaiting, x)
			c.mu.Unlock()
			c.log.Info("no ACK for a relayed re-INVITE answer; hanging up")
			c.hangup(nil)
			return
		case <-time.After(interval):
			interval = min(2*interval, sip.T2)
		}
	}
}

// String describes an end for logs.
func (e *end) String() string { return fmt.Sprintf("%s(%s)", e.name, e.key) }
