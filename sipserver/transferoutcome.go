package sipserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/routing"
)

// How a blind transfer ends: the transferor is told by NOTIFYs with a
// message/sipfrag body (RFC 3515 §2.4.5), gets the caller back or leaves
// its dialog, and has its records written.

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
