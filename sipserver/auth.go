package sipserver

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"xc5"
	"xc5/ratelimit"
	"xc5/secret"
)

// defaultAlgorithms are the digest algorithms offered, strongest first
// (RFC 8760 §2.4: a server sends one challenge per algorithm, in order of
// preference).
var defaultAlgorithms = []string{"SHA-256", "MD5"}

// newLimiter makes the digest failure limiter of cfg; a negative
// AuthFailures turns every limit off.
func newLimiter(cfg Config) *ratelimit.Limiter {
	perUser := cfg.AuthFailuresPerUser
	if cfg.AuthFailures < 0 {
		perUser = -1
	}
	return ratelimit.New(ratelimit.Config{Window: cfg.AuthWindow, PerAddress: cfg.AuthFailures,
		PerUser: perUser, Tries: cfg.AuthTries})
}

// limitKey is the username a digest response is counted under: the
// account it names in the same spelling lookup tries first, so that
// "reception" in realm acmebrick.x.co.nz and
// "reception@acmebrick.x.co.nz" share one budget.
func limitKey(username, realm string) string {
	username, realm = strings.ToLower(username), strings.ToLower(realm)
	if strings.Contains(username, "@") || realm == "" || username == realm {
		return username
	}
	return username + "@" + realm
}

// aorUser returns the unescaped user part and lower-case host of a URI.
func aorUser(u *sip.Uri) (user, host string) {
	user = u.User
	if v, err := url.PathUnescape(user); err == nil {
		user = v
	}
	return strings.ToLower(user), strings.ToLower(u.Host)
}

// aorName is the account username an address of record names:
// sip:reception@acmebrick.x.co.nz and sip:reception%40acmebrick.x.co.nz@pbx
// both name reception@acmebrick.x.co.nz, sip:acmebrick.x.co.nz names the
// company account.
func aorName(u *sip.Uri) string {
	user, host := aorUser(u)
	switch {
	case strings.Contains(user, "@"):
		return user
	case user == "":
		return host
	}
	return user + "@" + host
}

// realmFor picks the realm to challenge a request for the address of
// record u: the realm of the account u names, or of the account named by
// its user part alone (a number under _tel), else u's host. It fails
// (EUNAVAILABLE) when the store cannot say: a guessed realm would make a
// phone answer a challenge it cannot pass.
func (s *Server) realmFor(ctx context.Context, u *sip.Uri) (string, error) {
	user, host := aorUser(u)
	if strings.Contains(user, "@") || user == "" {
		return secret.Realm(aorName(u)), nil
	}
	_, err := s.reg.SIPCredentials(ctx, user+"@"+host)
	switch {
	case err == nil:
		return host, nil
	case unavailable(err):
		return "", err
	}
	c, err := s.reg.SIPCredentials(ctx, user)
	switch {
	case err == nil:
		return c.Realm, nil
	case unavailable(err):
		return "", err
	}
	return host, nil
}

// challenge answers 401 (or 407 for proxy) with one digest challenge per
// algorithm, SHA-256 first, sharing one fresh nonce. The challenge is
// stateless, as Kamailio's is: the transaction ends as it is sent,
// instead of keeping the request and the 401 for 32 s (Timer J) to
// answer retransmissions. In a registration storm those kept challenges
// were half the live transactions, memory the garbage collector went
// through again and again; a retransmitted request without credentials
// now simply draws a fresh challenge, which takes no store read (see
// credCache). The phone answers whichever it got.
func (s *Server) challenge(tx responder, req *sip.Request, proxy bool, realm string, stale bool) {
	code, reason, name := sip.StatusUnauthorized, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = sip.StatusProxyAuthRequired, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	nonce := s.nonces.make(realm, sourceIP(req), s.cfg.Now())
	var hdrs []sip.Header
	for _, alg := range s.cfg.DigestAlgorithms {
		c := digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		hdrs = append(hdrs, sip.NewHeader(name, c.String()))
	}
	s.respond(statelessly(tx), req, code, reason, hdrs...)
}

