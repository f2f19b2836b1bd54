package sipserver

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"xc5"
	"xc5/dialplan"
	"xc5/routing"
)

// defaultRingSeconds applies to a ring the engine gives no time.
const defaultRingSeconds = 20

// driver is the routing engine's Driver for a real call: it rings phones
// and carriers over SIP while the engine walks the provisioning.
type driver struct{ c *call }

// Ring implements routing.Driver.
func (d *driver) Ring(r routing.Ring) routing.RingResult { return d.c.ring(r) }

// Menu implements routing.Driver. Menus need a media service to play the
// prompt and hear the keys, which xc5 does not have yet: the call is
// marked as needing media (it will be refused with 503) and the menu
// times out, so that the engine finishes its walk without ringing more.
func (d *driver) Menu(n int, prompt string, dm dialplan.DigitMap) string {
	d.c.mu.Lock()
	if d.c.media == "" {
		d.c.media = "menu"
	}
	d.c.mu.Unlock()
	return ""
}

// AtLimit implements routing.Driver with the calls set up on this node.
func (d *driver) AtLimit(a *routing.Account) bool { return d.c.b.atLimit(a, d.c) }

// ringing is one ring in progress: the legs alerting the targets at once.
// A pickup can take it over while it rings.
type ringing struct {
	call     *call
	accounts []*routing.Account // the on-net accounts whose phones ring
	started  time.Time
	pick     chan *picker
	done     chan struct{} // closed when the ring is over

	mu     sync.Mutex
	closed bool // decided without a winning leg
	winner *leg
}

// claim makes l the winner unless the ring is already decided.
func (rg *ringing) claim(l *leg) bool {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if rg.closed || rg.winner != nil {
		return false
	}
	rg.winner = l
	return true
}

// close decides the ring without a winning leg, unless one has already
// claimed it (its 200 is then on its way and must be taken).
func (rg *ringing) close() bool {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if rg.winner != nil {
		return false
	}
	rg.closed = true
	return true
}

// leg is one INVITE xc5 sends: to one registered contact of an account,
// or to a number over a carrier.
type leg struct {
	rg      *ringing
	index   int // of the ring's target
	acct    *routing.Account
	binding xc5.Binding
	trunk   *xc5.Trunk
	number  string
	req     *sip.Request
	dlg     *sipgo.DialogClientSession
	ctx     context.Context
	cancel  context.CancelFunc // CANCELs the leg while it rings

	release func() // stops counting a blast leg (countLeg); nil for on-net legs

	answered bool
	res      *sip.Response // the final failure response, if any
	err      error
}

// busy reports a leg that answered busy: 486 Busy Here or 600 Busy
// Everywhere.
func (l *leg) busy() bool {
	return l.res != nil && (l.res.StatusCode == sip.StatusBusyHere || l.res.StatusCode == sip.StatusGlobalBusyEverywhere)
}

// ring alerts a ring's targets at once: every unexpired contact of every
// on-net account and, for external targets, the number over the carrier
// trunk. The first 2xx wins and is bridged to the caller; the other legs
// get CANCEL. It returns when a leg answered, all failed, the time ran
// out, the caller cancelled, or a pickup took the call.
func (c *call) ring(r routing.Ring) routing.RingResult {
	none := routing.RingResult{Status: routing.RingNoPhones}
	if c.mediaNeeded() != "" || c.ctx.Err() != nil || c.storeFailure() != nil {
		return none // nothing more rings once the store has failed the call
	}
	b := c.b
	rg := &ringing{call: c, started: time.Now(), pick: make(chan *picker), done: make(chan struct{})}
	legs := c.legsFor(r, rg)
	var winner *leg
	defer releaseLegs(c, append([]*leg(nil), legs...), &winner)
	ready := legs[:0]
	for _, l := range legs {
		req, err := c.legRequest(l, r)
		if err != nil {
			c.log.Warn("cannot call a contact", "contact", l.binding.Contact, "err", err)
			continue
		}
		l.req = req
		ready = append(ready, l)
	}
	legs = ready
	if len(legs) == 0 {
		return none
	}
	c.mu.Lock()
	c.rang = true
	c.mu.Unlock()
	secs := r.Seconds
	if secs <= 0 {
		secs = defaultRingSeconds
	}
	finals := make(chan *leg, len(legs)) // each leg sends exactly one
	provs := make(chan *sip.Response, 1)
	b.mu.Lock()
	b.ringing[rg] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.ringing, rg)
		b.mu.Unlock()
		close(rg.done)
	}()
	// The call's set-up slot is given back at the first response of any
	// leg (100 Trying, 180, a final answer): from then on the call waits
	// for people, not for CPU or a congested network.
	if c.setupDone != nil {
		defer c.setupDone()
	}
	for _, l := range legs {
		l.ctx, l.cancel = context.WithCancel(b.s.ctx)
		go l.run(finals, provs)
	}
	return c.await(legs, rg, secs, finals, provs, &winner)
}

