package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"xc5"
	"xc5/ratelimit"
	"xc5/resource"
	"xc5/secret"
)

// Caller is an authenticated API client.
type Caller struct {
	GUID     string
	Username string
	// Scope is "" for system access, else the partition root's path.
	Scope resource.Scope
	// cred fingerprints the credentials the caller was verified with
	// (credFingerprint); a session opened with them holds it, so that it
	// ends when they change, however late it was opened.
	cred string
}

// AuthOptions tune authentication; zero values take the defaults.
type AuthOptions struct {
	// CacheTTL bounds how long a verified credential is trusted without
	// hashing again; it is also how long a password change made through
	// another node can take to reach this one.
	CacheTTL time.Duration
	// FailuresPerIP and FailuresPerAccount are the failed attempts allowed
	// per minute from one address (default 30) and for one username from
	// addresses failing for it (default 10); CleanTries is how many times
	// an address may fail for a username before it counts as failing for
	// it (default 3). See package ratelimit and docs/api.md.
	FailuresPerIP, FailuresPerAccount, CleanTries int
	// Shared, when set, counts failures across the nodes sharing a
	// database; without it each node counts its own.
	Shared ratelimit.Counter
	// Limiter, when set, is the failed-login limiter to use instead of one
	// built from the fields above: give the same one to every login
	// service of the node (the company portal), so that they count
	// failures together and no one gets a budget at each.
	Limiter *ratelimit.Limiter
	// Fresh, when set, reports whether this node hears of every write
	// before it is acknowledged (the store's change feed and fence); while
	// it does not, cached credentials are not trusted, since a password
	// change through another node might not have reached this one.
	Fresh func() bool
}

// maxCached bounds the credential cache; a flood of distinct valid
// credentials just starts it over.
const maxCached = 10000

type cached struct {
	caller  Caller
	expires time.Time
}

// authenticator checks Basic credentials against accounts. A verified
// Authorization header is cached, because the password hash is slow on
// purpose and clients send the same credentials on every request.
type authenticator struct {
	store   resource.Store
	opts    AuthOptions
	limiter *ratelimit.Limiter
	mu      sync.Mutex
	cache   map[string]cached
	now     func() time.Time
	// gen counts invalidations: a login verified against credentials read
	// before an invalidation must not enter the cache after it.
	gen uint64
	// flight merges concurrent checks of the same Authorization header.
	flight singleflight.Group
}

func newAuthenticator(store resource.Store, opts AuthOptions) *authenticator {
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 30 * time.Second
	}
	lim := opts.Limiter
	if lim == nil {
		lim = ratelimit.New(ratelimit.Config{PerAddress: opts.FailuresPerIP, PerUser: opts.FailuresPerAccount,
			Tries: opts.CleanTries, Shared: opts.Shared})
	}
	return &authenticator{store: store, opts: opts, limiter: lim, cache: map[string]cached{}, now: time.Now}
}

// fresh reports whether cached credentials may be trusted.
func (a *authenticator) fresh() bool { return a.opts.Fresh == nil || a.opts.Fresh() }

var errUnauthorized = xc5.Errorf(xc5.EUNAUTHORIZED, "authentication required: use Basic authentication with an account that has api_access")

// rateLimited is the 429 of a refused attempt, with its Retry-After.
type rateLimited struct {
	err        *xc5.Error
	retryAfter time.Duration
}

func (e rateLimited) Error() string { return e.err.Error() }
func (e rateLimited) Unwrap() error { return e.err }

// authenticate returns the caller of r.
func (a *authenticator) authenticate(ctx context.Context, r *http.Request) (Caller, error) {
	header := r.Header.Get("Authorization")
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" {
		return Caller{}, errUnauthorized
	}
	now := a.now()
	a.mu.Lock()
	ent, hit := a.cache[header]
	hit = hit && now.Before(ent.expires) && a.fresh()
	gen := a.gen
	a.mu.Unlock()
	ip := clientIP(r)
	if hit {
		// A refused address gets no answer from the cache either, or it
		// could keep guessing against it for free.
		if wait, ok := a.limiter.Allows(ip, strings.ToLower(user), now); !ok {
			return Caller{}, refusedError(wait)
		}
		return ent.caller, nil
	}

	// Concurrent requests with the same credentials share one check: a
	// client opening 64 connections at once must not cost 64 slow hashes
	// (and 64 times the hash's memory). The slot is taken inside, so that
	// one check is one slot.
	v, err, _ := a.flight.Do(ip+"\x00"+header, func() (any, error) {
		return a.check(context.WithoutCancel(ctx), ip, user, pass, now)
	})
	if err != nil {
		return Caller{}, err
	}
	c := v.(Caller)
	a.mu.Lock()
	if len(a.cache) >= maxCached {
		a.cache = map[string]cached{}
	}
	if a.gen == gen && a.fresh() {
		a.cache[header] = cached{caller: c, expires: now.Add(a.opts.CacheTTL)}
	}
	a.mu.Unlock()
	return c, nil
}

