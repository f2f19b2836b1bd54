package sipserver

import (
	"context"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/media/relay"
	"xc5/routing"
)

// Attended transfer (REFER with Replaces, RFC 3891 and RFC 5589 §7): the
// transferor (T) has two calls through xc5, one with the transferee and
// one with the target it consulted, and joins them: the REFER, sent in
// either call's dialog, names the other call's dialog in the Refer-To's
// Replaces. xc5 keeps the call in which T is the answering end (its
// caller stays as it is), moves the other call's remaining party into it
// in T's place (one re-INVITE pointing it at the kept call's relay), and
// ends the other call and T's two dialogs. When T placed both calls
// itself (no call keeps a caller) the REFER is refused: xc5 keeps a
// call's caller dialog, not its answering one.

// joining is an attended transfer being worked out.
type joining struct {
	keep  *call
	tKeep *end // T's end in keep
	donor *call
	tDon  *end // T's end in donor
	mover *end // donor's other party, which moves into keep
	swap  bool // T is keep's caller: keep's answering end becomes its caller
}

// attended carries out a REFER with Replaces from x, an end of c.
func (b *b2bua) attended(c *call, x *end, replaces string, req *sip.Request, tx sip.ServerTransaction) {
	r := b.replaced(replaces)
	if r == nil || r.call == c || r.media != nil || x.acct == nil || r.acct == nil || r.acct.GUID != x.acct.GUID {
		b.s.respond(tx, req, sip.StatusForbidden, "Replaced Dialog Not Found")
		return
	}
	if b.semiAttended(c, x, r, req, tx) {
		return
	}
	j, ok := newJoining(c, x, r.call, r)
	if !ok {
		b.s.respond(tx, req, sip.StatusForbidden, "Transfer Not Allowed Now")
		return
	}
	if code, reason := j.keep.mayMove(j.tKeep); code != 0 {
		b.s.respond(tx, req, code, reason)
		return
	}
	defer j.keep.moveDone()
	t := &transfer{c: c, x: x, target: j.mover.name, req: req, tx: tx}
	ct := b.contact(req.Transport())
	b.s.respond(tx, req, sip.StatusAccepted, "Accepted", &ct)
	t.notifyTrying()
	if err := j.join(); err != nil {
		c.log.Warn("attended transfer failed", "err", err)
		t.notify(sip.StatusServiceUnavailable, "Service Unavailable", true)
		return
	}
	t.notify(sip.StatusOK, "OK", true)
	j.keep.transferorCDR(j.tKeep, "transferred")
	go j.keep.dropGone(j.tKeep)
}

// replaced finds the end of the dialog a Replaces value names
// ("call-id;to-tag=…;from-tag=…"): xc5's own tag is one of the two,
// which depends on who placed the call.
func (b *b2bua) replaced(v string) *end {
	parts := strings.Split(v, ";")
	cid := strings.TrimSpace(parts[0])
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range parts[1:] {
		k, tag, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || (!strings.EqualFold(k, "to-tag") && !strings.EqualFold(k, "from-tag")) {
			continue
		}
		if e := b.dialogs[dialogKey(cid, tag)]; e != nil {
			return e
		}
	}
	return nil
}

// swapKeep makes the kept call's other party its caller when T placed
// it (T then stands as its answering end, which the join replaces), and
// anchors the kept call's media.
func (j *joining) swapKeep() error {
	keep := j.keep
	if !j.swap {
		return keep.anchorNow(keep.caller)
	}
	keep.mu.Lock()
	y := keep.other
	keep.mu.Unlock()
	if y == nil || y.media != nil {
		return errCallOver
	}
	ref := keep.sdpKnown(y)
	keep.mu.Lock()
	if keep.ended || keep.other != y || keep.caller != j.tKeep {
		keep.mu.Unlock()
		return errCallOver
	}
	keep.swapCaller(y)
	keep.other = j.tKeep
	keep.mu.Unlock()
	if _, err := keep.ensureAnchor(); err != nil {
		return err
	}
	return keep.connect(y, ref)
}

// newJoining decides which of the two calls is kept: the one T answered.
func newJoining(c *call, x *end, o *call, r *end) (*joining, bool) {
	c.mu.Lock()
	xOther := c.other == x
	c.mu.Unlock()
	o.mu.Lock()
	rOther := o.other == r
	o.mu.Unlock()
	var j *joining
	switch {
	case xOther:
		j = &joining{keep: c, tKeep: x, donor: o, tDon: r}
	case rOther:
		j = &joining{keep: o, tKeep: r, donor: c, tDon: x}
	default:
		// T placed both calls: x's call is kept, its answering end
		// becoming its kept party (swapCaller).
		j = &joining{keep: c, tKeep: x, donor: o, tDon: r, swap: true}
	}
	j.donor.mu.Lock()
	j.mover = j.donor.peerLocked(j.tDon)
	j.donor.mu.Unlock()
	return j, j.mover != nil && j.mover.media == nil
}