// legsFor is a leg for every unexpired contact of each on-net target and,
// for each external target, one over the carrier trunk (a blast leg only
// within its account's concurrent_limit). A target the store cannot look
// up marks the call (storeDown) and has no legs.
func (c *call) legsFor(r routing.Ring, rg *ringing) []*leg {
	b := c.b
	var legs []*leg
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	now := b.s.cfg.Now()
	for i, t := range r.Targets {
		switch {
		case t.Account != nil:
			bs, err := b.s.reg.ContactsOf(ctx, t.Account.GUID, now)
			if err != nil {
				if unavailable(err) || ctx.Err() != nil {
					// Not "no phones registered": unless another leg
					// rings, the caller gets 503 (see run).
					c.storeDown(err)
				} else {
					c.log.Error("looking up contacts failed", "account", t.Account.Username, "err", err)
				}
				continue
			}
			if len(bs) > 0 {
				rg.accounts = append(rg.accounts, t.Account)
			}
			for _, bnd := range bs {
				legs = append(legs, &leg{rg: rg, index: i, acct: t.Account, binding: bnd})
			}
		case t.External != "":
			if tr := b.trunks.outbound(ctx); tr != nil {
				l := &leg{rg: rg, index: i, trunk: tr, number: t.External}
				if r.Account != nil && !r.Emergency { // a blast leg: a call of its own to the carrier
					var ok bool
					if l.release, ok = c.countLeg(r.Account); !ok {
						c.log.Info("blast leg not placed: concurrent_limit reached", "account", r.Account.Username, "number", t.External)
						continue
					}
				}
				legs = append(legs, l)
			} else if err := b.trunks.unloaded(); err != nil {
				c.storeDown(err)
			} else {
				c.log.Warn("no enabled trunk with a proxy for an external call", "number", t.External)
			}
		}
	}
	return legs
}

// await runs a ring whose legs are sent: it relays the first provisional
// response and returns when a leg answered (winner), all failed, the time
// ran out, the caller cancelled, or a pickup took the call.
func (c *call) await(legs []*leg, rg *ringing, secs int, finals chan *leg, provs chan *sip.Response, winner **leg) routing.RingResult {
	none := routing.RingResult{Status: routing.RingNoPhones}
	stopAll := func(except *leg) {
		for _, l := range legs {
			if l != except {
				l.cancel()
			}
		}
	}
	timer := time.NewTimer(time.Duration(secs) * time.Second)
	defer timer.Stop()
	timeout, cancelled, pick := timer.C, c.ctx.Done(), rg.pick
	left, busy := len(legs), 0
	for {
		select {
		case res := <-provs:
			c.relayProvisional(res)
		case l := <-finals:
			if c.setupDone != nil {
				c.setupDone()
			}
			if l.answered {
				stopAll(l)
				*winner = l
				return c.bridgeLeg(l)
			}
			left--
			if l.busy() {
				busy++
			}
			if l.res != nil && l.res.StatusCode != sip.StatusRequestTerminated {
				c.mu.Lock()
				c.lastFail = l.res
				c.mu.Unlock()
			}
			if left == 0 {
				rg.close()
				if busy == len(legs) {
					return routing.RingResult{Status: routing.RingBusy}
				}
				return routing.RingResult{Status: routing.RingNoAnswer}
			}
		case <-timeout:
			timeout = nil
			if rg.close() {
				stopAll(nil)
				return routing.RingResult{Status: routing.RingNoAnswer}
			}
		case <-cancelled:
			cancelled = nil
			if rg.close() {
				stopAll(nil)
				return none
			}
		case p := <-pick:
			if !rg.close() {
				p.accept <- false
				continue
			}
			pick = nil
			stopAll(nil)
			if !c.claim(p.end) { // the caller is gone
				p.accept <- false
				return none
			}
			p.accept <- true
			c.answer(p.body, p.ctype)
			return routing.RingResult{Status: routing.RingAnswered}
		}
	}
}