// check reserves a slot with the limiter, then verifies the password.
func (a *authenticator) check(ctx context.Context, ip, user, pass string, now time.Time) (Caller, error) {
	slot, err := a.limiter.Reserve(ctx, ip, strings.ToLower(user), now) // usernames are case-insensitive
	if err != nil {
		var ref *ratelimit.Refused
		errors.As(err, &ref)
		return Caller{}, refusedError(ref.RetryAfter)
	}
	if len(user) > ratelimit.MaxUsername {
		// No account has such a name: a failure, counted under the
		// limiter's one key for long usernames, without a lookup.
		slot.Fail(ctx, now)
		return Caller{}, xc5.Errorf(xc5.EUNAUTHORIZED, "invalid username or password")
	}
	creds, err := a.store.Credentials(ctx, user)
	if err != nil && xc5.ErrorCode(err) != xc5.ENOTFOUND {
		slot.Release() // nothing learnt about the password: count nothing
		return Caller{}, err
	}
	if !secret.Verify(creds.Hash, pass) {
		slot.Fail(ctx, now)
		return Caller{}, xc5.Errorf(xc5.EUNAUTHORIZED, "invalid username or password")
	}
	slot.Succeed()
	return callerOf(creds)
}

// AuthStats reports the login limiter's counters: passwords checked,
// attempts refused without a check, checks that failed.
func (s *Server) AuthStats() ratelimit.Stats { return s.auth.limiter.Stats() }

// refusedError is the 429 of an attempt refused for wait.
func refusedError(wait time.Duration) error {
	return rateLimited{err: xc5.Errorf(xc5.ERATELIMIT, "too many failed authentication attempts; try again in %d seconds",
		retrySeconds(wait)), retryAfter: wait}
}

// retrySeconds rounds a wait up to whole seconds, at least one.
func retrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// retryAfter is the Retry-After of a login refused by the limiter (an
// unavailable store's is set by writeError).
func retryAfter(err error) (string, bool) {
	var rl rateLimited
	if errors.As(err, &rl) {
		return strconv.Itoa(retrySeconds(rl.retryAfter)), true
	}
	return "", false
}

// invalidate forgets cached credentials after a write to account guid
// (all when guid is ""): the account's own, which may have a new password,
// state or access, and those of its descendants, whose partition moves
// with it when the account is moved.
func (a *authenticator) invalidate(guid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	for k, c := range a.cache {
		if guid == "" || c.caller.GUID == guid || strings.Contains(string(c.caller.Scope), "/"+guid+"/") {
			delete(a.cache, k)
		}
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// credFingerprint identifies an account's credentials: its GUID, username
// and password hash (salted, so a new password, even the same one, gives a
// new fingerprint). It never leaves the process: sessions hold an HMAC of
// it (session.go).
func credFingerprint(c resource.Credentials) string {
	h := sha256.New()
	for _, v := range []string{c.GUID, strings.ToLower(c.Username), c.Hash} {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return string(h.Sum(nil))
}

// callerOf turns an account's credentials into a caller, refusing disabled
// accounts and accounts without api_access.
func callerOf(creds resource.Credentials) (Caller, error) {
	if !creds.Enabled {
		return Caller{}, xc5.Errorf(xc5.EFORBIDDEN, "account %s is disabled", creds.Username)
	}
	c := Caller{GUID: creds.GUID, Username: creds.Username, cred: credFingerprint(creds)}
	switch creds.Access {
	case resource.AccessSystem:
	case resource.AccessUser:
		c.Scope = resource.Scope(creds.Path)
	default:
		return Caller{}, xc5.Errorf(xc5.EFORBIDDEN, "account %s has no API access (accountresource api_access)", creds.Username)
	}
	return c, nil
}
