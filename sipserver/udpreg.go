package sipserver

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/time/rate"
)

// udpRegistrar answers the REGISTERs read from Serve's UDP socket below
// sipgo's transaction layer, as Kamailio answers them (sl_send_reply):
// sipgo's reader would parse each one, make a server transaction with a
// goroutine, and keep request and response for 32 s (Timer J); in a
// registration storm that per-request machinery, and the goroutines'
// stack growth through its frames, took more CPU than the registrar.
// Here the socket's reader (udpConn) hands each REGISTER datagram to a
// pool of long-lived workers, which parse it, match retransmissions
// (udpTxs), run the registrar's shared code (register) and write the
// response straight to the socket. At most a few workers hold a turn at
// the CPU (regGate); the pool grows by the workers waiting for the store,
// so that the store's batches fill as before.
type udpRegistrar struct {
	s      *Server
	conn   *net.UDPConn
	parser *sip.Parser       // the UA's headers
	bare   *sip.Parser       // only what a response needs: the 400 of a request parser refused
	queue  chan *regDatagram // REGISTERs that start a registration
	// answers holds the REGISTERs that carry credentials, served first:
	// each completes a registration whose challenge was already paid for
	// (and frees the phone's place in the storm), where a new one only
	// starts work. Behind one queue, in a storm, the answers waited
	// behind thousands of new REGISTERs, their senders retransmitted, and
	// the count of REGISTERs in progress refused them: every challenge
	// was wasted, and served registrations fell to a quarter.
	answers chan *regDatagram
	refusal *rate.Limiter // the 503s a stale new REGISTER may get; nil: none
	txs     *udpTxs
	pool    sync.Pool // *regDatagram

	idle, live, away atomic.Int32
	active, maxLive  int32 // workers not waiting for the store; all

	mu      sync.Mutex // spawning against stop
	stopped bool
	wg      sync.WaitGroup
}

// regDatagram is one REGISTER datagram on its way through the pool.
type regDatagram struct {
	data    []byte
	answer  bool // carries an Authorization header
	refuse  bool // waited too long: answered 503 (StaleRefusals)
	src     netip.AddrPort
	arrived time.Time // received (the kernel's stamp when known)
	slot    int64     // regWork's
	reply   udpReply
}

// workerIdle is how long a worker waits for work before it leaves.
const workerIdle = 10 * time.Second

func newUDPRegistrar(s *Server, conn *net.UDPConn) *udpRegistrar {
	pending := s.cfg.MaxPendingRegisters
	if pending < 0 {
		pending = 8192
	}
	active := int32(cap(s.regGate) + 2)
	r := &udpRegistrar{s: s, conn: conn,
		parser:  sip.NewParser(sip.WithHeadersParsers(lenientHeaders())),
		bare:    sip.NewParser(sip.WithHeadersParsers(responseHeaders())),
		queue:   make(chan *regDatagram, max(pending, 1024)),
		answers: make(chan *regDatagram, max(pending, 1024)),
		txs:     newUDPTxs(maxUDPTxs), active: active, maxLive: active + int32(pending)}
	if n := s.cfg.StaleRefusals; n > 0 {
		r.refusal = rate.NewLimiter(rate.Limit(n), max(n/10, 1))
	}
	r.pool.New = func() any { return &regDatagram{data: make([]byte, 0, 2048)} }
	return r
}

// responseHeaders are the parsers of the headers a response copies; the
// others are kept unparsed, so that a malformed one can still be answered.
func responseHeaders() map[string]sip.HeaderParser {
	m := map[string]sip.HeaderParser{}
	for k, p := range sip.DefaultHeadersParser() {
		switch k {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "content-length", "l":
			m[k] = p
		}
	}
	return m
}

