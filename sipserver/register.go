package sipserver

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5"
)

// maxContactLen bounds a stored contact URI.
const maxContactLen = 1024

// change is one binding a REGISTER adds, refreshes or removes.
type change struct {
	contact string
	expires time.Duration // 0 removes
}

// handleRegister is the registrar (RFC 3261 §10.3) for the REGISTERs that
// come through sipgo's transactions: over TCP, TLS and WebSocket. Those
// over Serve's UDP socket take the stateless path of udpreg.go; both share
// register.
func (s *Server) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	n := s.registers.Add(1)
	defer s.registers.Add(-1)
	arrived := time.Now()
	slot := s.regWork.start()
	defer s.regWork.done(slot)
	if s.overloaded(req, n) {
		s.refuseRegister(tx, req)
		return
	}
	// The CPU part of the work (credentials, digest, contacts) runs a few
	// at a time, in order of arrival; see regGate.
	gate := s.regGate.enter()
	defer gate.leave()
	s.register(req, tx, gate, arrived)
}

// register is the registrar's work on a REGISTER that arrived at arrived
// and holds a turn at the CPU (gate), which it leaves while it waits for
// the store. It answers through tx.
func (s *Server) register(req *sip.Request, tx responder, gate *gateTurn, arrived time.Time) {
	if s.cfg.MaxRegisterWait > 0 && time.Since(arrived) > s.cfg.MaxRegisterWait && req.GetHeader("Authorization") == nil {
		s.refuseRegister(tx, req)
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RequestTimeout)
	defer cancel()
	acct, ok := s.registeringAccount(ctx, req, tx)
	if !ok {
		return
	}

	changes, star, starAlone, bad := parseContacts(req, s.cfg.DefaultExpires)
	if bad != "" {
		s.respond(tx, req, sip.StatusBadRequest, bad)
		return
	}

	now := s.cfg.Now()
	if star {
		s.unregisterAll(ctx, req, tx, gate, acct, starAlone, now)
		return
	}
	if !s.expiresAllowed(req, tx, changes) {
		return
	}
	s.bind(ctx, req, tx, gate, acct, changes, now)
}

// registeringAccount authenticates a REGISTER and returns the account
// whose bindings it changes; false when it has answered the request.
func (s *Server) registeringAccount(ctx context.Context, req *sip.Request, tx responder) (xc5.SIPCredentials, bool) {
	to := req.To()
	if to == nil {
		s.respond(tx, req, sip.StatusBadRequest, "Missing To")
		return xc5.SIPCredentials{}, false
	}
	acct, ok := s.authenticate(ctx, req, tx, false)
	if !ok {
		return acct, false
	}
	// The binding is always the authenticated account's; a To that names
	// another existing account would be a third-party registration.
	if name := aorName(&to.Address); name != acct.Username {
		if other, err := s.reg.SIPCredentials(ctx, name); err == nil && other.GUID != acct.GUID {
			s.respond(tx, req, sip.StatusForbidden, "To Names Another Account")
			return acct, false
		}
	}
	return acct, true
}

// unregisterAll takes a REGISTER with "Contact: *", which removes every
// binding, and only with Expires: 0 and no other contact (RFC 3261 §10.3
// step 6).
func (s *Server) unregisterAll(ctx context.Context, req *sip.Request, tx responder, gate *gateTurn, acct xc5.SIPCredentials, starAlone bool, now time.Time) {
	if !starAlone {
		s.respond(tx, req, sip.StatusBadRequest, "Contact * Needs Expires: 0 And No Other Contact")
		return
	}
	gate.leave()
	if err := s.reg.DeleteAllRegistrations(ctx, acct.GUID); err != nil {
		s.storeFailed(tx, req, err)
		return
	}
	s.log.Info("unregistered all", "user", acct.Username, "source", req.Source())
	s.respond(tx, req, sip.StatusOK, "OK", sip.NewHeader("Date", now.UTC().Format(http.TimeFormat)))
}

// expiresAllowed checks every contact before changing any: 423 rejects
// the request. It bounds each expiry by MaxExpires.
func (s *Server) expiresAllowed(req *sip.Request, tx responder, changes []change) bool {
	for i, c := range changes {
		if c.expires != 0 && c.expires < s.cfg.MinExpires {
			s.respond(tx, req, sip.StatusIntervalToBrief, "Interval Too Brief", sip.NewHeader("Min-Expires", seconds(s.cfg.MinExpires)))
			return false
		}
		changes[i].expires = min(c.expires, s.cfg.MaxExpires)
	}
	return true
}

