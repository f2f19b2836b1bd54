package sipserver

import (
	"context"
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/routing"
)

// caller is who an INVITE comes from.
type caller struct {
	acct    *routing.Account // the authenticated account; nil for a carrier call
	number  string           // the external caller's number (From user)
	offers  []string         // the numbers an account's phone offers to present, best first
	private bool             // the external caller withholds its number
	trunk   *xc5.Trunk
}

// name is the caller as the engine and the CDRs know it.
func (c caller) name() string {
	if c.acct != nil {
		return c.acct.Username
	}
	return c.number
}

// identify decides who sent an INVITE. A carrier is recognised by its
// source address and port (and, when its trunk says so, its answer to a
// digest challenge: fromTrunk); anything else must authenticate as an
// account. An INVITE from a trunk's address that carries credentials of
// its own, or whose From names one of our accounts, is a phone sharing
// the address and is challenged: authentication only ever makes a call
// harder to place.
func (b *b2bua) identify(req *sip.Request, tx sip.ServerTransaction, emergency bool) (caller, bool) {
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	if emergency {
		ctx = forEmergency(ctx)
	}
	if c, handled, ok := b.fromTrunk(ctx, req, tx); handled {
		return c, ok
	}
	creds, ok := b.s.authenticate(ctx, req, tx, true)
	if !ok {
		return caller{}, false
	}
	a := b.view.Account(creds.GUID)
	if a == nil {
		a = b.view.Account(creds.Username)
	}
	if a == nil {
		b.s.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return caller{}, false
	}
	return caller{acct: a, offers: offeredIdentities(req)}, true
}

// offeredIdentities are the numbers a phone offers to present, best
// first: the user parts of P-Asserted-Identity and P-Preferred-Identity
// (sip: or tel: URIs, the first of each), then of From. The engine keeps
// the first that is one of the account's own numbers.
func offeredIdentities(req *sip.Request) []string {
	var out []string
	for _, name := range [...]string{"P-Asserted-Identity", "P-Preferred-Identity"} {
		for _, h := range req.GetHeaders(name) {
			if u := identityUser(h.Value()); u != "" {
				out = append(out, u)
			}
		}
	}
	if f := req.From(); f != nil {
		if u, _ := aorUser(&f.Address); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// identityUser is the user part of the first address in an identity
// header value: "Name" <sip:6499290089@host;user=phone>, <tel:+6499290089>.
func identityUser(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	} else if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(strings.ToLower(v), "tel:"):
		v = v[4:]
	case strings.HasPrefix(strings.ToLower(v), "sip:"), strings.HasPrefix(strings.ToLower(v), "sips:"):
		v = v[strings.IndexByte(v, ':')+1:]
		at := strings.IndexByte(v, '@')
		if at < 0 {
			return ""
		}
		v = v[:at]
	default:
		return ""
	}
	if i := strings.IndexAny(v, ";?"); i >= 0 {
		v = v[:i]
	}
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	return strings.NewReplacer("-", "", ".", "", " ", "", "(", "", ")", "").Replace(v)
}

// namesAccount reports whether a From address names one of our accounts:
// the routing view, in memory, knows them all, even while the store is
// away; the store is asked only for what the view does not hold. Asking
// the store first made a phone on a carrier's address, during a store
// outage, pass for the carrier, and its 111 was routed as a carrier's
// call to a number of ours (404) instead of challenged (and answered 503,
// or placed with its last-known secrets).
func (b *b2bua) namesAccount(ctx context.Context, u *sip.Uri) bool {
	user, _ := aorUser(u)
	if user == "" || user == "anonymous" {
		return false
	}
	name := aorName(u)
	if b.view.Account(name) != nil {
		return true
	}
	_, err := b.s.reg.SIPCredentials(ctx, name)
	return err == nil
}
