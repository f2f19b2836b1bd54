package sipserver

import (
	"context"
	"errors"
	"fmt"
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

// bridged reports that the caller now talks to a new party.
func (t *transfer) bridged() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.other != nil && c.other != t.x && !c.ended
}

// succeeded tells the transferor (final NOTIFY 200), writes its record of
// the call and hangs it up if it has not yet.
func (t *transfer) succeeded() {
	t.c.stopMusic() // a held caller heard it while the target rang
	t.notify(sip.StatusOK, "OK", true)
	t.c.transferorCDR(t.x, "transferred")
	go t.c.dropGone(t.x)
}

// failed tells the transferor; it has the caller back if it is still
// there, else the caller hears goodbye and is hung up.
func (t *transfer) failed(code int, reason string) {
	c := t.c
	t.notify(code, reason, true)
	c.stopMusic()
	if c.rejoin(t.x) {
		if err := c.connect(t.x, c.sdpKnown(t.x)); err == nil {
			return
		}
	}
	if !c.isEnded() && c.ctx.Err() == nil {
		c.afterMenu(&driver{c: c}, routing.Outcome{Outcome: routing.Unanswered})
		return
	}
	c.hangup(nil)
}

// rejoin makes x, a transferor that left, the call's answering end again
// if it is still there and nobody else took its place.
func (c *call) rejoin(x *end) bool {
	c.mu.Lock()
	i := indexOf(c.moves.gone, x)
	if i < 0 || c.other != nil || c.ended {
		c.mu.Unlock()
		return false
	}
	c.moves.gone = append(c.moves.gone[:i], c.moves.gone[i+1:]...)
	c.other = x
	c.mu.Unlock()
	if x.acct != nil {
		c.count(x.acct) // it counts again, as it did before it left
	}
	return true
}

func indexOf(es []*end, x *end) int {
	for i, e := range es {
		if e == x {
			return i
		}
	}
	return -1
}

// notifyTrying sends the first NOTIFY (100 Trying) without waiting for
// it: a transferor that vanished must not hold the transfer up. The final
// NOTIFY waits for it, so that the two arrive in order.
func (t *transfer) notifyTrying() {
	t.tried = make(chan struct{})
	go func() {
		defer close(t.tried)
		t.notify(sip.StatusTrying, "Trying", false)
	}()
}

// notify sends the transferor a NOTIFY of the refer event package with
// the transfer's progress as a SIP status line (RFC 3515 §2.4.5).
func (t *transfer) notify(code int, reason string, final bool) {
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
		if t.tried != nil {
			<-t.tried
		}
	}
	req := sip.NewRequest(sip.NOTIFY, t.x.target())
	req.AppendHeader(sip.NewHeader("Event", fmt.Sprintf("refer;id=%d", t.req.CSeq().SeqNo)))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)))
	ctx, cancel := context.WithTimeout(t.c.b.s.ctx, 5*time.Second)
	defer cancel()
	ctr, err := t.x.request(ctx, req)
	if err != nil {
		t.c.log.Debug("NOTIFY to the transferor failed", "err", err)
		return
	}
	defer ctr.Terminate()
	finalResponse(ctx, ctr)
}

// leftCall takes the BYE of a party that left the call (a transferor):
// it ends only its own dialog. False for the call's parties.
func (c *call) leftCall(x *end) bool {
	c.mu.Lock()
	i := indexOf(c.moves.gone, x)
	if i >= 0 {
		c.moves.gone = append(c.moves.gone[:i], c.moves.gone[i+1:]...)
	}
	c.mu.Unlock()
	if i < 0 {
		return false
	}
	c.b.forget(x)
	return true
}

// dropGone hangs up a transferor that has not hung up itself.
func (c *call) dropGone(x *end) {
	if !c.leftCall(x) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := x.bye(ctx); err != nil {
		c.log.Debug("BYE to the transferor failed", "err", err)
	}
}

// forget drops an end's dialog from the table of dialogs.
func (b *b2bua) forget(e *end) {
	b.mu.Lock()
	if b.dialogs[e.key] == e {
		delete(b.dialogs, e.key)
	}
	b.mu.Unlock()
}

// endMoves is the end of a call for its transfers and holds: transferors
// still in their dialogs and the hold music are hung up.
func (c *call) endMoves() {
	c.mu.Lock()
	gone := append([]*end(nil), c.moves.gone...)
	c.mu.Unlock()
	c.stopMusic()
	c.unpark()
	for _, x := range gone {
		go c.dropGone(x)
	}
}

// transferorCDR writes the record of the part of the call the transferor
// had: in on its account, from answer to transfer.
func (c *call) transferorCDR(x *end, outcome string) {
	if x.acct == nil {
		return
	}
	now := c.b.s.cfg.Now()
	c.mu.Lock()
	answeredAt, events := c.answeredAt, strings.Join(c.moves.events, "; ")
	c.mu.Unlock()
	direction := "in"
	if x.uas == c.dlg {
		direction = "out" // the call's own caller passed it on
	}
	vals := map[string]any{
		"direction": direction, "from": c.who.name(), "to": c.dialed, "started": rfc3339(c.started), "ended": rfc3339(now),
		"outcome": outcome, "code": int64(sip.StatusOK), "call_id": c.id, "answered": rfc3339(answeredAt),
		"answered_by": x.name, "duration": int64(0), "withheld": c.who.trunk != nil && c.who.private,
		"transfers": events,
	}
	if d := now.Sub(answeredAt); d > 0 && !answeredAt.IsZero() {
		vals["duration"] = int64((d + time.Second - 1) / time.Second)
	}
	c.b.cdrs.add(x.acct.GUID, vals)
}

// paidCDR writes the out record of a transfer's carrier leg on the
// transferor's account: from the transferor to the number it asked for,
// from the transfer to the end of the call.
func (c *call) paidCDR(p *payment, outcome string, code int, ended time.Time, by, events string) {
	vals := map[string]any{
		"direction": "out", "from": p.name, "to": p.to, "started": rfc3339(p.started), "ended": rfc3339(ended),
		"outcome": outcome, "code": int64(code), "call_id": c.id, "answered": rfc3339(p.answered),
		"answered_by": by, "duration": int64(0), "withheld": false, "recorded": false, "transfers": events,
	}
	if d := ended.Sub(p.answered); d > 0 {
		vals["duration"] = int64((d + time.Second - 1) / time.Second)
	}
	c.b.cdrs.add(p.acct.GUID, vals)
}