// take queues a REGISTER datagram read at arrived from src (b is the
// reader's buffer: copied). A full queue drops it, as a full socket
// buffer would; its sender retransmits.
func (r *udpRegistrar) take(b []byte, src netip.AddrPort, arrived time.Time) {
	d := r.pool.Get().(*regDatagram)
	d.data = append(d.data[:0], b...)
	d.src, d.arrived = src, arrived
	d.answer = hasAuthorization(b)
	r.s.registers.Add(1)
	d.slot = r.s.regWork.start()
	q := r.queue
	if d.answer {
		q = r.answers
	}
	select {
	case q <- d:
	default:
		r.s.stale.Add(1)
		r.release(d)
		return
	}
	if r.idle.Load() == 0 {
		r.grow()
	}
}

// release ends a datagram's part in the counts and returns it to the pool.
func (r *udpRegistrar) release(d *regDatagram) {
	r.s.registers.Add(-1)
	r.s.regWork.done(d.slot)
	d.reply, d.refuse = udpReply{}, false
	if cap(d.data) <= 8192 {
		r.pool.Put(d)
	}
}

// grow starts a worker unless enough are at work on the CPU already.
func (r *udpRegistrar) grow() {
	live := r.live.Load()
	if live-r.away.Load() >= r.active || live >= r.maxLive {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.live.Add(1)
	r.wg.Add(1)
	go r.work()
}

// wentAway counts a worker leaving its turn to wait for the store, and
// starts another when REGISTERs are queued with no worker free for them.
func (r *udpRegistrar) wentAway() {
	r.away.Add(1)
	if r.queued() && r.idle.Load() == 0 {
		r.grow()
	}
}

// stop waits for the workers to finish (Close calls it once the socket is
// closed and the server's context cancelled).
func (r *udpRegistrar) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.wg.Wait()
}

// work is one worker: it serves queued REGISTERs until idle for
// workerIdle or the server closes.
func (r *udpRegistrar) work() {
	defer r.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	turn := gateTurn{away: r.wentAway}
	for {
		r.idle.Add(1)
		select { // answers first
		case d := <-r.answers:
			r.idle.Add(-1)
			r.serve(d, &turn)
			idle.Reset(workerIdle)
			continue
		default:
		}
		select {
		case d := <-r.answers:
			r.idle.Add(-1)
			r.serve(d, &turn)
			idle.Reset(workerIdle)
		case d := <-r.queue:
			r.idle.Add(-1)
			r.serve(d, &turn)
			idle.Reset(workerIdle)
		case <-idle.C:
			r.idle.Add(-1)
			r.live.Add(-1)
			if !r.queued() {
				return
			}
			r.live.Add(1) // came meanwhile (take saw this one idle)
			idle.Reset(workerIdle)
		case <-r.s.ctx.Done():
			r.idle.Add(-1)
			r.live.Add(-1)
			return
		}
	}
}

// inWork is how many REGISTERs workers hold (this one included): the
// count MaxPendingRegisters bounds. The queued ones are left out: the
// queues have bounds of their own, by waiting time (stale, and the
// socket's reader) and by size, and a storm that only the CPU cannot keep
// up with is worked off by dropping its oldest new REGISTERs, which costs
// nothing, where refusing each of them 503 cost as much as challenging it
// (the parse and the answer), and took the CPU the registrations needed:
// with 14,000 a second offered on a 2-core machine, counting the queue
// refused 18,000-27,000 of 50,000 and served 4,800-5,600 a second; not
// counting it, none were refused by count and 9,300 a second were served.
// What it counts is the REGISTERs held up by the store, which is where a
// 503 helps (a few of the stale ones get one too: StaleRefusals).
func (r *udpRegistrar) inWork() int64 {
	return r.s.registers.Load() - int64(len(r.queue)+len(r.answers))
}

// queued reports whether REGISTERs wait for a worker.
func (r *udpRegistrar) queued() bool { return len(r.answers) > 0 || len(r.queue) > 0 }