// run sends the leg's INVITE and waits for its final answer; a 2xx that
// comes after the ring was decided is acknowledged and hung up at once.
func (l *leg) run(finals chan<- *leg, provs chan<- *sip.Response) {
	c := l.rg.call
	dlg, err := c.b.dialogUA(l.req.Transport()).WriteInvite(l.ctx, l.req)
	if err != nil {
		l.err = err
		finals <- l
		return
	}
	l.dlg = dlg
	opts := sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		if c.setupDone != nil {
			c.setupDone()
		}
		if res.StatusCode > 100 && res.StatusCode < 200 {
			select {
			case provs <- res:
			default:
			}
		}
		return nil
	}}
	if l.trunk != nil && l.trunk.Password != "" {
		opts.Username, opts.Password = l.trunk.Username, l.trunk.Password
	}
	err = dlg.WaitAnswer(l.ctx, opts)
	if err == nil {
		if l.rg.claim(l) {
			l.answered = true
			finals <- l
			return
		}
		l.hangUpLate()
		finals <- l
		return
	}
	if res := dlg.InviteResponse; res != nil && res.IsSuccess() {
		l.hangUpLate() // answered while being cancelled
	}
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		l.res = de.Res
	}
	l.err = err
	finals <- l
}

// hangUpLate ends a leg that answered after another won.
func (l *leg) hangUpLate() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.dlg.Ack(ctx); err == nil {
		l.dlg.Bye(ctx)
	}
}

// bridgeLeg answers the caller with the winning leg.
func (c *call) bridgeLeg(l *leg) routing.RingResult {
	res := l.dlg.InviteResponse
	name := l.number
	if l.acct != nil {
		name = l.acct.Username
	}
	tag, _ := l.req.From().Params.Get("tag")
	e := &end{call: c, uac: l.dlg, key: dialogKey(l.req.CallID().Value(), tag), name: name,
		acct: l.acct, trunk: l.trunk != nil, cancel: l.cancel}
	ctype := ""
	if ct := res.ContentType(); ct != nil {
		ctype = ct.Value()
	}
	if !c.claim(e) { // the caller is gone
		l.hangUpLate()
		return routing.RingResult{Status: routing.RingNoPhones}
	}
	c.answer(res.Body(), ctype)
	return routing.RingResult{Status: routing.RingAnswered, Index: l.index}
}

