package sipserver

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"xc5"
	"xc5/routing"
)

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
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER"))
	c.offerSession(req) // sessiontimer.go
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
