package sipserver

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/dialplan"
	"xc5/routing"
)

// Blind transfer (REFER, RFC 3515, as RFC 5589 §6 describes it): the
// answering phone of a call (the transferor) asks xc5 to pass the caller
// on to a target. xc5 keeps the caller's dialog, walks the routing engine
// as if the transferor had dialed the target from its own account (its
// callrules, so that a transfer never gets round a block; the target's
// routing: hunts, voicemail, menus), and bridges the caller to whoever
// answers through the relay. The transferor leaves the call at once and is
// told how it went by NOTIFYs with a message/sipfrag body. A target its
// callrules refuse is refused on the REFER itself (403) before anything
// changes: the transferor still has the caller.

// moveState is what a call keeps of the transfers, holds and parks done to
// it (under call.mu).
type moveState struct {
	sdpVersion int    // added to the o= version of xc5's own re-INVITEs
	busy       bool   // a transfer or park is being carried out
	moved      bool   // one was: the call's run no longer decides its end
	gone       []*end // transferors that left the call and may still BYE
	held       *end   // the party that put the other on hold
	music      *end   // the media leg playing hold music to the other
	park       parkState
	events     []string
	paid       *payment // a transfer out to a carrier, on the transferor's account
}

// payment is a blind transfer's carrier leg, which the transferor pays for
// as if it had dialed the number itself: an out record on its account.
type payment struct {
	acct     *routing.Account
	name     string    // the transferor
	to       string    // the number as it was asked for
	before   string    // who the caller reached before the transfer
	started  time.Time // when the transfer began
	answered time.Time
}

// event notes a transfer, park or retrieval for the call's records.
func (c *call) event(text string) {
	c.mu.Lock()
	c.moves.events = append(c.moves.events, rfc3339(c.b.s.cfg.Now())+" "+text)
	c.mu.Unlock()
}

// transfer is one REFER being carried out.
type transfer struct {
	c       *call
	x       *end   // the transferor
	target  string // what it asked for, as dialed
	req     *sip.Request
	tx      sip.ServerTransaction
	started bool          // the REFER was accepted and x left the call
	at      time.Time     // when it was accepted
	before  string        // who the caller had reached then
	onStart func()        // run once the REFER is accepted
	ok      bool          // the caller's media is anchored: the target can be bridged
	quiet   bool          // a park, which notes its own event
	tried   chan struct{} // closed once the 100 Trying NOTIFY is done
}