// bind stores a REGISTER's changes to acct's bindings and answers it with
// the bindings it has now.
func (s *Server) bind(ctx context.Context, req *sip.Request, tx responder, gate *gateTurn, acct xc5.SIPCredentials, changes []change, now time.Time) {
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = truncate(h.Value(), 256)
	}
	source := strings.ToLower(req.Transport()) + ":" + req.Source()
	gate.leave() // waiting for the store takes no CPU
	var bindings []xc5.Binding
	var ok bool
	if len(changes) == 1 && changes[0].expires > 0 {
		bindings, ok = s.bindOne(ctx, tx, req, acct.GUID, changes[0], now, ua, source)
	} else {
		bindings, ok = s.bindAll(ctx, tx, req, acct.GUID, changes, now, ua, source)
	}
	if !ok {
		return
	}
	if len(changes) > 0 {
		s.log.Debug("registered", "user", acct.Username, "contacts", len(bindings), "source", source)
	}
	s.answerBindings(tx, req, bindings, now)
}

// answerBindings is the 200 OK of a REGISTER: it lists every current
// binding with the seconds it has left.
func (s *Server) answerBindings(tx responder, req *sip.Request, bindings []xc5.Binding, now time.Time) {
	res := []sip.Header{sip.NewHeader("Date", now.UTC().Format(http.TimeFormat))}
	for _, b := range bindings {
		left := max(b.Expires.Sub(now).Round(time.Second), time.Second)
		res = append(res, sip.NewHeader("Contact", "<"+b.Contact+">;expires="+seconds(left)))
	}
	s.respond(tx, req, sip.StatusOK, "OK", res...)
}

// parseContacts reads a REGISTER's Expires header (the default, def
// unless given, for contacts without an expires parameter) and its
// Contact headers into the changes they ask for. star reports a
// "Contact: *", and starAlone that it is the only contact and comes with
// Expires: 0 (RFC 3261 §10.3 step 6). bad, when not "", is the reason
// phrase of the 400 a malformed header gets.
func parseContacts(req *sip.Request, def time.Duration) (changes []change, star, starAlone bool, bad string) {
	hasExpires := false
	if h := req.GetHeader("Expires"); h != nil {
		d, ok := parseSeconds(h.Value())
		if !ok {
			return nil, false, false, "Malformed Expires"
		}
		def, hasExpires = d, true
	}
	hdrs := req.GetHeaders("Contact")
	for _, h := range hdrs {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			return nil, false, false, "Malformed Contact"
		}
		if c.Address.Wildcard {
			star = true
			continue
		}
		e := def
		if v, ok := param(c.Params, "expires"); ok {
			if e, ok = parseSeconds(v); !ok {
				return nil, false, false, "Malformed Contact Expires"
			}
		}
		uri := c.Address.String()
		if len(uri) > maxContactLen || c.Address.Host == "" {
			return nil, false, false, "Bad Contact"
		}
		changes = append(changes, change{contact: uri, expires: e})
	}
	starAlone = len(hdrs) == 1 && hasExpires && def == 0
	return changes, star, starAlone, ""
}

// bindOne adds or refreshes the one contact of a REGISTER (the common
// case: every phone's refresh) and returns the account's bindings after
// it. The store reads them in the write that adds this one, and counts
// the cap there, so that a REGISTER costs one trip to the store. Every
// change, refreshes included, is durable before the 200: the phone
// schedules its next REGISTER from the expiry we answer, so an expiry
// lost in a crash could leave it unreachable until then. Concurrent
// REGISTERs share commits (PutRegistration), which is what makes this
// affordable. It answers the request itself when it fails.
func (s *Server) bindOne(ctx context.Context, tx responder, req *sip.Request, account string, c change, now time.Time, ua, source string) ([]xc5.Binding, bool) {
	bs, err := s.reg.PutRegistration(ctx, account, c.contact, now.Add(c.expires), ua, source,
		xc5.ContactCap{Max: s.cfg.MaxContacts, Now: now})
	switch {
	case err == xc5.ErrTooManyContacts:
		s.respond(tx, req, sip.StatusForbidden, "Too Many Contacts")
		return nil, false
	case err != nil:
		s.storeFailed(tx, req, err)
		return nil, false
	}
	return bs, true
}

