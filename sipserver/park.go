package sipserver

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/media"
	"xc5/media/relay"
	"xc5/routing"
)

// Call park, as FreePBX's park-and-announce and Kazoo's valet park do it:
// a blind transfer to *70 parks the call in the first free slot of the
// transferor's company, *701 to *709. The caller hears the hold music;
// the parker hears the slot said ("seven zero one") before xc5 hangs it
// up. Any phone of the company dialing the slot's code (*701; 14701
// through the document's 14 early rule) takes the call. Unretrieved
// after Config.ParkTimeout it rings the parker's phones back; unanswered
// then, the caller hears goodbye. Slots are per node: a retrieval must
// reach the node the call is parked on.

// ParkCode parks a call when a phone transfers it there.
const ParkCode = "*70"

// parkSlots is how many slots a company has: *701 … *709.
const parkSlots = 9

// isParkSlot reports a slot's code: *701 … *709.
func isParkSlot(code string) bool {
	return len(code) == 4 && strings.HasPrefix(code, ParkCode) && code[3] >= '1' && code[3] <= '9'
}

// parkLot is the node's parked calls, by company and slot.
type parkLot struct {
	mu    sync.Mutex
	calls map[string]*call // company GUID + "\x00" + slot code
}

// put parks c in company's first free slot and returns its code.
func (p *parkLot) put(company string, c *call) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == nil {
		p.calls = map[string]*call{}
	}
	for i := 1; i <= parkSlots; i++ {
		code := ParkCode + strconv.Itoa(i)
		if k := company + "\x00" + code; p.calls[k] == nil {
			p.calls[k] = c
			return code, true
		}
	}
	return "", false
}

// peek is the call parked in a slot, left there.
func (p *parkLot) peek(company, code string) *call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[company+"\x00"+code]
}

// take empties a slot and returns its call; only if it holds c, when c
// is given.
func (p *parkLot) take(company, code string, c *call) *call {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := company + "\x00" + code
	got := p.calls[k]
	if got == nil || (c != nil && got != c) {
		return nil
	}
	delete(p.calls, k)
	return got
}

// parkState is where a parked call waits (in moveState).
type parkState struct {
	code    string
	company string
	parker  *routing.Account
	timer   *time.Timer
}

// park carries out a transfer to ParkCode.
func (t *transfer) park() {
	c, x := t.c, t.x
	b := c.b
	company := b.view.Company(x.acct)
	if company == nil {
		b.s.respond(t.tx, t.req, sip.StatusForbidden, "Not In A Company")
		return
	}
	code, ok := b.parks.put(company.GUID, c)
	if !ok {
		b.s.respond(t.tx, t.req, sip.StatusBusyHere, "No Free Parking Slot")
		return
	}
	t.quiet = true
	if !t.start() {
		b.parks.take(company.GUID, code, c)
		return
	}
	c.mu.Lock()
	music := c.moves.music // the parker held the caller first: the music plays on
	c.moves.held = nil
	c.mu.Unlock()
	if music == nil {
		_, side1 := c.sideOf(c.caller)
		m, err := c.playMusic(side1, c.negotiated(c.caller), x.acct)
		if err != nil {
			c.log.Warn("park: no hold music", "err", err)
			b.parks.take(company.GUID, code, c)
			t.failed(sip.StatusServiceUnavailable, "Service Unavailable")
			return
		}
		c.mu.Lock()
		if c.moves.music == nil {
			c.moves.music, m = m, nil
		}
		c.mu.Unlock()
		if m != nil { // music of its own started meanwhile
			c.b.forget(m)
			go m.bye(context.Background())
		}
	}
	c.mu.Lock()
	c.moves.park = parkState{code: code, company: company.GUID, parker: x.acct,
		timer: time.AfterFunc(b.s.cfg.ParkTimeout, c.parkExpired)}
	ended := c.ended
	c.mu.Unlock()
	if ended {
		// The caller hung up while the music was set up: the call's end
		// (endMoves) may have missed the slot and the music.
		c.unpark()
		c.stopMusic()
		t.notify(sip.StatusRequestTerminated, "Request Terminated", true)
		go c.dropGone(x)
		return
	}
	c.event(x.name + " parked the call in " + code)
	c.log.Debug("parked", "by", x.name, "slot", code)
	t.announce(code)
	t.notify(sip.StatusOK, "Parked "+code, true)
	c.transferorCDR(x, "parked")
	go c.dropGone(x)
}

