package api

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"xc5"
	"xc5/resource"
	"xc5/secret"
)

// Caller is an authenticated API client.
type Caller struct {
	GUID     string
	Username string
	// Scope is "" for system access, else the partition root's path.
	Scope resource.Scope
}

// AuthOptions tune authentication; zero values take the defaults.
type AuthOptions struct {
	// CacheTTL bounds how long a verified credential is trusted without
	// hashing again; it is also how long a password change made through
	// another node can take to reach this one.
	CacheTTL time.Duration
	// FailuresPerIP and FailuresPerAccount are the failed attempts allowed
	// per minute before further attempts get 429.
	FailuresPerIP, FailuresPerAccount int
	// Shared, when set, counts failures across the nodes sharing a
	// database; without it each node counts its own.
	Shared FailureLog
	// Fresh, when set, reports whether this node hears of every write
	// before it is acknowledged (the store's change feed and fence); while
	// it does not, cached credentials are not trusted, since a password
	// change through another node might not have reached this one.
	Fresh func() bool
}

// FailureLog counts failed logins per key and minute where every node
// sees them.
type FailureLog interface {
	AddFailure(ctx context.Context, key string, now time.Time) (int, error)
	Failures(ctx context.Context, key string, now time.Time) (int, error)
}

// maxCached bounds the credential cache; a flood of distinct valid
// credentials just starts it over.
const maxCached = 10000

type cached struct {
	caller  Caller
	expires time.Time
}

type window struct {
	start time.Time
	count int
}

// authenticator checks Basic credentials against accounts. A verified
// Authorization header is cached, because the password hash is slow on
// purpose and clients send the same credentials on every request.
type authenticator struct {
	store resource.Store
	opts  AuthOptions
	mu    sync.Mutex
	cache map[string]cached
	fails map[string]*window
	now   func() time.Time
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
	if opts.FailuresPerIP == 0 {
		opts.FailuresPerIP = 30
	}
	if opts.FailuresPerAccount == 0 {
		opts.FailuresPerAccount = 10
	}
	return &authenticator{store: store, opts: opts, cache: map[string]cached{}, fails: map[string]*window{}, now: time.Now}
}

// fresh reports whether cached credentials may be trusted.
func (a *authenticator) fresh() bool { return a.opts.Fresh == nil || a.opts.Fresh() }

var errRateLimited = xc5.Errorf(xc5.ERATELIMIT, "too many failed authentication attempts; try again in a minute")

var errUnauthorized = xc5.Errorf(xc5.EUNAUTHORIZED, "authentication required: use Basic authentication with an account that has api_access")

// authenticate returns the caller of r.
func (a *authenticator) authenticate(ctx context.Context, r *http.Request) (Caller, error) {
	header := r.Header.Get("Authorization")
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" {
		return Caller{}, errUnauthorized
	}
	now := a.now()
	a.mu.Lock()
	if c, ok := a.cache[header]; ok && now.Before(c.expires) && a.fresh() {
		a.mu.Unlock()
		return c.caller, nil
	}
	ip := clientIP(r)
	ipKey, userKey := "ip:"+ip, "user:"+strings.ToLower(user) // usernames are case-insensitive
	if a.limited(ipKey, a.opts.FailuresPerIP, now) || a.limited(userKey, a.opts.FailuresPerAccount, now) {
		a.mu.Unlock()
		return Caller{}, errRateLimited
	}
	gen := a.gen
	a.mu.Unlock()
	if sh := a.opts.Shared; sh != nil {
		nIP, _ := sh.Failures(ctx, ipKey, now)
		nUser, _ := sh.Failures(ctx, userKey, now)
		if nIP >= a.opts.FailuresPerIP || nUser >= a.opts.FailuresPerAccount {
			return Caller{}, errRateLimited
		}
	}

	// Concurrent requests with the same credentials share one check: a
	// client opening 64 connections at once must not cost 64 slow hashes
	// (and 64 times the hash's memory).
	v, err, _ := a.flight.Do(header, func() (any, error) {
		return a.verify(context.WithoutCancel(ctx), user, pass, ipKey, userKey, now)
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

// verify checks a username and password against the store.
func (a *authenticator) verify(ctx context.Context, user, pass, ipKey, userKey string, now time.Time) (Caller, error) {
	creds, err := a.store.Credentials(ctx, user)
	if err != nil && xc5.ErrorCode(err) != xc5.ENOTFOUND {
		return Caller{}, err
	}
	if !secret.Verify(creds.Hash, pass) {
		a.mu.Lock()
		a.fail(ipKey, now)
		a.fail(userKey, now)
		a.mu.Unlock()
		if sh := a.opts.Shared; sh != nil {
			sh.AddFailure(ctx, ipKey, now)
			sh.AddFailure(ctx, userKey, now)
		}
		return Caller{}, xc5.Errorf(xc5.EUNAUTHORIZED, "invalid username or password")
	}
	return callerOf(creds)
}

// limited reports whether key has used up its failures this minute.
// Callers hold a.mu.
func (a *authenticator) limited(key string, max int, now time.Time) bool {
	w := a.fails[key]
	return w != nil && now.Sub(w.start) < time.Minute && w.count >= max
}

// fail counts a failed attempt for key. Callers hold a.mu.
func (a *authenticator) fail(key string, now time.Time) {
	if len(a.fails) > 100000 { // keep memory bounded under a spray of keys
		for k, w := range a.fails {
			if now.Sub(w.start) >= time.Minute {
				delete(a.fails, k)
			}
		}
	}
	w := a.fails[key]
	if w == nil || now.Sub(w.start) >= time.Minute {
		w = &window{start: now}
		a.fails[key] = w
	}
	w.count++
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

// callerOf turns an account's credentials into a caller, refusing disabled
// accounts and accounts without api_access.
func callerOf(creds resource.Credentials) (Caller, error) {
	if !creds.Enabled {
		return Caller{}, xc5.Errorf(xc5.EFORBIDDEN, "account %s is disabled", creds.Username)
	}
	c := Caller{GUID: creds.GUID, Username: creds.Username}
	switch creds.Access {
	case resource.AccessSystem:
	case resource.AccessUser:
		c.Scope = resource.Scope(creds.Path)
	default:
		return Caller{}, xc5.Errorf(xc5.EFORBIDDEN, "account %s has no API access (accountresource api_access)", creds.Username)
	}
	return c, nil
}