// bindAll applies a REGISTER's changes when it removes contacts or adds
// several (or none: a query). The cap is checked against the current
// bindings before anything is changed, and again by the store for each
// new contact. It returns the bindings after the changes, and answers
// the request itself when it fails.
func (s *Server) bindAll(ctx context.Context, tx responder, req *sip.Request, account string, changes []change, now time.Time, ua, source string) ([]xc5.Binding, bool) {
	current, err := s.reg.ContactsOf(ctx, account, now)
	if err != nil {
		s.storeFailed(tx, req, err)
		return nil, false
	}
	bindings := map[string]time.Time{}
	order := []string{}
	for _, b := range current {
		bindings[b.Contact] = b.Expires
		order = append(order, b.Contact)
	}
	for _, c := range changes {
		if _, ok := bindings[c.contact]; !ok && c.expires > 0 {
			order = append(order, c.contact)
		}
		if c.expires > 0 {
			bindings[c.contact] = now.Add(c.expires)
		} else {
			delete(bindings, c.contact)
		}
	}
	if len(bindings) > s.cfg.MaxContacts && len(bindings) > len(current) {
		s.respond(tx, req, sip.StatusForbidden, "Too Many Contacts")
		return nil, false
	}
	for _, c := range changes {
		if c.expires > 0 {
			_, err = s.reg.PutRegistration(ctx, account, c.contact, now.Add(c.expires), ua, source,
				xc5.ContactCap{Max: s.cfg.MaxContacts, Now: now})
		} else if err = s.reg.DeleteRegistration(ctx, account, c.contact); xc5.ErrorCode(err) == xc5.ENOTFOUND {
			err = nil
		}
		if err == xc5.ErrTooManyContacts {
			// Simultaneous REGISTERs passed the check above together; the
			// store's count, taken in the write, refused this one.
			s.respond(tx, req, sip.StatusForbidden, "Too Many Contacts")
			return nil, false
		}
		if err != nil {
			s.storeFailed(tx, req, err)
			return nil, false
		}
	}
	var out []xc5.Binding
	for _, c := range order {
		if exp, ok := bindings[c]; ok {
			out = append(out, xc5.Binding{Contact: c, Expires: exp})
		}
	}
	return out, true
}

// refuseRegister answers a REGISTER refused for overload: cheaply, with a
// spread Retry-After (see Config), and statelessly: a retransmission is
// refused again rather than kept for.
func (s *Server) refuseRegister(tx responder, req *sip.Request) {
	s.shedRegs.Add(1)
	s.respond(statelessly(tx), req, sip.StatusServiceUnavailable, "Overloaded", sip.NewHeader("Retry-After", s.retryAfter()))
}

// overloaded decides whether a REGISTER, the nth in progress, is refused.
// One that starts a registration (no credentials) is, beyond
// MaxPendingRegisters in progress or when the oldest in progress has
// waited MaxRegisterWait. The answer of a challenged phone is still let
// in, up to twice MaxPendingRegisters: it completes a registration whose
// first half was already paid for, and it is what makes room again.
func (s *Server) overloaded(req *sip.Request, n int64) bool {
	limit := int64(s.cfg.MaxPendingRegisters)
	if req.GetHeader("Authorization") != nil {
		return limit >= 0 && n > 2*limit
	}
	if limit >= 0 && n > limit {
		return true
	}
	return s.cfg.MaxRegisterWait > 0 && s.regWork.oldest() > s.cfg.MaxRegisterWait
}

// ShedRegisters reports how many REGISTERs were refused with 503 because
// too many were in progress (Config.MaxPendingRegisters).
func (s *Server) ShedRegisters() int64 { return s.shedRegs.Load() }

// storeRetryAfter is the shortest Retry-After of a 503 sent because the
// store cannot serve (its database unreachable, its disk full); each
// answer adds a random part up to as much again, so that the phones
// refused during an outage do not all come back in the same second.
const storeRetryAfter = 5 * time.Second

// storeFailed answers a request whose store work failed: 503 with
// Retry-After when the store is unavailable for now, 500 otherwise.
func (s *Server) storeFailed(tx responder, req *sip.Request, err error) {
	code, reason := errorStatus(xc5.ErrorCode(err))
	if unavailable(err) {
		s.log.Debug("store unavailable", "method", req.Method, "err", err)
		s.respond(tx, req, code, reason, storeRetryHeader())
		return
	}
	s.log.Error("registrar store failed", "err", err)
	s.respond(tx, req, code, reason)
}

// parseSeconds reads a delta-seconds value; values beyond 2^32-1 are
// taken as that (RFC 3261 §20.19), negative or non-numeric ones are bad.
func parseSeconds(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		n = 1<<32 - 1
	}
	return time.Duration(n) * time.Second, true
}

// param looks a header parameter up case-insensitively.
func param(p sip.HeaderParams, key string) (string, bool) {
	for _, kv := range p {
		if strings.EqualFold(kv.K, key) {
			return kv.V, true
		}
	}
	return "", false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Contacts returns the bindings of the account with the given username
// that are valid now: where a call to it is to ring.
func (s *Server) Contacts(ctx context.Context, username string) ([]xc5.Binding, error) {
	c, err := s.reg.SIPCredentials(ctx, username)
	if err != nil {
		return nil, err
	}
	return s.reg.ContactsOf(ctx, c.GUID, s.cfg.Now())
}
