package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"xc5"
	"xc5/resource"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "xc5_session"

// sessionClaims are the JWT claims of a session: the account's username
// as subject and its GUID, so that a re-created account of the same name
// does not inherit an old session, and a tag of the credentials it was
// opened with (credTag), so that a session opened with credentials that
// have since changed is refused when used: ending the account's sessions
// when the credentials change cannot reach a session opened just after,
// with credentials verified just before (or cached).
type sessionClaims struct {
	Account string `json:"acct"`
	Cred    string `json:"cred"`
	jwt.RegisteredClaims
}

// credTag is the session's tag of a caller's credentials: an HMAC under
// the session key, so that the cookie tells nothing of the password hash.
func (s *Server) credTag(c Caller) string {
	m := hmac.New(sha256.New, s.sessionKey)
	m.Write([]byte(c.cred))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

var errBadSession = xc5.Errorf(xc5.EUNAUTHORIZED, "the session is invalid or has ended; log in again with PUT /api-sys/session")

// sessionCaller authenticates a request by its session cookie. The token
// must be HS256-signed with this installation's key (alg "none" and other
// algorithms are refused), unexpired, and its session must still exist:
// the store deletes an account's sessions in the write that changes its
// password or username or disables it.
func (s *Server) sessionCaller(ctx context.Context, r *http.Request) (Caller, string, error) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || len(s.sessionKey) == 0 {
		return Caller{}, "", errUnauthorized
	}
	var claims sessionClaims
	_, err = jwt.ParseWithClaims(ck.Value, &claims, func(*jwt.Token) (any, error) { return s.sessionKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil || claims.ID == "" {
		return Caller{}, "", errBadSession
	}
	active, err := s.store.SessionActive(ctx, claims.ID)
	if err != nil {
		return Caller{}, "", err
	}
	if !active {
		return Caller{}, "", errBadSession
	}
	creds, err := s.store.Credentials(ctx, claims.Subject)
	if xc5.ErrorCode(err) == xc5.EUNAVAILABLE {
		return Caller{}, "", err
	}
	if err != nil || creds.GUID != claims.Account {
		return Caller{}, "", errBadSession
	}
	c, err := callerOf(creds)
	if err == nil && !hmac.Equal([]byte(claims.Cred), []byte(s.credTag(c))) {
		return Caller{}, "", errBadSession // opened with credentials that have changed
	}
	return c, claims.ID, err
}

// session serves PUT (log in) and DELETE (log out) of /api-sys/session.
func (s *Server) session(w http.ResponseWriter, r *http.Request, c Caller, jti string) error {
	if r.Method == http.MethodDelete {
		if jti == "" {
			return xc5.Errorf(xc5.EINVALID, "no session cookie to end")
		}
		if err := s.store.DeleteSession(r.Context(), jti); err != nil {
			return err
		}
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: Base, MaxAge: -1,
			HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
		writeJSON(w, http.StatusOK, []byte("[]\n"))
		return nil
	}
	if len(s.sessionKey) == 0 {
		return xc5.Errorf(xc5.EINVALID, "sessions are not configured on this server")
	}
	id := make([]byte, 16)
	rand.Read(id)
	now := time.Now()
	expires := now.Add(s.sessionTTL)
	claims := sessionClaims{Account: c.GUID, Cred: s.credTag(c), RegisteredClaims: jwt.RegisteredClaims{
		Subject: c.Username, ID: hex.EncodeToString(id), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(expires)}}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.sessionKey)
	if err != nil {
		return err
	}
	if err := s.store.CreateSession(r.Context(), claims.ID, c.GUID, expires); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: Base, Expires: expires,
		MaxAge: int(s.sessionTTL.Seconds()), HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	rec := resource.Record{Values: map[string]any{"account": c.Username, "expires": expires.UTC().Format(time.RFC3339)}}
	b := []byte(`[{"account":`)
	b = appendString(b, rec.Values["account"].(string))
	b = append(b, `,"expires":`...)
	b = appendString(b, rec.Values["expires"].(string))
	b = append(b, `,"_links":{"self":{"href":"/api-sys/session"}}}]`+"\n"...)
	w.Header().Set("Location", Base+"session")
	writeJSON(w, http.StatusCreated, b)
	return nil
}
