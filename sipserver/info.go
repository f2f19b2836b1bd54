package sipserver

import (
	"context"

	"github.com/emiago/sipgo/sip"
)

// onInfo relays an INFO in a call's dialog to the other end, so that keys
// sent by SIP INFO (application/dtmf-relay, application/dtmf) reach the
// media node while a menu, voicemail or prompt recording runs, and the
// other phone once the call is bridged. The other end's final answer is
// relayed back.
func (b *b2bua) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	x := b.lookup(req)
	if x == nil {
		b.s.respond(statelessTx{tx}, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c := x.call
	c.mu.Lock()
	y := c.other
	if x == c.other {
		y = c.caller
	}
	ended := c.ended
	c.mu.Unlock()
	if ended || y == nil {
		b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
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
	out := sip.NewRequest(sip.INFO, y.target())
	if body := req.Body(); len(body) > 0 {
		out.SetBody(body)
		if ct := req.ContentType(); ct != nil {
			out.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
		}
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, sip.Timer_F)
	defer cancel()
	ctr, err := y.request(ctx, out)
	if err != nil {
		b.s.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	defer ctr.Terminate()
	res := finalResponse(ctx, ctr)
	if res == nil {
		b.s.respond(tx, req, sip.StatusRequestTimeout, "Request Timeout")
		return
	}
	tx.Respond(sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, nil))
}