// legRequest builds a leg's INVITE: to a phone's registered contact (sent
// to the address it registered from), or to the number at the trunk's
// proxy. The caller's SDP goes with it unchanged.
func (c *call) legRequest(l *leg, r routing.Ring) (*sip.Request, error) {
	b := c.b
	var ruri, to sip.Uri
	transport, dest := "UDP", ""
	if l.acct != nil {
		if err := sip.ParseUri(l.binding.Contact, &ruri); err != nil {
			return nil, err
		}
		if tp, addr, ok := strings.Cut(l.binding.Source, ":"); ok && addr != "" {
			transport, dest = strings.ToUpper(tp), addr
		} else if v, ok := ruri.UriParams.Get("transport"); ok {
			transport = strings.ToUpper(v)
		}
		to = aorURI(l.acct.Username, b.host)
	} else {
		host, p, err := net.SplitHostPort(l.trunk.Proxy)
		if err != nil {
			host, p = l.trunk.Proxy, "5060"
		}
		port, _ := strconv.Atoi(p)
		ruri = sip.Uri{Scheme: "sip", User: l.number, Host: host, Port: port}
		if tp := strings.ToLower(l.trunk.Transport); tp != "" && tp != "udp" {
			transport = strings.ToUpper(tp)
			ruri.UriParams = sip.NewParams()
			ruri.UriParams.Add("transport", tp)
		}
		dest = net.JoinHostPort(host, strconv.Itoa(port))
		to = sip.Uri{Scheme: "sip", User: l.number, Host: host}
	}
	req := sip.NewRequest(sip.INVITE, ruri)
	req.SetTransport(transport)
	if transport == "UDP" {
		// Leave from the SIP port, as carriers and NATs expect.
		if la, ok := b.s.udpAddr(); ok {
			req.Laddr = la
		}
	}
	if dest != "" {
		req.SetDestination(dest)
	}
	from, extra := c.presentation(l)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: to})
	cid := sip.CallIDHeader(uuid.NewString())
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(70)
	if in := c.req.MaxForwards(); in != nil && in.Val() > 0 {
		mf = sip.MaxForwardsHeader(in.Val() - 1)
	}
	req.AppendHeader(&mf)
	ct := b.contact(transport)
	req.AppendHeader(&ct)
	for _, h := range extra {
		req.AppendHeader(h)
	}
	if r.AlertInfo != "" {
		req.AppendHeader(sip.NewHeader("Alert-Info", alertInfo(r.AlertInfo)))
	}
	if r.Emergency && l.trunk != nil {
		req.AppendHeader(sip.NewHeader("Priority", "emergency")) // RFC 3261 20.26
	}
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
	req.AppendHeader(sip.NewHeader("User-Agent", b.s.cfg.Name))
	if body := c.req.Body(); len(body) > 0 {
		req.SetBody(body)
		if ct := c.req.ContentType(); ct != nil {
			req.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
		}
	} else {
		req.SetBody(nil)
	}
	return req, nil
}

// aorURI is the address of record of an account: its username as a SIP
// URI (reception@acmebrick.x.co.nz, acmebrick.x.co.nz), or at host for a
// name that is not a domain (a number).
func aorURI(username, host string) sip.Uri {
	if user, domain, ok := strings.Cut(username, "@"); ok {
		return sip.Uri{Scheme: "sip", User: user, Host: domain}
	}
	if strings.Contains(username, ".") {
		return sip.Uri{Scheme: "sip", Host: username}
	}
	return sip.Uri{Scheme: "sip", User: username, Host: host}
}

// alertInfo turns a number's alert-info into an Alert-Info header value.
// A value already in URI form (<…>) is sent as provisioned; a bare name
// (dr4) goes both as a URI and as the info parameter, the two places
// phones look for a distinctive ring.
func alertInfo(v string) string {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "<") {
		return v
	}
	return "<http://127.0.0.1/" + v + ">;info=" + v
}

// presentation is how the caller is shown on a leg. An account's caller
// presents the number its phone offers when it is one of the account's
// own (its a: numbers included), else its own first number, else the
// nearest is-pilot number up its account tree (routing's Presentation);
// an external caller its number. A private caller is anonymous, with
// Privacy: id; a callee whose account has callerid off is shown no caller
// at all. Only a carrier, which is trusted with it, is told the real
// number in P-Asserted-Identity.
func (c *call) presentation(l *leg) (*sip.FromHeader, []sip.Header) {
	b := c.b
	number, private := c.who.number, c.who.private
	if c.who.acct != nil {
		number, private = b.view.Presentation(c.who.acct, c.who.offers), c.who.acct.Private
	}
	hide := private || (l.acct != nil && !l.acct.CallerID)
	from := &sip.FromHeader{Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	user, host := number, b.host
	if u, h, ok := strings.Cut(number, "@"); ok {
		user, host = u, h
	}
	if hide {
		from.DisplayName = "Anonymous"
		from.Address = sip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}
	} else {
		from.DisplayName = number
		from.Address = sip.Uri{Scheme: "sip", User: user, Host: host}
	}
	var hdrs []sip.Header
	if private {
		hdrs = append(hdrs, sip.NewHeader("Privacy", "id"))
	}
	if l.trunk != nil && number != "anonymous" {
		hdrs = append(hdrs, sip.NewHeader("P-Asserted-Identity", "<sip:"+user+"@"+host+">"))
	}
	return from, hdrs
}