// lookup finds the account of a digest username: the full username
// (reception@acmebrick.x.co.nz), or the local part with the realm
// (reception in realm acmebrick.x.co.nz), or a username without "@" that
// is its own realm (a company account, a number). local reports the
// second form, which is checked against the local-part HA1 values.
func (s *Server) lookup(ctx context.Context, username, realm string) (c xc5.SIPCredentials, local bool, err error) {
	username, realm = strings.ToLower(username), strings.ToLower(realm)
	if strings.Contains(username, "@") || realm == "" || username == realm {
		c, err = s.reg.SIPCredentials(ctx, username)
		return c, false, err
	}
	c, err = s.reg.SIPCredentials(ctx, username+"@"+realm)
	if xc5.ErrorCode(err) == xc5.ENOTFOUND {
		c, err = s.reg.SIPCredentials(ctx, username)
		return c, false, err
	}
	return c, true, err
}

// hasher returns the hash of a digest algorithm name, nil if not offered.
func hasher(alg string) func() hash.Hash {
	switch strings.ToUpper(alg) {
	case "", "MD5":
		return md5.New
	case "SHA-256":
		return sha256.New
	}
	return nil
}

// hashJoin is the hex digest of parts joined by ":", hashed as written
// (no joined copy, no digest allocated).
func hashJoin(h func() hash.Hash, parts ...string) string {
	w := h()
	for i, p := range parts {
		if i > 0 {
			io.WriteString(w, ":")
		}
		io.WriteString(w, p)
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(w.Sum(sum[:0]))
}

// expected computes the digest response (RFC 7616 §3.4.1, qop=auth or
// none) from the stored HA1.
func expected(h func() hash.Hash, ha1, method string, c *digest.Credentials) string {
	ha2 := hashJoin(h, method, c.URI)
	if c.QOP == "" {
		return hashJoin(h, ha1, c.Nonce, ha2)
	}
	return hashJoin(h, ha1, c.Nonce, fmt.Sprintf("%08x", c.Nc), c.Cnonce, c.QOP, ha2)
}

// credentialsOf returns the first digest credentials in req's
// Authorization (or Proxy-Authorization) headers; nil when there are
// none, and an error when one is malformed.
func credentialsOf(req *sip.Request, name string) (*digest.Credentials, error) {
	for _, h := range req.GetHeaders(name) {
		if !digest.IsDigest(h.Value()) {
			continue
		}
		return parseCredentials(h.Value())
	}
	return nil, nil
}

// firstChallenge challenges req in the realm of its address of record: the
// To header for REGISTER, From for anything else.
func (s *Server) firstChallenge(ctx context.Context, tx responder, req *sip.Request, proxy, stale bool) {
	var aor *sip.Uri
	if to := req.To(); req.Method == sip.REGISTER && to != nil {
		aor = &to.Address
	} else if from := req.From(); req.Method != sip.REGISTER && from != nil {
		aor = &from.Address
	}
	realm := ""
	if aor != nil {
		var err error
		if realm, err = s.realmFor(ctx, aor); err != nil {
			s.storeFailed(tx, req, err)
			return
		}
	}
	s.challenge(tx, req, proxy, realm, stale)
}

// Authenticate checks the digest credentials of req (Authorization, or
// Proxy-Authorization when proxy is set) against the account they name,
// using its stored HA1 values. When they are missing, stale, replayed or
// wrong it answers req itself (401/407 with fresh challenges, 403, 400,
// or 503 when the store cannot be read) and returns false; it counts
// wrong ones against the failure limits of the source IP and of the
// username (see package ratelimit and docs/sip.md). The realm of a first challenge comes from the address
// of record: the To header for REGISTER, From for anything else. A
// disabled account is refused with 403 once its credentials are right.
func (s *Server) Authenticate(req *sip.Request, tx sip.ServerTransaction, proxy bool) (xc5.SIPCredentials, bool) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RequestTimeout)
	defer cancel()
	return s.authenticate(ctx, req, tx, proxy)
}

