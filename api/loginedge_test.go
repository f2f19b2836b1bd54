package api_test

// Edges of the login limiter and of sessions: long usernames, IPv6
// addresses of one /64, and a session opened with credentials verified
// just before they changed.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"xc5/api"
	"xc5/resource"
	"xc5/storetest"
)

// TestLoginLongUsername: usernames longer than 255 bytes (up to the 64 KB
// a header allows) get 401 and count against the address, all under one
// limiter key, not one each.
func TestLoginLongUsername(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{FailuresPerIP: 1000, FailuresPerAccount: 3, CleanTries: 1}})
	got := map[int]int{}
	for i := range 20 {
		r := e.doAs(fmt.Sprint(i, strings.Repeat("u", 60<<10)), "guess", "GET", "/api-sys/", "")
		got[r.Status]++
	}
	st := e.API.AuthStats()
	if got[http.StatusUnauthorized] != 3 || got[http.StatusTooManyRequests] != 17 || st.Keys != 3 {
		t.Errorf("answers %v, limiter %+v: want 3 failures (the long usernames' one budget) under 3 keys, then 429", got, st)
	}
	e.must(http.StatusOK, "GET", "/api-sys/", "") // the admin, from the same address, is clean for its name
}

// localIPv6Prefix returns two addresses of one /64 that this host can
// bind, if it has them.
func localIPv6Prefix() (a, b string, ok bool) {
	addrs, _ := net.InterfaceAddrs()
	seen := map[netip.Prefix]string{}
	for _, ad := range addrs {
		n, isNet := ad.(*net.IPNet)
		if !isNet {
			continue
		}
		ip, _ := netip.AddrFromSlice(n.IP)
		if !ip.Is6() || ip.Is4In6() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			continue
		}
		p, _ := ip.Prefix(64)
		if other, dup := seen[p]; dup {
			return other, ip.String(), true
		}
		seen[p] = ip.String()
	}
	return "", "", false
}

// TestLoginIPv6SamePrefix: two addresses of one /64 share one address
// budget over real HTTP. It needs two bindable addresses in one /64 (not
// ::1 alone); the key function and the limiter are tested with given
// addresses in package ratelimit.
func TestLoginIPv6SamePrefix(t *testing.T) {
	a, b, ok := localIPv6Prefix()
	if !ok {
		t.Skip("no two local IPv6 addresses in one /64 (ratelimit.TestIPv6Rotation covers the rule)")
	}
	store := storetest.Open(t, adminPassword)
	srv := httptest.NewUnstartedServer(api.New(store, api.Options{Auth: api.AuthOptions{FailuresPerIP: 3}}))
	l, err := net.Listen("tcp", net.JoinHostPort(a, "0"))
	if err != nil {
		t.Skip(err)
	}
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	e := &env{t: t, URL: srv.URL, Store: store}
	for i, ip := range []string{a, b, a} {
		if got := loginWith(t, e, clientFrom(t, ip), fmt.Sprint("u", i), "guess").status; got != http.StatusUnauthorized {
			t.Fatalf("guess %d from %s: %d, want 401", i+1, ip, got)
		}
	}
	if got := loginWith(t, e, clientFrom(t, b), "u9", "guess").status; got != http.StatusTooManyRequests {
		t.Errorf("fourth guess from the same /64: %d, want 429", got)
	}
}

// changingStore changes an account's password, through the real store,
// between the check of a login's credentials and the creation of its
// session: the race of a PUT /api-sys/session in flight (or answered
// from the credential cache) with a password change.
type changingStore struct {
	resource.Store
	user, password string
}

func (c *changingStore) CreateSession(ctx context.Context, jti, account string, expires time.Time) error {
	if c.user == "" {
		return c.Store.CreateSession(ctx, jti, account, expires)
	}
	if _, _, err := c.Store.Put(ctx, "", resource.Account, "", c.user, resource.Input{"password": c.password}, resource.Patch); err != nil {
		return err
	}
	return c.Store.CreateSession(ctx, jti, account, expires)
}

// TestSessionOpenedAcrossPasswordChange: a session opened with
// credentials verified before a password change, but created after the
// change ended the account's sessions, is refused when used.
func TestSessionOpenedAcrossPasswordChange(t *testing.T) {
	t.Parallel()
	store := storetest.Open(t, adminPassword)
	cs := &changingStore{Store: store}
	a := api.New(cs, api.Options{Logger: slog.New(slog.DiscardHandler), SessionKey: []byte("0123456789abcdef0123456789abcdef")})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	e := &env{t: t, URL: srv.URL, Store: store, API: a}
	e.createAccountWithPassword("race.test", "", "Race-old-111")
	e.grant("race.test", resource.AccessSystem)
	cs.user, cs.password = "race.test", "Race-new-222"

	r := e.doAs("race.test", "Race-old-111", "PUT", "/api-sys/session", "")
	if r.Status != http.StatusCreated {
		t.Fatalf("%v\nwant 201", r)
	}
	cookies := (&http.Response{Header: r.Header}).Cookies()
	req := e.newRequest("GET", "/api-sys/", "")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if got := e.send(req).Status; got != http.StatusUnauthorized {
		t.Errorf("a session opened with the old password after the change: %d, want 401", got)
	}
	// A session opened with the new password works.
	cs.user = ""
	r = e.doAs("race.test", "Race-new-222", "PUT", "/api-sys/session", "")
	req = e.newRequest("GET", "/api-sys/", "")
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		req.AddCookie(c)
	}
	if got := e.send(req).Status; got != http.StatusOK {
		t.Errorf("a session opened with the new password: %d, want 200", got)
	}
}