// onRefer takes a REFER in a call's dialog.
func (b *b2bua) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	x := b.lookup(req)
	if x == nil {
		b.s.respond(statelessTx{tx}, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if !b.fromTransferor(x, req, tx) {
		return
	}
	if err := x.readRequest(req, tx); err != nil {
		b.s.respond(tx, req, sip.StatusBadRequest, "CSeq Out Of Order")
		return
	}
	target, replaces, err := referTarget(req)
	if err != nil {
		b.s.respond(tx, req, sip.StatusBadRequest, err.Error())
		return
	}
	c := x.call
	if replaces != "" {
		b.attended(c, x, replaces, req, tx)
		return
	}
	if code, reason := c.mayMove(x); code != 0 {
		b.s.respond(tx, req, code, reason)
		return
	}
	defer c.moveDone()
	t := &transfer{c: c, x: x, target: target, req: req, tx: tx}
	if b.view.EarlyRewrite(x.acct, target) == ParkCode {
		t.park() // park.go
		return
	}
	t.run()
}

// fromTransferor checks that a REFER in x's dialog comes from x: from
// the address x's phone used for the call, or with digest credentials of
// x's account. A dialog's Call-ID and tags are seen by anything on the
// path; they alone must not move a call on x's account and callrules.
// False when req has been answered (407 challenge, 403).
func (b *b2bua) fromTransferor(x *end, req *sip.Request, tx sip.ServerTransaction) bool {
	if src := x.source(); src != "" && req.Source() == src {
		return true
	}
	if x.acct == nil {
		b.s.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return false
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	creds, ok := b.s.authenticate(ctx, req, tx, true)
	if !ok {
		return false
	}
	if creds.GUID != x.acct.GUID && creds.Username != x.acct.Username {
		b.s.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return false
	}
	return true
}

// referTarget reads a REFER's Refer-To: what to dial (the user part of a
// sip: URI, or a tel: number) and the Replaces of an attended transfer.
func referTarget(req *sip.Request) (target, replaces string, err error) {
	h := req.GetHeader("Refer-To")
	if h == nil {
		return "", "", errors.New("Missing Refer-To")
	}
	var u sip.Uri
	params := sip.NewParams()
	if _, err := sip.ParseAddressValue(h.Value(), &u, &params); err != nil {
		return "", "", errors.New("Bad Refer-To")
	}
	if u.Headers != nil {
		for _, kv := range u.Headers {
			if strings.EqualFold(kv.K, "Replaces") {
				if replaces, err = url.QueryUnescape(kv.V); err != nil {
					return "", "", errors.New("Bad Replaces")
				}
			}
		}
	}
	target = dialedOf(&u)
	if target == "" && replaces == "" {
		return "", "", errors.New("Bad Refer-To")
	}
	return target, replaces, nil
}

// mayMove checks that x, an end of c, may transfer or park the call now,
// and marks a move as being carried out; 0 when it may.
func (c *call) mayMove(x *end) (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ended:
		return sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist"
	case x.media != nil || x.acct == nil:
		return sip.StatusForbidden, "Transfer Not Allowed"
	case x != c.other && (x != c.caller || c.other == nil || c.other.media != nil):
		return sip.StatusForbidden, "Transfer Not Allowed Now"
	case c.moves.busy:
		return sip.StatusRequestPending, "Request Pending"
	}
	c.moves.busy = true // moved is set once the move is carried out
	return 0, ""
}

func (c *call) moveDone() {
	c.mu.Lock()
	c.moves.busy = false
	c.mu.Unlock()
}

// xferDriver is the engine's driver for a transfer's walk: the REFER is
// accepted (and the transferor leaves) when the walk first rings or plays
// a menu; a walk that ends before, dropped by a callrule, refuses it.
type xferDriver struct {
	driver
	t *transfer
}

func (d *xferDriver) Ring(r routing.Ring) routing.RingResult {
	if !d.t.start() {
		return routing.RingResult{Status: routing.RingNoPhones}
	}
	return d.driver.Ring(r)
}

func (d *xferDriver) Menu(n int, prompt string, dm dialplan.DigitMap) string {
	if !d.t.start() {
		return ""
	}
	return d.driver.Menu(n, prompt, dm)
}

// run walks the transfer's target and carries the outcome out.
func (t *transfer) run() {
	c := t.c
	d := &xferDriver{driver: driver{c: c}, t: t}
	tr := c.b.view.Decide(routing.Call{From: t.x.acct.Username, Dialed: t.target, At: c.b.s.cfg.Now()}, d)
	o := tr.Outcome
	if !t.started {
		if o.Outcome != routing.External && !needsMedia(o.Outcome) {
			// Refused before anything rang: the call goes on as it was.
			reason := "Transfer Refused"
			if o.Outcome == routing.Dropped && o.Reason != "" {
				reason = "Transfer Refused: " + o.Reason
			}
			c.log.Info("transfer refused", "by", t.x.name, "target", t.target, "outcome", o.Outcome)
			c.b.s.respond(t.tx, t.req, sip.StatusForbidden, reason)
			return
		}
		if !t.start() {
			return
		}
	}
	if !t.ok {
		return
	}
	if t.bridged() {
		t.succeeded()
		return
	}
	if c.ctx.Err() != nil || c.isEnded() {
		t.notify(sip.StatusRequestTerminated, "Request Terminated", true)
		return
	}
	if _, ok := c.mediaRequestFor(o); ok {
		t.succeeded() // voicemail, a mailbox…: the target's own answer
		c.carryOutMedia(o)
		return
	}
	code, reason := outcomeStatus(o.Outcome)
	if o.Outcome == routing.External {
		var done bool
		_, code, reason, done = c.ringExternal(&d.driver, o, t.x.acct)
		if done && t.bridged() {
			c.mu.Lock()
			c.moves.paid = &payment{acct: t.x.acct, name: t.x.name, to: t.target, before: t.before,
				started: t.at, answered: c.b.s.cfg.Now()}
			c.mu.Unlock()
			t.succeeded()
			return
		}
	} else if o.Outcome == routing.Dropped {
		code, reason = o.Code, o.Reason
	}
	if code < 300 || code > 699 {
		code, reason = sip.StatusTemporarilyUnavailable, "Temporarily Unavailable"
	}
	t.failed(code, reason)
}

// start accepts the REFER: the transferor leaves the call (first, so that
// a BYE right after the 202 does not end it), hears 202 and a 100 Trying
// NOTIFY, and the caller's media is anchored for the target. False when
// the transfer cannot go on; the transferor then has the call back.
func (t *transfer) start() bool {
	if t.started {
		return t.ok
	}
	t.started = true
	c := t.c
	t.at = c.b.s.cfg.Now()
	c.mu.Lock()
	t.before = c.answeredBy
	byCaller := t.x == c.caller && c.other != nil
	if c.ended || (c.other != t.x && !byCaller) {
		c.mu.Unlock()
		c.b.s.respond(t.tx, t.req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return false
	}
	var y *end
	var ref []byte
	if byCaller {
		y = c.other
		c.mu.Unlock()
		ref = c.sdpKnown(y) // what y knows of the caller, before y becomes it
		c.mu.Lock()
		c.swapCaller(y)
	}
	c.other = nil
	c.moves.moved = true // the call's run no longer decides its end
	c.moves.gone = append(c.moves.gone, t.x)
	c.mu.Unlock()
	c.release(t.x) // the call no longer counts against t.x's concurrent_limit
	ct := c.b.contact(t.req.Transport())
	c.b.s.respond(t.tx, t.req, sip.StatusAccepted, "Accepted", &ct)
	t.notifyTrying()
	if t.onStart != nil {
		t.onStart()
	}
	var err error
	if byCaller {
		// y now faces side 0 of the relay, where the caller was.
		if _, err = c.ensureAnchor(); err == nil {
			err = c.connect(y, ref)
		}
	} else {
		err = c.anchorNow(c.caller)
	}
	if err != nil {
		c.log.Warn("transfer: cannot anchor the caller's media", "err", err)
		c.rejoin(t.x)
		t.notify(sip.StatusServiceUnavailable, "Service Unavailable", true)
		return false
	}
	c.musicWhileRinging(t.x.acct)
	if !t.quiet {
		c.event(t.x.name + " transferred the call to " + t.target)
	}
	c.log.Debug("transfer", "by", t.x.name, "to", t.target)
	t.ok = true
	return true
}

// musicWhileRinging gives the caller hold music while a transfer's target
// rings (or a park is set up), when a media node is there and none plays
// yet: the answer (or a menu) takes the relay's side 1 over, and the music
// stops once the transfer is decided.
func (c *call) musicWhileRinging(owner *routing.Account) {
	if len(c.b.s.cfg.Media) == 0 {
		return
	}
	c.mu.Lock()
	playing := c.moves.music != nil
	c.mu.Unlock()
	if playing {
		return
	}
	_, side1 := c.sideOf(c.caller)
	m, err := c.playMusic(side1, c.negotiated(c.caller), owner)
	if err != nil {
		c.log.Debug("no music while the transfer rings", "err", err)
		return
	}
	c.mu.Lock()
	if c.moves.music == nil && !c.ended {
		c.moves.music, m = m, nil
	}
	c.mu.Unlock()
	if m != nil {
		c.b.forget(m)
		go m.bye(context.Background())
	}
}

// swapCaller makes y, the answering end of a call whose caller transfers
// it, the call's caller: the party xc5 keeps and passes on. The call
// keeps its original INVITE and identity (records, presentation); its
// context is now y's dialog's, which ends the rings if y hangs up.
// c.mu is held.
func (c *call) swapCaller(y *end) {
	c.caller = y
	if y.uac != nil {
		c.ctx = y.uac.Context()
	} else {
		c.ctx = y.uas.Context()
	}
}