func (s *Server) authenticate(ctx context.Context, req *sip.Request, tx responder, proxy bool) (xc5.SIPCredentials, bool) {
	var none xc5.SIPCredentials
	now := s.cfg.Now()
	ip := sourceIP(req)
	creds, ok := s.answeredChallenge(ctx, req, tx, proxy, ip, now)
	if !ok {
		return none, false
	}
	// The slot is taken before the account is read and the response
	// checked, so that parallel guesses cannot overshoot the limits.
	slot, err := s.limiter.Reserve(ctx, ip, limitKey(creds.Username, creds.Realm), now)
	if err != nil {
		s.respond(tx, req, sip.StatusForbidden, "Too Many Failed Authentications")
		return none, false
	}
	a := &authAttempt{s: s, ctx: ctx, req: req, tx: tx, proxy: proxy, now: now, creds: creds, slot: slot}
	acct, local, ok := a.account()
	if !ok || !a.passwordRight(acct, local) {
		return none, false
	}
	slot.Succeed()
	// The password is right. A disabled account stops here; a bad, old
	// or reused nonce gets a fresh one with stale=true, so that the phone
	// retries without asking its user.
	if !acct.Enabled {
		s.respond(tx, req, sip.StatusForbidden, "Account Disabled")
		return none, false
	}
	if !s.freshNonce(tx, req, proxy, creds, acct.Realm, acct.Username) {
		return none, false
	}
	// The source that answered correctly is not throttled for MaxExpires,
	// and its address gets the higher ceiling: see throttle.
	s.throttle.authenticatedFrom(originOf(req.Source(), req.Transport()), now)
	return acct, true
}

// answeredChallenge returns the digest credentials of req when they answer
// a challenge xc5 sent to its source address; otherwise (a blocked
// address, no or malformed credentials, a nonce not ours) it has answered
// req and returns false, having counted nothing.
func (s *Server) answeredChallenge(ctx context.Context, req *sip.Request, tx responder, proxy bool, ip string, now time.Time) (*digest.Credentials, bool) {
	if _, blocked := s.limiter.Blocked(ip, now); blocked {
		s.respond(tx, req, sip.StatusForbidden, "Too Many Failed Authentications")
		return nil, false
	}
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	creds, err := credentialsOf(req, name)
	if err != nil {
		s.respond(tx, req, sip.StatusBadRequest, "Malformed "+name)
		return nil, false
	}
	if creds == nil {
		s.firstChallenge(ctx, tx, req, proxy, false)
		return nil, false
	}
	if _, _, ok := s.nonces.check(creds.Nonce, creds.Realm, ip); !ok {
		// Not a nonce we sent to this address (forged, from before a
		// restart, or sent to another address): nothing is checked or
		// counted, so that answers from forged source addresses, which
		// never saw a challenge, cannot fill the limiter. stale=true lets
		// a real phone retry without asking its user.
		s.firstChallenge(ctx, tx, req, proxy, true)
		return nil, false
	}
	return creds, true
}

// authAttempt is one check of digest credentials that holds a slot of the
// failure limits: each of its steps either goes on or answers the request
// and settles the slot (a failure counted, or released when nothing was
// learnt about the password).
type authAttempt struct {
	s     *Server
	ctx   context.Context
	req   *sip.Request
	tx    responder
	proxy bool
	now   time.Time
	creds *digest.Credentials
	slot  *ratelimit.Slot
}

// fail counts a wrong answer and refuses the request.
func (a *authAttempt) fail(code int, reason string) bool {
	a.slot.Fail(a.ctx, a.now)
	a.s.respond(a.tx, a.req, code, reason)
	return false
}