// join moves the donor's remaining party into the kept call in T's
// place and ends the donor call and T's dialogs.
func (j *joining) join() error {
	keep, donor := j.keep, j.donor
	if err := j.swapKeep(); err != nil {
		return err
	}
	ref := donor.sdpKnown(j.mover)
	// The donor call ends now, without a BYE to the mover: a BYE from T
	// in it (phones hang up both calls) no longer reaches anyone.
	donor.mu.Lock()
	if donor.ended {
		donor.mu.Unlock()
		return errCallOver
	}
	donor.ended = true
	if donor.other == j.mover {
		donor.other = nil
	}
	donor.mu.Unlock()
	m := &end{call: keep, uas: j.mover.uas, uac: j.mover.uac, key: j.mover.key, name: j.mover.name,
		acct: j.mover.acct, trunk: j.mover.trunk, trunkID: j.mover.trunkID, cancel: j.mover.cancel}
	keep.mu.Lock()
	if keep.ended || keep.other != j.tKeep {
		keep.mu.Unlock()
		return errCallOver
	}
	keep.other = m
	keep.answeredBy = m.name
	keep.moves.moved = true
	keep.moves.gone = append(keep.moves.gone, j.tKeep)
	keep.mu.Unlock()
	keep.b.register(m)
	if m.acct != nil {
		keep.count(m.acct)
	}
	keep.release(j.tKeep)
	keep.event(j.tKeep.name + " transferred the call to " + m.name + " (attended)")
	err := keep.connect(m, ref)
	keep.stopMusic()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		donor.b.forget(j.tDon)
		j.tDon.bye(ctx)
		donor.finish(routing.Answered, sip.StatusOK)
	}()
	return err
}

// inviteReplaces takes an INVITE with Replaces (RFC 3891) from a phone of
// acct: it takes the place of the answering end of the call the Replaces
// header names (a transferor's consulted target completing the
// transfer, or a colleague taking over a call), which is hung up. Only a
// phone of the same company may, and only the answering end is replaced
// (xc5 keeps the caller's dialog).
func (b *b2bua) inviteReplaces(req *sip.Request, tx sip.ServerTransaction, acct *routing.Account, v string) {
	r := b.replaced(v)
	if r == nil {
		b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if r.acct == nil || !b.view.SameCompany(acct, r.acct) {
		b.s.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return
	}
	c := r.call
	if b.atLimit(acct, c) {
		// Taking a call over is a call of acct like any other.
		b.s.respond(tx, req, sip.StatusBusyHere, "Busy Here")
		return
	}
	if code, reason := c.mayMove(r); code != 0 {
		b.s.respond(tx, req, code, reason)
		return
	}
	defer c.moveDone()
	if _, err := relay.SDPAddr(req.Body()); err != nil {
		b.s.respond(tx, req, sip.StatusNotAcceptableHere, "No SDP Offer")
		return
	}
	if err := c.anchorNow(c.caller); err != nil {
		c.log.Warn("INVITE with Replaces: cannot anchor the caller's media", "err", err)
		b.s.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	dlg, err := b.dialogUA(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		b.s.respond(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	n := answeringEnd(c, dlg, req, acct)
	c.mu.Lock()
	if c.ended || c.other != r {
		c.mu.Unlock()
		b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c.other, c.answeredBy = n, n.name
	c.moves.gone = append(c.moves.gone, r)
	c.moves.moved = true
	c.mu.Unlock()
	c.event(n.name + " replaced " + r.name)
	if !c.welcome(n, req, dlg.WriteResponse) {
		return
	}
	c.release(r)
	c.transferorCDR(r, "replaced")
	go c.dropGone(r)
}

// semiAttended carries out a REFER with Replaces naming a consultation
// that still rings (T placed it and completes the transfer before the
// target answers; RFC 5589 §7.3): the consultation is cancelled and the
// call is blind transferred to what T dialed in it. False when r's call
// is not such a consultation.
func (b *b2bua) semiAttended(c *call, x *end, r *end, req *sip.Request, tx sip.ServerTransaction) bool {
	o := r.call
	o.mu.Lock()
	ringing := o.caller == r && o.other == nil && !o.callerUp && !o.ended
	o.mu.Unlock()
	if !ringing {
		return false
	}
	if code, reason := c.mayMove(x); code != 0 {
		b.s.respond(tx, req, code, reason)
		return true
	}
	defer c.moveDone()
	t := &transfer{c: c, x: x, target: o.dialed, req: req, tx: tx}
	// Once the REFER is accepted (a refused one changes nothing), T's
	// INVITE of the consultation ends (487): its rings stop and the
	// target rings again for the transferred call.
	t.onStart = func() {
		go func() {
			if err := o.dlg.Respond(sip.StatusRequestTerminated, "Request Terminated", nil); err != nil {
				o.log.Debug("semi-attended transfer: ending the consultation", "err", err)
			}
		}()
	}
	t.run()
	return true
}
