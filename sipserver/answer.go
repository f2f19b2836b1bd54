package sipserver

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// How a call is answered: the first provisional passed to the caller, the
// answering end claimed, and the 200 to the caller.

// relayProvisional passes the first 180/183 of any leg to the caller, with
// its SDP (early media flows end to end like the rest).
func (c *call) relayProvisional(res *sip.Response) {
	c.mu.Lock()
	if c.provisional || c.other != nil || c.callerUp || c.ended {
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
	body = c.answered(body) // anchored: early media through xc5 too
	if err := c.sendProvisional(res.StatusCode, res.Reason, body, hdrs); err != nil {
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
	if c.answeredAt.IsZero() {
		c.answeredAt = c.b.s.cfg.Now()
		c.b.s.count.answered.Add(1)
	}
	c.answeredBy = win.name
	if !c.callerUp {
		w := &ackWait{cseq: c.req.CSeq().SeqNo, done: make(chan struct{})}
		if win.uac != nil {
			w.to = win
		}
		c.awaiting[c.caller] = w
	}
	c.mu.Unlock()
	c.b.register(win)
	if win.acct != nil {
		c.count(win.acct)
	}
	c.answeredEvents(win)
	c.lampAnswered(win)
	c.log.Debug("answered", "by", win.name)
	return true
}

// answer bridges the caller to the end claim made the winner: 200 with the
// winner's SDP (xc5 carries signalling only; media flows between the two
// ends). It returns once the caller has acknowledged, and false when the
// caller is gone, in which case the call has been hung up.
func (c *call) answer(body []byte, ctype string) bool {
	c.awaitPrack() // indialog.go
	c.mu.Lock()
	c.callerUp, c.answerSDP = true, body
	c.mu.Unlock()
	res := sip.NewResponseFromRequest(c.dlg.InviteRequest, sip.StatusOK, "OK", body)
	c.sessionHeaders(res) // sessiontimer.go
	if ctype != "" && len(body) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", ctype))
	}
	res.AppendHeader(sip.NewHeader("Server", c.b.s.cfg.Name))
	if err := c.dlg.WriteResponse(res); err != nil {
		// Also what sipgo says when the caller's BYE comes before its
		// ACK: the call was answered, and is over.
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
	c.startSession()
	c.lampAnswered(nil) // answered by a media node: the caller's line is busy
	return true
}