// announce says the slot to the parker: a media node's play app, the
// parker's phone re-INVITEd to it (media straight between the two).
func (t *transfer) announce(code string) {
	c, x := t.c, t.x
	e, err := c.inviteNode(media.Request{App: media.AppPlay, Say: strings.TrimPrefix(code, "*")}, c.negotiated(x), "media:announce")
	if err != nil {
		c.log.Warn("park: slot not announced", "err", err)
		return
	}
	defer func() {
		c.b.forget(e)
		e.cancel()
	}()
	if _, err := c.reoffer(x, e.uac.InviteResponse.Body()); err != nil {
		c.log.Debug("park: the parker did not take the announcement", "err", err)
	} else {
		select {
		case <-e.media.done:
			return // the node hung up: the slot was said
		case <-c.over:
		case <-time.After(15 * time.Second):
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e.bye(ctx)
}

// unpark empties the call's slot, if it is still parked; false when it
// was not (retrieved, rung back, or never parked).
func (c *call) unpark() bool {
	c.mu.Lock()
	p := c.moves.park
	c.moves.park = parkState{}
	c.mu.Unlock()
	if p.code == "" {
		return false
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	return c.b.parks.take(p.company, p.code, c) != nil
}

// parkExpired rings the parker back for a call nobody retrieved.
func (c *call) parkExpired() {
	c.mu.Lock()
	p := c.moves.park
	c.mu.Unlock()
	if p.code == "" || !c.unpark() {
		return
	}
	c.event("nobody retrieved the call from " + p.code + "; it rang " + p.parker.Username + " back")
	d := &driver{c: c}
	d.Ring(routing.Ring{Targets: []routing.Target{{Account: p.parker}}, Seconds: defaultRingSeconds})
	c.stopMusic()
	if c.isBridged() || c.isEnded() {
		return
	}
	c.afterMenu(d, routing.Outcome{Outcome: routing.Unanswered})
}

// retrieve answers a phone of acct dialing a slot's code with the call
// parked there.
func (b *b2bua) retrieve(req *sip.Request, tx sip.ServerTransaction, acct *routing.Account, code string) {
	company := b.view.Company(acct)
	if company == nil {
		b.s.respond(tx, req, sip.StatusNotFound, "Nothing Parked There")
		return
	}
	if _, err := relay.SDPAddr(req.Body()); err != nil {
		b.s.respond(tx, req, sip.StatusNotAcceptableHere, "No SDP Offer")
		return
	}
	dlg, err := b.dialogUA(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		b.s.respond(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	if c := b.parks.peek(company.GUID, code); c != nil && b.atLimit(acct, c) {
		// A retrieval is a call of acct like any other: at its
		// concurrent_limit it is refused, and the call stays parked.
		b.s.respond(tx, req, sip.StatusBusyHere, "Busy Here")
		return
	}
	c := b.parks.take(company.GUID, code, nil)
	if c == nil {
		b.s.respond(tx, req, sip.StatusNotFound, "Nothing Parked There")
		return
	}
	n := answeringEnd(c, dlg, req, acct)
	c.mu.Lock()
	if c.ended || c.other != nil {
		c.mu.Unlock()
		b.s.respond(tx, req, sip.StatusNotFound, "Nothing Parked There")
		return
	}
	c.other, c.answeredBy = n, n.name
	if c.moves.park.timer != nil {
		c.moves.park.timer.Stop()
	}
	c.moves.park = parkState{}
	c.mu.Unlock()
	c.event(acct.Username + " retrieved the call from " + code)
	c.log.Debug("retrieved", "by", acct.Username, "slot", code)
	c.welcome(n, req, dlg.WriteResponse)
}

// welcome makes n, a phone whose INVITE xc5 answers in the place of the
// call's answering end (retrieval, INVITE with Replaces), the party of
// the caller: the relay's side 1 turns to it, the hold music stops, and
// it is answered with xc5's side 1.
func (c *call) welcome(n *end, req *sip.Request, write func(*sip.Response) error) bool {
	c.b.register(n)
	if n.acct != nil {
		c.count(n.acct)
	}
	mine, _ := c.sideOf(n)
	mine.SetRemote(mustAddr(req.Body()))
	mine.AllowSources(ipOf(req.Source())...)
	c.stopMusic()
	res := sip.NewResponseFromRequest(n.uas.InviteRequest, sip.StatusOK, "OK", c.offer())
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Server", c.b.s.cfg.Name))
	if err := write(res); err != nil {
		c.log.Debug("the phone did not take the call", "err", err)
		c.hangup(nil)
		return false
	}
	return true
}