// hasAuthorization reports whether a raw request has an Authorization
// header (the name is case-insensitive and has no compact form), without
// parsing it: the reader sorts REGISTERs with it.
func hasAuthorization(m []byte) bool {
	if end := bytes.Index(m, []byte("\r\n\r\n")); end >= 0 {
		m = m[:end]
	}
	const name = "authorization"
	for {
		i := bytes.IndexByte(m, '\n')
		if i < 0 {
			return false
		}
		m = m[i+1:]
		if len(m) > len(name) && bytes.EqualFold(m[:len(name)], []byte(name)) {
			if rest := bytes.TrimLeft(m[len(name):], " \t"); len(rest) > 0 && rest[0] == ':' {
				return true
			}
		}
	}
}

// serve handles one datagram with a turn at the CPU, which the registrar
// leaves while it waits for the store.
func (r *udpRegistrar) serve(d *regDatagram, turn *gateTurn) {
	defer r.release(d)
	r.s.regGate.enterTurn(turn)
	defer func() {
		if turn.left {
			r.away.Add(-1) // back from the store
		} else {
			turn.left = true
			<-turn.g
		}
	}()
	if r.stale(d) {
		return
	}
	var req *sip.Request
	u := &d.reply
	defer func() {
		if p := recover(); p != nil {
			r.s.log.Error("panic in SIP handler", "panic", p, "method", "REGISTER", "stack", string(debug.Stack()))
			if req != nil && u.r != nil && !u.answered {
				r.s.respond(u, req, sip.StatusInternalServerError, "Server Internal Error")
			}
		}
		if !u.answered && u.tx != nil {
			r.txs.forget(u.tx)
		}
	}()
	if req = r.parse(d); req == nil {
		return
	}
	if !r.begin(d, req) {
		return
	}
	s := r.s
	if s.throttled(req) {
		return // over its address's budget: dropped, as pike does
	}
	s.count.requests[methodSlot(sip.REGISTER)].Add(1)
	switch {
	case req.SipVersion != "SIP/2.0":
		s.respond(u, req, sip.StatusVersionNotSupported, "Version Not Supported")
	case d.refuse || s.overloaded(req, r.inWork()):
		s.refuseRegister(u, req)
	default:
		s.register(req, u, turn, d.arrived)
	}
}

// stale drops, unparsed, a REGISTER that starts a registration and has
// waited longer than MaxQueueWait since it was received, as the socket's
// reader drops one that waited there (udpqueue.go): its sender has
// retransmitted it or is about to, and serving this copy late would only
// keep the queue long. Up to StaleRefusals a second are instead marked to
// be answered 503 with Retry-After, which keeps their phones away for a
// while. Answers to challenges are served first and never dropped here.
func (r *udpRegistrar) stale(d *regDatagram) bool {
	if d.answer || r.s.cfg.MaxQueueWait <= 0 || time.Since(d.arrived) <= r.s.cfg.MaxQueueWait {
		return false
	}
	if r.refusal != nil && r.refusal.Allow() {
		d.refuse = true
		return false
	}
	r.s.stale.Add(1)
	return true
}

// begin matches the request against the transactions: a retransmission
// is absorbed or answered again, and false returned; a new request gets
// its transaction in d.reply.
func (r *udpRegistrar) begin(d *regDatagram, req *sip.Request) bool {
	key, err := sip.ServerTxKeyMake(req)
	if err != nil { // no Via or CSeq: 400 to its source, as sipgo answers it
		r.badRequest(req, d.src)
		return false
	}
	if req.CallID() == nil { // a response must copy it (RFC 3261 8.2.6.2)
		r.badRequest(req, udpDest(req, d.src))
		return false
	}
	// The source, Call-ID and CSeq number too: a UA that wrongly reuses a
	// branch for a new REGISTER (an unregister, say) gets it done rather
	// than the earlier REGISTER's answer; a true retransmission has them
	// all the same.
	key += "|" + req.Source() + "|" + req.CallID().Value() + "|" + strconv.FormatUint(uint64(req.CSeq().SeqNo), 10)
	tx, res, dest := r.txs.begin(key, time.Now())
	if tx == nil {
		if res != nil {
			r.write(res, dest)
		}
		return false
	}
	d.reply = udpReply{r: r, tx: tx, dest: udpDest(req, d.src)}
	return true
}

