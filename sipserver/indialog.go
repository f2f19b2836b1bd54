package sipserver

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// In-dialog requests of modern phones and carriers beyond re-INVITE and
// INFO (dialog.go): UPDATE (RFC 3311) relayed to the other end of an
// answered call, and reliable provisional responses (RFC 3262, 100rel)
// toward a caller that requires them, with its PRACKs.

// onUpdate relays an UPDATE (a session refresh, or a new SDP offer) from
// one end of an answered call to the other, the SDP through the call's
// relay when it is anchored, and the answer back. Before the answer
// there is nobody to relay to: an UPDATE without a body (a refresh) is
// answered 200, one with an offer 500 with Retry-After (RFC 3311 §5.2:
// xc5 cannot take a new offer in an early dialog). An offer while a
// re-INVITE is in progress is 491.
func (b *b2bua) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	x := b.lookup(req)
	if x == nil {
		b.s.respond(statelessTx{tx}, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if err := x.readRequest(req, tx); err != nil {
		b.s.respond(tx, req, sip.StatusInternalServerError, "CSeq Out Of Order")
		return
	}
	c := x.call
	offer := len(req.Body()) > 0
	c.mu.Lock()
	y, ended, busy := c.peerLocked(x), c.ended, c.reinviting && offer
	c.mu.Unlock()
	switch {
	case ended:
		b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	case y == nil && !offer:
		b.s.respond(tx, req, sip.StatusOK, "OK")
		return
	case y == nil:
		b.s.respond(tx, req, sip.StatusInternalServerError, "No Offer Before The Answer", sip.NewHeader("Retry-After", "1"))
		return
	case busy:
		b.s.respond(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	c.sessionRefreshed() // an UPDATE is a session refresh (sessiontimer.go)
	res := b.passOn(req, tx, y, c.rewriteFrom(x, req.Body()))
	if res == nil {
		return
	}
	relay := sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, nil)
	if body := res.Body(); len(body) > 0 {
		if res.IsSuccess() {
			body = c.rewriteFrom(y, body)
		}
		relay.SetBody(body)
		if ct := res.ContentType(); ct != nil {
			relay.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
		}
	}
	if res.IsSuccess() {
		ct := b.contact(req.Transport())
		relay.AppendHeader(&ct)
	}
	relay.AppendHeader(sip.NewHeader("Server", b.s.cfg.Name))
	if err := tx.Respond(relay); err != nil {
		c.log.Debug("relaying the UPDATE's answer failed", "err", err)
	}
}

// reliable is a provisional response sent reliably (100rel) to the
// caller, retransmitted until its PRACK comes.
type reliable struct {
	rseq  uint32
	acked chan struct{}
	once  sync.Once
}

func (r *reliable) ack() { r.once.Do(func() { close(r.acked) }) }

// requires100rel reports an INVITE whose sender requires reliable
// provisional responses. One that only supports them gets ordinary ones.
func requires100rel(req *sip.Request) bool {
	for _, h := range req.GetHeaders("Require") {
		for _, o := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(o), "100rel") {
				return true
			}
		}
	}
	return false
}

// sendProvisional sends the caller a 180/183: reliably, with Require:
// 100rel and an RSeq, retransmitted (T1 doubling, as for a 2xx) until the
// PRACK, the answer or the end of the call, when its INVITE requires it.
func (c *call) sendProvisional(code int, reason string, body []byte, hdrs []sip.Header) error {
	if !requires100rel(c.req) {
		return c.dlg.Respond(code, reason, body, hdrs...)
	}
	r := &reliable{rseq: 1, acked: make(chan struct{})}
	c.mu.Lock()
	c.rel = r
	c.mu.Unlock()
	hdrs = append(hdrs, sip.NewHeader("Require", "100rel"), sip.NewHeader("RSeq", strconv.FormatUint(uint64(r.rseq), 10)))
	if err := c.dlg.Respond(code, reason, body, hdrs...); err != nil {
		return err
	}
	go func() {
		interval := sip.T1
		deadline := time.After(64 * sip.T1)
		for {
			select {
			case <-r.acked:
				return
			case <-c.ctx.Done():
				return
			case <-c.over:
				return
			case <-deadline:
				c.log.Info("no PRACK for a reliable provisional response")
				return
			case <-time.After(interval):
				interval = min(2*interval, sip.T2)
			}
			if c.isAnswered() || c.dlg.Respond(code, reason, body, hdrs...) != nil {
				return
			}
		}
	}()
	return nil
}

// awaitPrack holds the caller's 2xx until the PRACK of a reliable
// provisional response came (RFC 3262 §3: no final response before the
// PRACK of one carrying SDP), for at most a few seconds.
func (c *call) awaitPrack() {
	c.mu.Lock()
	r := c.rel
	c.mu.Unlock()
	if r == nil {
		return
	}
	select {
	case <-r.acked:
	case <-c.ctx.Done():
	case <-time.After(8 * sip.T1):
	}
}

// onPrack takes the caller's PRACK of a reliable provisional response
// (its RAck naming the RSeq and the INVITE's CSeq) and answers 200; a
// PRACK matching none is 481.
func (b *b2bua) onPrack(req *sip.Request, tx sip.ServerTransaction) {
	x := b.lookup(req)
	if x == nil || x.uas == nil || x != x.call.caller {
		b.s.respond(statelessTx{tx}, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c := x.call
	c.mu.Lock()
	r := c.rel
	c.mu.Unlock()
	rack := req.GetHeader("RAck")
	if r == nil || rack == nil || !racks(rack.Value(), r.rseq, c.req.CSeq().SeqNo) {
		b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "No Such Provisional Response")
		return
	}
	x.readRequest(req, tx) // its CSeq, for the dialog's next requests
	r.ack()
	b.s.respond(tx, req, sip.StatusOK, "OK")
}

// racks reports an RAck value ("RSEQ CSEQ INVITE") naming rseq of the
// INVITE with CSeq cseq.
func racks(v string, rseq, cseq uint32) bool {
	f := strings.Fields(v)
	if len(f) != 3 || !strings.EqualFold(f[2], "INVITE") {
		return false
	}
	r, err1 := strconv.ParseUint(f[0], 10, 32)
	s, err2 := strconv.ParseUint(f[1], 10, 32)
	return err1 == nil && err2 == nil && uint32(r) == rseq && uint32(s) == cseq
}
