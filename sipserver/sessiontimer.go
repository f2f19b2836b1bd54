package sipserver

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028) on the caller's dialog: a caller that
// supports them (Supported: timer, or a Session-Expires in its INVITE)
// gets Session-Expires in xc5's 2xx, and the call is hung up (BYE to both
// ends, the counts released, the records written) when the session is
// not refreshed in time: a phone or carrier that vanished without a BYE
// no longer holds its accounts' concurrent_limit until MaxCallDuration.
// The refresher is the caller (refresher=uac) unless it asked xc5 to
// refresh (refresher=uas) or does not support timers itself (its
// Session-Expires put in by a proxy on its path, no Supported: timer:
// RFC 4028 §9, the 2xx then names xc5 the refresher and has no
// Require: timer): xc5 then sends it an UPDATE at half the interval,
// and a refresh that fails (no answer, 481, 408) ends the call.
// Any re-INVITE or UPDATE in the call refreshes the session.
//
// The callee's side likewise: xc5's INVITE to a phone or carrier offers
// a session (Supported: timer, Session-Expires with refresher=uas: the
// callee refreshes, with the method it knows), and when the answering
// end's 2xx accepts it the call ends if that end stops refreshing (or,
// had it made xc5 the refresher, stops answering xc5's UPDATEs).

// sessionTimer is the session timer of one answered call.
type sessionTimer struct {
	interval  time.Duration
	byXC5     bool // xc5 refreshes
	supported bool // the caller supports timers (Require: timer in the 2xx)
	end       *end // the end the session is with

	mu    sync.Mutex
	last  time.Time // the last refresh
	timer *time.Timer
}

// callerSession reads an INVITE's session timer headers: the
// Session-Expires interval in seconds (0 without a usable one), its
// parameters, and whether the caller lists timer in Supported.
func callerSession(req *sip.Request) (n int64, params string, supported bool, ok bool) {
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x") // compact form
	}
	for _, s := range req.GetHeaders("Supported") {
		for _, o := range strings.Split(s.Value(), ",") {
			supported = supported || strings.EqualFold(strings.TrimSpace(o), "timer")
		}
	}
	if h == nil {
		return 0, "", supported, supported
	}
	v, params, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		n = 0 // malformed: as if it named no interval
	}
	return min(n, maxSessionExpires), params, supported, true
}

// maxSessionExpires bounds a caller's Session-Expires (seconds, one
// day): a UAS may shorten it (RFC 4028 §9), and a Duration of a larger
// one could overflow.
const maxSessionExpires = 86400

// sessionTooBrief answers 422 with Min-SE (RFC 4028 §9) to an INVITE
// whose caller supports session timers and asks for an interval below
// Config.MinSE; it retries with at least Min-SE. A caller without timer
// support (its Session-Expires put in by a proxy) gets the interval
// raised instead, as a proxy would (§8.1).
func (b *b2bua) sessionTooBrief(req *sip.Request, tx sip.ServerTransaction) bool {
	n, _, supported, _ := callerSession(req)
	minSE := b.s.cfg.MinSE
	if !supported || n == 0 || time.Duration(n)*time.Second >= minSE {
		return false
	}
	b.s.respond(tx, req, 422, "Session Interval Too Small", sip.NewHeader("Min-SE", seconds(minSE)))
	return true
}

// sessionExpires reads the caller's Session-Expires (RFC 4028 §4) and
// decides the session: the caller's interval (raised to Config.MinSE),
// or Config.SessionExpires when it only supports timers; nil without.
func (c *call) sessionExpires() *sessionTimer {
	cfg := c.b.s.cfg
	n, params, supported, ok := callerSession(c.req)
	if !ok {
		return nil
	}
	st := &sessionTimer{interval: cfg.SessionExpires, end: c.caller, supported: supported, byXC5: !supported}
	if n > 0 {
		st.interval = time.Duration(n) * time.Second
	}
	st.byXC5 = st.byXC5 || strings.Contains(strings.ToLower(strings.ReplaceAll(params, " ", "")), "refresher=uas")
	st.interval = max(st.interval, cfg.MinSE)
	return st
}

