package sipserver

import (
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// onInvite takes a new call (or a re-INVITE in a call's dialog).
func (b *b2bua) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	// Until the caller is known, a refusal is sent once, never
	// retransmitted (see statelessTx).
	pre := statelessTx{tx}
	to, from, cid, cseq := req.To(), req.From(), req.CallID(), req.CSeq()
	if to == nil || from == nil || cid == nil || cseq == nil {
		b.s.respond(pre, req, sip.StatusBadRequest, "Missing Dialog Headers")
		return
	}
	if to.Params.Has("tag") {
		b.reinvite(req, tx)
		return
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		b.s.respond(pre, req, sip.StatusTooManyHops, "Too Many Hops")
		return
	}
	if req.Contact() == nil {
		b.s.respond(pre, req, sip.StatusBadRequest, "Missing Contact")
		return
	}
	// The dialed number is read first (a few string operations): an
	// emergency call has slots of its own, so that overload never refuses
	// a 111 (docs/routing.md, "Emergency calls").
	dialed := dialedOf(&req.Recipient)
	release, ok := b.admitCall(dialed)
	if !ok {
		// Overloaded: refuse before any work, so that the calls already
		// up keep their CPU. A carrier tries another route or node.
		b.s.respond(pre, req, sip.StatusServiceUnavailable, "Overloaded",
			sip.NewHeader("Retry-After", seconds(max(b.s.cfg.RetryAfter, time.Second))))
		return
	}
	defer release()
	emergency := b.view.DialsEmergency(dialed)
	if !emergency && b.sessionTooBrief(req, pre) { // sessiontimer.go
		return
	}
	who, ok := b.identify(req, pre, emergency)
	if !ok {
		return
	}
	if dialed == "" {
		b.s.respond(tx, req, sip.StatusNotFound, "Not Found")
		return
	}
	if h := req.GetHeader("Replaces"); h != nil && who.acct != nil {
		release()
		b.inviteReplaces(req, tx, who.acct, h.Value()) // attended.go
		return
	}
	if who.acct != nil {
		code := b.view.EarlyRewrite(who.acct, dialed)
		if code == "*8" || (strings.HasPrefix(code, "**") && len(code) > 2) {
			release() // a pickup answers at once or not at all: nothing to queue
			b.pickup(req, tx, who.acct, code)
			return
		}
		if isParkSlot(code) {
			release()
			b.retrieve(req, tx, who.acct, code) // park.go
			return
		}
	}
	c, err := b.newCall(req, tx, who, dialed)
	if err != nil {
		b.s.log.Debug("call refused", "err", err)
		b.s.respond(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	c.setupDone = release
	c.run()
}

// dialedOf is what a caller dialed, from an INVITE's Request-URI: the
// user part of a sip: or sips: URI or the number of a tel: URI (RFC
// 3966), without parameters (111;phone-context=+64) and without a
// trailing # after a number (the en-bloc sending key some phones add), so
// that every spelling of 111 is the emergency number.
func dialedOf(u *sip.Uri) string {
	s := u.User
	switch u.Scheme {
	case "sip", "sips":
	case "tel":
		s = u.Raw()
	default:
		return ""
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	if v, err := url.PathUnescape(s); err == nil {
		s = v
	}
	if n, ok := strings.CutSuffix(s, "#"); ok && n != "" && n != "+" && strings.Trim(strings.TrimPrefix(n, "+"), "0123456789") == "" {
		s = n
	}
	return s
}