// parse reads a datagram into a request from its source over UDP. One the
// parser refuses (sipgo drops it unanswered, and its sender retransmits it
// for 32 s) is answered 400 when the headers a response copies parse, and
// dropped otherwise: nil.
func (r *udpRegistrar) parse(d *regDatagram) *sip.Request {
	req, err := parseRequest(r.parser, d.data, d.src)
	if err == nil {
		return req
	}
	bad, err2 := parseRequest(r.bare, d.data, d.src)
	if err2 != nil {
		r.s.log.Debug("unparsable REGISTER over UDP dropped", "source", d.src, "err", err)
		return nil
	}
	r.badRequest(bad, udpDest(bad, d.src))
	return nil
}

// badRequest answers a malformed REGISTER 400, statelessly, unless its
// source is over its budget.
func (r *udpRegistrar) badRequest(req *sip.Request, dest netip.AddrPort) {
	if r.s.throttled(req) {
		return
	}
	r.s.count.requests[methodSlot(sip.REGISTER)].Add(1)
	u := udpReply{r: r, dest: dest}
	r.s.respond(udpStateless{&u}, req, sip.StatusBadRequest, "Bad Request")
}

// parseRequest parses data as a request received from src over UDP.
func parseRequest(p *sip.Parser, data []byte, src netip.AddrPort) (*sip.Request, error) {
	msg, err := p.ParseSIP(data)
	if err != nil {
		return nil, err
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != sip.REGISTER {
		return nil, errors.New("not a REGISTER")
	}
	req.SetTransport("UDP")
	req.SetSource(src.String())
	return req, nil
}

// udpDest is where a response to req, received from src over UDP, goes,
// as sipgo sends it (RFC 3261 18.2.2, RFC 3581): the source address at
// the Via's port (5060 when it has none), or at the source port when the
// Via asks for rport. A value in the request's rport (which RFC 3581 says
// a client must not send) is ignored, as sipgo ignores it.
func udpDest(req *sip.Request, src netip.AddrPort) netip.AddrPort {
	port := 5060
	via := req.Via()
	if via == nil {
		return src
	}
	if via.Port > 0 {
		port = via.Port
	}
	if rport, ok := via.Params.Get("rport"); ok && rport == "" {
		return src
	}
	return netip.AddrPortFrom(src.Addr(), uint16(port))
}

// write sends a response datagram.
func (r *udpRegistrar) write(b []byte, dest netip.AddrPort) error {
	_, err := r.conn.WriteToUDPAddrPort(b, dest)
	return err
}

// udpReply is the responder of a REGISTER over UDP: it writes the
// response to the socket, and keeps a final one for retransmissions.
type udpReply struct {
	r        *udpRegistrar
	tx       *udpTx // nil: answered statelessly
	dest     netip.AddrPort
	answered bool
}

// Respond implements responder.
func (u *udpReply) Respond(res *sip.Response) error { return u.send(res, true) }

// udpStateless answers without keeping a final response (statelessly).
type udpStateless struct{ *udpReply }

func (u udpStateless) Respond(res *sip.Response) error { return u.send(res, false) }

var resBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (u *udpReply) send(res *sip.Response, keep bool) error {
	buf := resBufs.Get().(*bytes.Buffer)
	defer resBufs.Put(buf)
	buf.Reset()
	res.StringWrite(buf)
	if code := res.StatusCode; code >= 100 && code < 700 {
		u.r.s.count.responses[methodSlot(sip.REGISTER)][code-100].Add(1)
	}
	final := !res.IsProvisional()
	if final {
		u.answered = true
	}
	if buf.Len() > sip.UDPMTUSize-200 { // as sipgo: not sent
		if final && u.tx != nil {
			u.r.txs.forget(u.tx)
		}
		return sip.ErrUDPMTUCongestion
	}
	if final && u.tx != nil {
		if keep {
			u.r.txs.complete(u.tx, bytes.Clone(buf.Bytes()), u.dest, time.Now())
		} else {
			u.r.txs.forget(u.tx)
		}
	}
	return u.r.write(buf.Bytes(), u.dest)
}
