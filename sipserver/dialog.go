package sipserver

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/routing"
)

// onCancel answers a CANCEL that matches no INVITE: sipgo's transaction
// layer has already answered (200, then 487) the ones that do, and the
// call sees the cancellation through its dialog's context.
func (b *b2bua) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

// end is one side of a call: the caller or a picker (xc5 answered them,
// uas) or a phone or carrier leg (xc5 called them, uac).
type end struct {
	call  *call
	uas   *sipgo.DialogServerSession
	uac   *sipgo.DialogClientSession
	key   string           // dialog key: Call-ID and xc5's tag
	name  string           // username, or the external number
	acct  *routing.Account // the on-net account; nil over a carrier
	trunk bool
	// trunkID is the GUID of the carrier trunk the end is reached over
	// ("" for phones and media nodes): its other addresses may send the
	// end's in-dialog requests too (an SBC cluster).
	trunkID string
	cancel  context.CancelFunc // releases a leg's context
	media   *mediaLeg          // set on a media node's leg
}

// dialogKey names a dialog by its Call-ID and xc5's own tag, which the
// other side's in-dialog requests carry in their To header.
func dialogKey(callID, tag string) string { return callID + "\x00" + tag }

// answeringEnd is the end of acct's phone whose INVITE req xc5 answers in
// dlg to join c in the place of another end (pickup, park retrieval,
// INVITE with Replaces).
func answeringEnd(c *call, dlg *sipgo.DialogServerSession, req *sip.Request, acct *routing.Account) *end {
	tag, _ := dlg.InviteRequest.To().Params.Get("tag")
	return &end{call: c, uas: dlg, key: dialogKey(req.CallID().Value(), tag), name: acct.Username, acct: acct}
}

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

// lookup finds the end whose dialog an in-dialog request (ACK, BYE,
// re-INVITE, UPDATE, INFO, REFER, PRACK) belongs to: nil when none, or
// when the request does not come from that end (see fromEnd). A
// dialog's Call-ID and tags are no secret (a busy lamp's watcher, a
// proxy's log), so they alone must not let anyone hang a call up or
// move its media.
func (b *b2bua) lookup(req *sip.Request) *end {
	k := requestKey(req)
	if k == "" {
		return nil
	}
	b.mu.Lock()
	e := b.dialogs[k]
	b.mu.Unlock()
	if e == nil || !b.fromEnd(e, req) {
		return nil
	}
	return e
}

