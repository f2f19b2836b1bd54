package portal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"xc5"
	"xc5/ratelimit"
	"xc5/resource"
	"xc5/routing"
	"xc5/secret"
)

// Sessions are the API's (docs/api.md, "Sessions"): a session row in the
// store (CreateSession, SessionActive, DeleteSession; the store deletes an
// account's sessions when its password, username or state changes) and
// an HS256 token naming it, in an HttpOnly, SameSite=Strict cookie. The
// portal's token also names the company it was opened at, so that a
// cookie is good at that company's portal only, and its own key, so that
// neither the API's cookie nor the portal's opens the other.

// cookieName is the session cookie; preCookie carries the login form's
// CSRF secret before there is a session.
const (
	cookieName = "xc5_portal"
	preCookie  = "xc5_portal_login"
)

type claims struct {
	Account string `json:"acct"`
	Company string `json:"co"`
	Cred    string `json:"cred"`
	jwt.RegisteredClaims
}

// user is the account a request acts for.
type user struct {
	GUID, Username string
	// Admin is a company administrator: api_access=user on the company
	// or an account above it (or system access). Others act on their own
	// account only.
	Admin bool
	// Outside is an administrator whose own account is not of the company
	// (a reseller or system account above it): pages that show one account
	// show the company account by default, and it has no "My account".
	Outside bool
	jti     string
}

var errLogin = errors.New("invalid username or password")

// credFingerprint identifies an account's credentials (as the API's):
// a new password, username or GUID gives a new one.
func credFingerprint(c resource.Credentials) []byte {
	h := sha256.New()
	for _, v := range []string{c.GUID, strings.ToLower(c.Username), c.Hash} {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

func (s *Server) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// role decides whether creds may use company co's portal, and how: an
// enabled account of the company's subtree, or an administrator above it.
func role(creds resource.Credentials, co resource.Record) (admin, ok bool) {
	if !creds.Enabled {
		return false, false
	}
	switch {
	case creds.Access == resource.AccessSystem:
		return true, true
	case creds.Access == resource.AccessUser && strings.HasPrefix(co.Path, creds.Path):
		return true, true // the company itself, or an account above it granting api_access
	case strings.HasPrefix(creds.Path, co.Path):
		return false, true
	}
	return false, false
}

// companyRecord reads the company's account record (its path).
func (s *Server) companyRecord(ctx context.Context, co *routing.Account) (resource.Record, error) {
	return s.store.Get(ctx, "", resource.Account, "", co.GUID)
}

// login checks a username and password under the API's failed-login
// limits and opens a session at company co.
func (s *Server) login(ctx context.Context, w http.ResponseWriter, r *http.Request, co *routing.Account, base, username, password string) error {
	username = strings.ToLower(strings.TrimSpace(username))
	now := time.Now()
	slot, err := s.limiter.Reserve(ctx, clientIP(r), username, now)
	if err != nil {
		var ref *ratelimit.Refused
		if errors.As(err, &ref) {
			return xc5.Errorf(xc5.ERATELIMIT, "too many failed attempts; try again in %d seconds", max(1, int(ref.RetryAfter.Seconds()+0.999)))
		}
		return err
	}
	if username == "" || len(username) > ratelimit.MaxUsername {
		slot.Fail(ctx, now)
		return errLogin
	}
	creds, err := s.store.Credentials(ctx, username)
	if err != nil && xc5.ErrorCode(err) != xc5.ENOTFOUND {
		slot.Release()
		return err
	}
	corec, err2 := s.companyRecord(ctx, co)
	if err2 != nil {
		slot.Release()
		return err2
	}
	_, ok := role(creds, corec)
	if !secret.Verify(creds.Hash, password) || !ok {
		// An account of another company fails like a wrong password: the
		// page tells nothing of who exists elsewhere.
		slot.Fail(ctx, now)
		return errLogin
	}
	slot.Succeed()
	id := make([]byte, 16)
	rand.Read(id)
	expires := now.Add(s.ttl)
	c := claims{Account: creds.GUID, Company: co.GUID, Cred: s.mac("cred", string(credFingerprint(creds))),
		RegisteredClaims: jwt.RegisteredClaims{Subject: creds.Username, ID: hex.EncodeToString(id),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(expires)}}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	if err != nil {
		return err
	}
	if err := s.store.CreateSession(ctx, c.ID, creds.GUID, expires); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: base, Expires: expires,
		MaxAge: int(s.ttl.Seconds()), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return nil
}

// session returns the user of a request's session cookie at company co,
// or ok false: no cookie, a bad or ended session, a session opened at
// another company, or an account that may no longer use this portal.
func (s *Server) session(ctx context.Context, r *http.Request, co *routing.Account) (user, bool, error) {
	ck, err := r.Cookie(cookieName)
	if err != nil || len(s.key) == 0 {
		return user{}, false, nil
	}
	var c claims
	_, err = jwt.ParseWithClaims(ck.Value, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil || c.ID == "" || c.Company != co.GUID {
		return user{}, false, nil
	}
	active, err := s.store.SessionActive(ctx, c.ID)
	if err != nil || !active {
		return user{}, false, err
	}
	creds, err := s.store.Credentials(ctx, c.Subject)
	if xc5.ErrorCode(err) == xc5.EUNAVAILABLE {
		return user{}, false, err
	}
	if err != nil || creds.GUID != c.Account || !hmac.Equal([]byte(c.Cred), []byte(s.mac("cred", string(credFingerprint(creds))))) {
		return user{}, false, nil
	}
	corec, err := s.companyRecord(ctx, co)
	if err != nil {
		return user{}, false, err
	}
	admin, ok := role(creds, corec)
	if !ok {
		return user{}, false, nil
	}
	outside := !strings.HasPrefix(creds.Path, corec.Path)
	return user{GUID: creds.GUID, Username: creds.Username, Admin: admin, Outside: outside, jti: c.ID}, true, nil
}

// logout ends the session and clears the cookie.
func (s *Server) logout(ctx context.Context, w http.ResponseWriter, u user, base string) error {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: base, MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return s.store.DeleteSession(ctx, u.jti)
}

// csrfToken is the token every form of a session carries: an HMAC of
// the session's id, so it is neither guessable nor good elsewhere.
func (s *Server) csrfToken(u user) string { return s.mac("csrf", u.jti) }

// loginToken sets (once) the login form's CSRF secret cookie and returns
// the token the form carries: a login cannot be forged from another
// site either (login CSRF).
func (s *Server) loginToken(w http.ResponseWriter, r *http.Request, base string) string {
	v := ""
	if ck, err := r.Cookie(preCookie); err == nil && len(ck.Value) == 32 {
		v = ck.Value
	} else {
		b := make([]byte, 16)
		rand.Read(b)
		v = hex.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: preCookie, Value: v, Path: base, HttpOnly: true,
			Secure: s.secure, SameSite: http.SameSiteStrictMode})
	}
	return s.mac("login", v)
}

// loginTokenOK checks the login form's token against its cookie.
func (s *Server) loginTokenOK(r *http.Request, token string) bool {
	ck, err := r.Cookie(preCookie)
	return err == nil && len(ck.Value) == 32 && hmac.Equal([]byte(token), []byte(s.mac("login", ck.Value)))
}

// sameOrigin refuses a state-changing request whose Origin (when the
// browser sends one) is another host: a second line behind the token.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
