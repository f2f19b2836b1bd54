package sipserver

import (
	"github.com/emiago/sipgo/sip"

	"xc5/routing"
)

// picker is a phone that dialed a pickup code: its INVITE becomes the
// answering end of the ringing call it picks.
type picker struct {
	end    *end
	body   []byte // the picker's SDP offer
	ctype  string
	accept chan bool // the ring took the pickup (true) or was already decided
	reply  []byte    // the picker's SDP answer: the caller's offer, or xc5's relay side 1
}

// pickup carries out the feature codes *8 (group pickup: any call ringing
// in the caller's pickup group) and **EXT (directed pickup: the call
// ringing at extension EXT of the caller's organisation). The routing
// engine would refuse them as unknown feature codes, so they are handled
// here, before it is asked.
func (b *b2bua) pickup(req *sip.Request, tx sip.ServerTransaction, acct *routing.Account, code string) {
	group := b.view.PickupGroup(acct)
	var target *routing.Account
	if code != "*8" {
		if target = b.view.Extension(acct, code[2:]); target == nil {
			b.s.respond(tx, req, sip.StatusNotFound, "Unknown Extension")
			return
		}
	}
	if group == "" {
		b.s.respond(tx, req, sip.StatusForbidden, "Not In A Pickup Group")
		return
	}
	rg := b.findRinging(acct, group, target)
	if rg == nil {
		b.s.respond(tx, req, sip.StatusNotFound, "No Call To Pick Up")
		return
	}
	dlg, err := b.dialogUA(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		b.s.respond(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	c := rg.call
	p := &picker{
		end:    answeringEnd(c, dlg, req, acct),
		body:   req.Body(),
		accept: make(chan bool, 1),
	}
	if ct := req.ContentType(); ct != nil {
		p.ctype = ct.Value()
	}
	gone := func() {
		res := sip.NewResponseFromRequest(dlg.InviteRequest, sip.StatusTemporarilyUnavailable, "Call No Longer Ringing", nil)
		tx.Respond(res)
	}
	select {
	case rg.pick <- p:
	case <-rg.done:
		gone()
		return
	case <-dlg.Context().Done():
		return
	}
	if !<-p.accept {
		gone()
		return
	}

	// The picker gets the caller's SDP, the caller the picker's: media
	// flows between the two.
	res := sip.NewResponseFromRequest(dlg.InviteRequest, sip.StatusOK, "OK", p.reply)
	if ct := c.req.ContentType(); ct != nil && len(c.req.Body()) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
	}
	res.AppendHeader(sip.NewHeader("Server", b.s.cfg.Name))
	if err := dlg.WriteResponse(res); err != nil {
		c.log.Debug("the picker did not take the call", "err", err)
		c.hangup(nil)
	}
}

// findRinging finds the oldest ring, not of the picker's own call, that
// alerts an account of the pickup group (target only, when given) in the
// picker's company: pickup_group names are chosen freely by each company,
// so another company's group of the same name is never reached.
func (b *b2bua) findRinging(picker *routing.Account, group string, target *routing.Account) *ringing {
	b.mu.Lock()
	rings := make([]*ringing, 0, len(b.ringing))
	for rg := range b.ringing {
		rings = append(rings, rg)
	}
	b.mu.Unlock()
	var best *ringing
	for _, rg := range rings {
		if a := rg.call.who.acct; a != nil && a.GUID == picker.GUID {
			continue
		}
		for _, a := range rg.accounts {
			if target != nil && a.GUID != target.GUID || !b.view.SameCompany(picker, a) {
				continue
			}
			if b.view.PickupGroup(a) == group {
				if best == nil || rg.started.Before(best.started) {
					best = rg
				}
				break
			}
		}
	}
	return best
}

// pickedUp prepares the media of a pickup that the ring accepted: the
// picker is answered with the caller's offer, or, when the call is (or,
// the picker recording its calls, now becomes) anchored, with xc5's relay
// side 1, the picker's own SDP then facing it. The recording starts.
func (c *call) pickedUp(p *picker) {
	if len(routing.RecordsTo(p.end.acct)) > 0 && len(p.body) > 0 {
		if _, err := c.ensureAnchor(); err != nil {
			c.log.Warn("cannot anchor a recorded pickup", "err", err)
		}
	}
	p.reply = c.offer()
	c.facing(p.end.uas.InviteRequest.Source())
	c.startRecording(p.end.acct)
}
