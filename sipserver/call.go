package sipserver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/media/relay"
	"xc5/routing"
)

// mediaReason is the reason phrase of the 503 that destinations needing
// media get until xc5 has a media service: a clear refusal rather than a
// call that rings forever.
const mediaReason = "Media services not available yet"

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
	unreachable error         // the store could not answer the set-up (see storeDown)
	rang        bool          // a leg was sent
	limit       *time.Timer   // ends the call after MaxCallDuration
	over        chan struct{} // closed when the call has finished

	// Media. anchor relays the call's RTP through xc5 (anchor.go);
	// callerUp is set once xc5 has answered the caller, with answerSDP,
	// and stays set while the other end changes (a menu, then a phone).
	anchor    *relay.Session
	callerUp  bool
	answerSDP []byte
	recordTo  []string // addresses the answered call's recording is mailed to
	recordBy  string   // the account that answered a recorded call
	// answeredBy names what answered the caller last (a username, a
	// number, or a media app such as voicemail) and mediaOutcome the
	// outcome a media node carried out, for the call's records.
	answeredBy   string
	mediaOutcome string
	g711         bool // offer only G.711 (the relay records it)
	// moves are the call's transfers, holds and parks (transfer.go).
	moves moveState

	rel     *reliable     // the caller's reliable 18x (indialog.go)
	session *sessionTimer // the caller's session timer (sessiontimer.go)
	// calleeSession is the answering end's session timer.
	calleeSession *sessionTimer
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
		ctx: dlg.Context(), decided: make(chan struct{}), over: make(chan struct{}), awaiting: map[*end]*ackWait{},
		log: b.s.log.With("call", id)}
	c.caller = &end{call: c, uas: dlg, key: dialogKey(id, tag), name: who.name(), acct: who.acct, trunk: who.trunk != nil, trunkID: trunkGUID(who.trunk)}
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	b.s.count.started.Add(1)
	b.register(c.caller)
	if who.acct != nil {
		c.count(who.acct)
		b.cdrs.event(who.acct.GUID, xc5.EventCallStarted, c.eventInfo("out", time.Time{}, ""))
	}
	c.lampCalling()
	c.log.Debug("call", "from", who.name(), "dialed", dialed)
	return c, nil
}

// run decides the call with the routing engine, in the INVITE's own
// goroutine, and answers the caller when no ring did.
func (c *call) run() {
	d := &driver{c: c}
	o, answered, up := c.decide(d)
	if answered {
		return // bridged by a ring; the call ends with a BYE
	}
	// A walk the store failed ends in 503 with Retry-After (below), not
	// in voicemail: a carrier then tries another route or node.
	if c.ctx.Err() == nil && c.storeFailure() == nil && c.carryOutMedia(o) {
		return
	}
	if up {
		c.afterMenu(d, o)
		return
	}
	outcome, code, reason, done := c.unanswered(d, o)
	if done {
		return
	}
	c.refuse(outcome, code, reason)
}

// decide walks the routing engine for the call and keeps its trace. It
// reports whether the call was answered meanwhile (bridged by a ring, or
// taken on by a transfer or park) and whether the caller is up (answered
// by a media node).
func (c *call) decide(d *driver) (o routing.Outcome, answered, up bool) {
	tr := c.b.view.Decide(routing.Call{From: c.who.name(), Dialed: c.dialed, At: c.b.s.cfg.Now(), Presents: c.who.offers,
		External: c.who.acct == nil}, d)
	c.mu.Lock()
	c.trace = tr
	// A transfer or park may have taken the answering end away meanwhile:
	// the call is then its to carry on (transfer.go).
	answered = c.other != nil || c.moves.moved
	up = c.callerUp
	c.mu.Unlock()
	close(c.decided)
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		for _, st := range tr.Steps {
			c.log.Debug("routing", "kind", st.Kind, "account", st.Account, "text", st.Text)
		}
	}
	return tr.Outcome, answered, up
}