// fromEnd reports whether req comes from end e: from the address (and
// transport) e's INVITE came from (xc5 its UAS) or e's answers came
// from (xc5 its UAC); for an account's phone, also from any of the
// account's registered bindings (a TCP or TLS phone that reconnected
// and registered again); for a carrier or media node (no account), from
// the same host, any port (their proxies answer and send from several);
// for a carrier, also from any address of its trunk (an SBC cluster may
// send the BYE from another node than the one that sent the INVITE).
func (b *b2bua) fromEnd(e *end, req *sip.Request) bool {
	src, tp := req.Source(), strings.ToLower(req.Transport())
	known := e.sources()
	for _, k := range known {
		if k == src {
			return true
		}
	}
	if e.acct == nil {
		host, _, _ := net.SplitHostPort(src)
		for _, k := range known {
			if h, _, _ := net.SplitHostPort(k); h != "" && h == host {
				return true
			}
		}
		return len(known) == 0 || b.fromTrunkOf(e, src, tp)
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	bs, err := b.s.reg.ContactsOf(ctx, e.acct.GUID, b.s.cfg.Now())
	if err != nil {
		return false
	}
	for _, bnd := range bs {
		if strings.EqualFold(bnd.Source, tp+":"+src) {
			return true
		}
	}
	return false
}

// trunkGUID is t's GUID, or "" for no trunk.
func trunkGUID(t *xc5.Trunk) string {
	if t == nil {
		return ""
	}
	return t.GUID
}

// fromTrunkOf reports whether src is an address of the trunk e is
// reached over, by the rule its INVITEs pass (trunkCache.holdsSource).
// A trunk with inbound_auth is left out: its address proves nothing (its
// INVITEs must answer a challenge), so only the hosts of the call itself
// may send in its dialog.
func (b *b2bua) fromTrunkOf(e *end, src, transport string) bool {
	if e.trunkID == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	return b.trunks.holdsSource(ctx, e.trunkID, src, transport)
}

// sources is where e's requests may come from: the source of its INVITE
// (xc5 its UAS), or of its answers and the INVITE's destination (UAC).
func (e *end) sources() []string {
	var out []string
	if e.uas != nil && e.uas.InviteRequest != nil {
		out = append(out, e.uas.InviteRequest.Source())
	}
	if e.uac != nil {
		if res := e.uac.InviteResponse; res != nil && res.Source() != "" {
			out = append(out, res.Source())
		}
		if req := e.uac.InviteRequest; req != nil && req.Destination() != "" {
			out = append(out, req.Destination())
		}
	}
	return out
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

// readRequest takes an in-dialog request of the end's dialog (its CSeq
// checked by sipgo).
func (e *end) readRequest(req *sip.Request, tx sip.ServerTransaction) error {
	if e.uas != nil {
		return e.uas.ReadRequest(req, tx)
	}
	return e.uac.ReadRequest(req, tx)
}

// peerLocked is the end x's requests are relayed to: the answering end
// for the caller, the caller for the answering end (nil while nobody
// answers). c.mu is held.
func (c *call) peerLocked(x *end) *end {
	if x == c.other {
		return c.caller
	}
	return c.other
}

// bye hangs the end up.
func (e *end) bye(ctx context.Context) error {
	if e.uas != nil {
		if res := e.uas.InviteResponse; res == nil || !res.IsSuccess() {
			// Not answered yet (a picker whose 200 was not sent): no
			// dialog to end, its INVITE is refused instead.
			return e.uas.Respond(sip.StatusTemporarilyUnavailable, "Call No Longer Available", nil)
		}
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
	if x.media != nil {
		x.mediaBye(req) // a media app is done; the call goes on
		return
	}
	c := x.call
	if c.leftCall(x) {
		return // a transferor that left: the call goes on
	}
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
	y := c.peerLocked(x)
	switch {
	case c.ended:
		c.mu.Unlock()
		b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	case x != c.caller && x != c.other && c.other != nil:
		c.mu.Unlock() // a transferor that left
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
	if err := x.readRequest(req, tx); err != nil {
		b.s.respond(tx, req, sip.StatusInternalServerError, "CSeq Out Of Order")
		return
	}
	c.sessionRefreshed() // sessiontimer.go
	if c.holdOrResume(x, y, req, tx) {
		return // hold music (hold.go)
	}
	res := b.passOn(req, tx, y, c.rewriteFrom(x, req.Body()))
	if res == nil {
		return
	}
	relay := sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, nil)
	body := res.Body()
	if res.IsSuccess() {
		body = c.rewriteFrom(y, body)
	}
	if len(body) > 0 {
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
	c.resendUntilAck(tx, relay, x, w)
}

// finalResponse waits for the final response of a request xc5 relayed;
// nil when none came in time.
func finalResponse(ctx context.Context, ctr sip.ClientTransaction) *sip.Response {
	for {
		select {
		case r := <-ctr.Responses():
			if !r.IsProvisional() {
				return r
			}
		case <-ctr.Done():
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// resendUntilAck sends the relayed 2xx of a re-INVITE to x until x's ACK
// completes w: xc5 is x's UAS here, and sends its 2xx again until the ACK
// comes (RFC 3261 §13.3.1.4); the ACK then goes on to w.to. Without an
// ACK the call is hung up.
func (c *call) resendUntilAck(tx sip.ServerTransaction, relay *sip.Response, x *end, w *ackWait) {
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

// onInfo relays an INFO (DTMF as application/dtmf-relay or
// application/dtmf, and whatever else phones exchange) from one end of a
// call to the other, a media node's leg included, and its answer back. An
// INFO while the caller waits between a menu and the phone it rings is
// taken and dropped: nobody is there to hear it.
func (b *b2bua) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	x := b.lookup(req)
	if x == nil {
		b.s.respond(statelessTx{tx}, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if err := x.readRequest(req, tx); err != nil {
		b.s.respond(tx, req, sip.StatusBadRequest, "CSeq Out Of Order")
		return
	}
	c := x.call
	c.mu.Lock()
	y, ended, up := c.peerLocked(x), c.ended, c.callerUp
	c.mu.Unlock()
	switch {
	case ended:
		b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	case y == nil && up:
		b.s.respond(tx, req, sip.StatusOK, "OK")
		return
	case y == nil:
		b.s.respond(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	if res := b.passOn(req, tx, y, req.Body()); res != nil {
		b.s.respond(tx, req, res.StatusCode, res.Reason)
	}
}

// passOn sends req's method, with body (and req's Content-Type), in y's
// dialog and returns y's final answer; nil when there was none, req then
// being answered 503 or 408 here.
func (b *b2bua) passOn(req *sip.Request, tx sip.ServerTransaction, y *end, body []byte) *sip.Response {
	out := sip.NewRequest(req.Method, y.target())
	if len(body) > 0 {
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
		return nil
	}
	defer ctr.Terminate()
	res := finalResponse(ctx, ctr)
	if res == nil {
		b.s.respond(tx, req, sip.StatusRequestTimeout, "Request Timeout")
	}
	return res
}