// account reads the account the credentials name, and whether they name
// it by its local (per-organisation) username.
func (a *authAttempt) account() (acct xc5.SIPCredentials, local, ok bool) {
	s, creds := a.s, a.creds
	if len(creds.Username) > ratelimit.MaxUsername {
		// No account has such a name: a failure of the address's, under
		// the limiter's one key for long usernames, without a lookup.
		return acct, false, a.fail(sip.StatusForbidden, "Forbidden")
	}
	acct, local, err := s.lookup(a.ctx, creds.Username, creds.Realm)
	switch {
	case xc5.ErrorCode(err) == xc5.ENOTFOUND:
		return acct, local, a.fail(sip.StatusForbidden, "Forbidden")
	case err != nil:
		// The store cannot say: nothing was learnt, count nothing, and
		// let the phone retry rather than tell it its password is wrong.
		a.slot.Release()
		s.storeFailed(a.tx, a.req, err)
		return acct, local, false
	case creds.Realm != acct.Realm:
		// Challenged in another realm (a registrar address that names no
		// account, say): no password was checked, so count nothing (phones
		// behind one NAT share the address's budget), and challenge again
		// in the right one.
		a.slot.Release()
		s.challenge(a.tx, a.req, a.proxy, acct.Realm, false)
		return acct, local, false
	}
	return acct, local, true
}

// passwordRight checks the digest response against acct's stored HA1 of
// the algorithm answered.
func (a *authAttempt) passwordRight(acct xc5.SIPCredentials, local bool) bool {
	s, creds := a.s, a.creds
	h := offered(creds)
	if h == nil {
		// Not what was offered: offer it again.
		a.slot.Release()
		s.challenge(a.tx, a.req, a.proxy, acct.Realm, false)
		return false
	}
	ha1 := acct.HA1MD5
	switch {
	case local && h().Size() == sha256.Size:
		ha1 = acct.LocalHA1SHA256
	case local:
		ha1 = acct.LocalHA1MD5
	case h().Size() == sha256.Size:
		ha1 = acct.HA1SHA256
	}
	want := expected(h, ha1, string(a.req.Method), creds)
	if ha1 == "" || subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(creds.Response))) != 1 {
		if lastKnown, stale := lastKnownMismatch(a.ctx); lastKnown {
			// Checked against secrets kept from before the store went
			// away: the phone may hold a newer password. Count nothing
			// and let it retry once the store is back.
			a.slot.Release()
			s.log.Warn("emergency call: digest does not match the last-known secrets while the store is unavailable",
				"user", creds.Username, "changed_since", stale)
			s.respond(a.tx, a.req, sip.StatusServiceUnavailable, "Service Unavailable", storeRetryHeader())
			return false
		}
		return a.fail(sip.StatusForbidden, "Forbidden")
	}
	return true
}

// offered returns the hash of an answer made as challenged (an offered
// algorithm, qop auth or none, no userhash), nil otherwise.
func offered(creds *digest.Credentials) func() hash.Hash {
	if creds.Userhash || (creds.QOP != "" && creds.QOP != "auth") || (creds.QOP != "" && creds.Nc <= 0) {
		return nil
	}
	return hasher(creds.Algorithm)
}

// freshNonce checks, once the response is known right, that its nonce is
// ours, young and not replayed; otherwise it challenges again with
// stale=true, so that the client retries without asking its user.
func (s *Server) freshNonce(tx responder, req *sip.Request, proxy bool, creds *digest.Credentials, realm, user string) bool {
	now := s.cfg.Now()
	id, issued, ok := s.nonces.check(creds.Nonce, realm, sourceIP(req))
	if !ok || now.Unix()-issued >= int64(s.cfg.NonceTTL/time.Second) || issued > now.Unix()+60 {
		s.challenge(tx, req, proxy, realm, true)
		return false
	}
	nc := uint32(1) // without qop a nonce is good for one request
	if creds.QOP != "" {
		nc = uint32(creds.Nc)
	}
	if replay, stale := s.replay.use(id, issued, nc); replay || stale {
		if replay {
			s.log.Info("replayed digest nonce-count", "user", user, "source", req.Source())
		}
		s.challenge(tx, req, proxy, realm, true)
		return false
	}
	return true
}