// sessionHeaders adds the session's Session-Expires (and Require: timer
// when the caller supports timers) to the caller's 2xx and keeps the
// session's timer on the call (startSession runs it).
func (c *call) sessionHeaders(res *sip.Response) {
	st := c.sessionExpires()
	if st == nil {
		return
	}
	refresher := "uac"
	if st.byXC5 {
		refresher = "uas"
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", seconds(st.interval)+";refresher="+refresher))
	if st.supported {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	st.last = time.Now()
	c.mu.Lock()
	if c.session == nil {
		c.session = st
	}
	c.mu.Unlock()
}

// startSession runs the call's session timer once its 2xx went.
func (c *call) startSession() {
	c.mu.Lock()
	st := c.session
	c.mu.Unlock()
	c.runSession(st)
}

func (c *call) runSession(st *sessionTimer) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.timer != nil {
		return
	}
	st.timer = time.AfterFunc(st.next(), func() { c.sessionCheck(st) })
}

// next is how long until the next check: half the interval when xc5
// refreshes; otherwise the expiry less a third (at most 32 s), when the
// refresher that did not refresh is given up (RFC 4028 §10).
func (st *sessionTimer) next() time.Duration {
	if st.byXC5 {
		return st.interval / 2
	}
	return st.interval - min(32*time.Second, st.interval/3) - time.Since(st.last)
}

// sessionCheck refreshes the session (xc5 the refresher) or ends the
// call when nobody refreshed it in time.
func (c *call) sessionCheck(st *sessionTimer) {
	if c.isEnded() {
		return
	}
	if st.byXC5 {
		if !c.refreshEnd(st) {
			c.log.Info("session refresh failed: the other end is gone; hanging up", "end", st.end.name)
			c.hangup(nil)
			return
		}
	} else if st.next() <= 0 {
		c.log.Info("session expired: no refresh; hanging up", "end", st.end.name, "interval", st.interval)
		c.hangup(nil)
		return
	}
	st.mu.Lock()
	st.timer.Reset(max(st.next(), 10*time.Millisecond))
	st.mu.Unlock()
}

// sessionRefreshed notes a refresh of the call's sessions: a re-INVITE or
// an UPDATE in the call (relayed end to end, it refreshes both).
func (c *call) sessionRefreshed() {
	c.mu.Lock()
	sts := []*sessionTimer{c.session, c.calleeSession}
	c.mu.Unlock()
	for _, st := range sts {
		if st != nil {
			st.mu.Lock()
			st.last = time.Now()
			st.mu.Unlock()
		}
	}
}

// stopSession stops the session timers of an ended call.
func (c *call) stopSession() {
	c.mu.Lock()
	sts := []*sessionTimer{c.session, c.calleeSession}
	c.mu.Unlock()
	for _, st := range sts {
		if st == nil {
			continue
		}
		st.mu.Lock()
		if st.timer != nil {
			st.timer.Stop()
		}
		st.mu.Unlock()
	}
}

// offerSession offers a session to a leg's callee (RFC 4028 §7.1):
// it refreshes (refresher=uas), as it knows best how.
func (c *call) offerSession(req *sip.Request) {
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(max(c.b.s.cfg.SessionExpires, c.b.s.cfg.MinSE))+";refresher=uas"))
}

// calleeSessionFrom starts the session the answering end e accepted in
// its 2xx (a Session-Expires); nothing when it did not.
func (c *call) calleeSessionFrom(e *end, res *sip.Response) {
	h := res.GetHeader("Session-Expires")
	if h == nil {
		return
	}
	v, params, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return
	}
	st := &sessionTimer{interval: max(time.Duration(n)*time.Second, c.b.s.cfg.MinSE), end: e, last: time.Now(),
		byXC5: strings.Contains(strings.ToLower(strings.ReplaceAll(params, " ", "")), "refresher=uac")}
	c.mu.Lock()
	c.calleeSession = st
	c.mu.Unlock()
	c.runSession(st)
}

// refreshEnd sends the session's end an UPDATE without a body, as a
// session refresh, and reports whether it answered 2xx.
func (c *call) refreshEnd(st *sessionTimer) bool {
	req := sip.NewRequest(sip.UPDATE, st.end.target())
	refresher := "uas" // xc5 is the caller's UAS
	if st.end != c.caller {
		refresher = "uac"
	}
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(st.interval)+";refresher="+refresher))
	ctx, cancel := context.WithTimeout(c.b.s.ctx, sip.Timer_B)
	defer cancel()
	ctr, err := st.end.request(ctx, req)
	if err != nil {
		return false
	}
	defer ctr.Terminate()
	res := finalResponse(ctx, ctr)
	if res != nil && res.IsSuccess() {
		c.sessionRefreshed()
		return true
	}
	// A caller that does not know UPDATE is there all the same.
	return res != nil && (res.StatusCode == sip.StatusMethodNotAllowed || res.StatusCode == sip.StatusNotImplemented)
}