// unanswered carries out an outcome that did not answer the caller and
// returns the final status to refuse the call with; done reports a call
// already answered, bridged or finished on the way.
func (c *call) unanswered(d *driver, o routing.Outcome) (outcome string, code int, reason string, done bool) {
	outcome = o.Outcome
	switch {
	case c.ctx.Err() != nil:
		c.finish("cancelled", sip.StatusRequestTerminated)
		return "", 0, "", true
	case c.mediaNeeded() != "" || needsMedia(o.Outcome):
		if m := c.mediaNeeded(); m != "" && !needsMedia(o.Outcome) {
			outcome = m
		}
		code, reason = outcomeStatus(outcome)
		if len(c.req.Body()) == 0 && len(c.b.s.cfg.Media) > 0 {
			// A delayed offer: the media nodes need the caller's SDP in
			// its INVITE (docs/media.md). Not "try another route".
			code, reason = sip.StatusNotAcceptableHere, "No SDP Offer For Media"
		}
	case o.Outcome == routing.Setting: // a feature code (featurecodes.go)
		if code, reason = c.carryOutSetting(o); code == 0 {
			return "", 0, "", true
		}
	case o.Outcome == routing.Dropped:
		code, reason = o.Code, o.Reason
	case o.Outcome == routing.External:
		if outcome, code, reason, done = c.ringExternal(d, o, nil); done {
			return "", 0, "", true
		}
	case o.Outcome == routing.Answered:
		// The engine saw an answer that the bridge did not keep (the
		// caller went away while it was being answered).
		c.finish("failed", sip.StatusRequestTerminated)
		return "", 0, "", true
	default:
		code, reason = outcomeStatus(o.Outcome)
	}
	if code < 300 || code > 699 {
		code = sip.StatusInternalServerError
	}
	return outcome, code, reason, false
}

// refuse answers the caller with a final failure status and finishes the
// call.
func (c *call) refuse(outcome string, code int, reason string) {
	var hdrs []sip.Header
	if err := c.storeFailure(); err != nil {
		// The store could not say where the call goes: 503 with a
		// Retry-After, so that a carrier tries another route or node,
		// rather than busy, voicemail or "not registered".
		code, reason = errorStatus(xc5.EUNAVAILABLE)
		outcome = "failed"
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

// ringExternal carries out an external outcome: the engine sends the call
// over a carrier without ringing (a plain external dial or a forward to
// an external number). done reports a call that needs no answer from run:
// answered (bridged), or cancelled (finished). payer, when set, is the
// account the carrier leg is placed for (a transferor): it counts against
// its concurrent_limit as a call of its own.
func (c *call) ringExternal(d *driver, o routing.Outcome, payer *routing.Account) (outcome string, code int, reason string, done bool) {
	c.mu.Lock()
	c.lastFail = nil
	c.mu.Unlock()
	res := d.Ring(routing.Ring{Account: payer, Targets: []routing.Target{{External: o.Number}}, Seconds: c.b.s.cfg.ExternalRingSeconds, Emergency: o.Emergency})
	if c.isBridged() {
		return "", 0, "", true
	}
	switch {
	case c.ctx.Err() != nil:
		c.finish("cancelled", sip.StatusRequestTerminated)
		return "", 0, "", true
	case res.Status == routing.RingNoPhones:
		code, reason, outcome = sip.StatusServiceUnavailable, "No Carrier Available", "failed"
	case c.failure() != nil:
		f := c.failure()
		code, reason, outcome = f.StatusCode, f.Reason, "failed"
		if res.Status == routing.RingBusy {
			outcome = routing.Busy
		}
	case res.Status == routing.RingBusy:
		outcome = routing.Busy
		code, reason = outcomeStatus(outcome)
	default:
		outcome = routing.Unanswered
		code, reason = outcomeStatus(outcome)
	}
	return outcome, code, reason, false
}

// needsMedia reports the engine outcomes that only a media service can
// carry out.
func needsMedia(outcome string) bool {
	switch outcome {
	case routing.Email, routing.Voicemail, routing.Conference, routing.RecordPrompt, routing.Mailbox:
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
	return c.other != nil || c.callerUp
}

func (c *call) failure() *sip.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastFail
}
