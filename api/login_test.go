package api_test

// The login limiter under attack, sessions ending with the credentials
// they were opened with, and logins while the store is unreachable. Each
// attacker is a real loopback address (127.0.0.0/8 is all local on Linux),
// so the server sees the source addresses an attack would have.

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"xc5/api"
	"xc5/resource"
)

// clientFrom returns an HTTP client whose connections leave from the
// loopback address ip; it is closed with the test.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 256}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// loginResult is one attempt's answer.
type loginResult struct {
	status     int
	retryAfter string
}

// loginWith sends GET /api-sys/ with Basic credentials through c. Safe
// in goroutines: a transport error is reported with t.Errorf.
func loginWith(t *testing.T, e *env, c *http.Client, user, pass string) loginResult {
	req, _ := http.NewRequest("GET", e.URL+"/api-sys/", nil)
	req.SetBasicAuth(user, pass)
	res, err := c.Do(req)
	if err != nil {
		t.Errorf("login as %s: %v", user, err)
		return loginResult{}
	}
	res.Body.Close()
	return loginResult{res.StatusCode, res.Header.Get("Retry-After")}
}

// loginFrom logs in once from the loopback address ip.
func loginFrom(t *testing.T, e *env, ip, user, pass string) int {
	t.Helper()
	return loginWith(t, e, clientFrom(t, ip), user, pass).status
}

// during runs fn in the background once n answers have arrived (answer
// is called on each), that is while the requests not yet answered are
// still in flight; wait waits for fn and reports whether it ran.
type during struct {
	n    int
	fn   func()
	seen atomic.Int64
	done chan struct{}
	ran  atomic.Bool
}

func newDuring(n int, fn func()) *during {
	return &during{n: n, fn: fn, done: make(chan struct{})}
}

func (d *during) answer() {
	if d != nil && d.seen.Add(1) == int64(d.n) {
		d.ran.Store(true)
		go func() {
			defer close(d.done)
			d.fn()
		}()
	}
}

func (d *during) wait(t *testing.T) {
	t.Helper()
	if !d.ran.Load() {
		t.Fatalf("only %d answers came, want %d before the login during the attack", d.seen.Load(), d.n)
	}
	<-d.done
}

// attack sends every (user, password) of guesses at once from c and
// counts the answers by status; 429s must carry Retry-After. Each answer
// is reported to d (which may be nil).
func attack(t *testing.T, e *env, c *http.Client, guesses [][2]string, d *during) map[int]int {
	t.Helper()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for _, g := range guesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := loginWith(t, e, c, g[0], g[1])
			if r.status == http.StatusTooManyRequests {
				if n, err := strconv.Atoi(r.retryAfter); err != nil || n < 1 {
					t.Errorf("429 with Retry-After %q, want whole seconds", r.retryAfter)
				}
			}
			mu.Lock()
			got[r.status]++
			mu.Unlock()
			d.answer()
		}()
	}
	wg.Wait()
	return got
}

// TestLoginParallelGuessesOneAddress: 200 parallel wrong guesses from one
// address are decided before the hash, so that at most the address's
// budget is checked (a spray over usernames) or the username's (one
// username); the rest get 429 at once. Meanwhile the real admin logs in
// from an address that has not been failing.
func TestLoginParallelGuessesOneAddress(t *testing.T) {
	t.Parallel()
	const perIP, perUser = 30, 10
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{FailuresPerIP: perIP, FailuresPerAccount: perUser}})
	tests := []struct {
		name   string
		ip     string
		user   func(i int) string
		budget int
	}{
		{"spray over usernames", "127.0.0.2", func(i int) string { return fmt.Sprintf("u%d.test", i) }, perIP},
		{"one username", "127.0.0.3", func(int) string { return adminUser }, perUser},
	}
	for _, tt := range tests {
		before := e.API.AuthStats()
		guesses := make([][2]string, 200)
		for i := range guesses {
			guesses[i] = [2]string{tt.user(i), fmt.Sprintf("guess-%d", i)}
		}
		var admin int
		// Once half the guesses are answered, the other half in flight.
		d := newDuring(len(guesses)/2, func() { admin = loginFrom(t, e, "127.0.0.9", adminUser, adminPassword) })
		got := attack(t, e, clientFrom(t, tt.ip), guesses, d)
		d.wait(t)
		checked := e.API.AuthStats().Checked - before.Checked
		t.Logf("%s: answers %v, checked %d", tt.name, got, checked)
		if got[http.StatusUnauthorized] > tt.budget || checked > int64(tt.budget)+1 {
			t.Errorf("%s: %d guesses answered 401 and %d checked, want at most %d", tt.name, got[http.StatusUnauthorized], checked, tt.budget)
		}
		if got[http.StatusUnauthorized]+got[http.StatusTooManyRequests] != len(guesses) {
			t.Errorf("%s: answers %v, want only 401 and 429", tt.name, got)
		}
		if admin != http.StatusOK {
			t.Errorf("%s: the admin from another address during the attack: %d, want 200", tt.name, admin)
		}
	}
	// The attacker's address is refused even with the right password:
	// it has been failing.
	if got := loginFrom(t, e, "127.0.0.3", adminUser, adminPassword); got != http.StatusTooManyRequests {
		t.Errorf("the right password from the failing address: %d, want 429", got)
	}
}

// TestLoginManyAddresses: 64 addresses guessing one username get each a
// few tries (CleanTries) while clean, then the username's budget; the
// total checked stays bounded, 429s come, and the admin at an address
// that has not been failing still logs in during the attack.
func TestLoginManyAddresses(t *testing.T) {
	t.Parallel()
	const addrs, each, tries, perUser = 64, 4, 1, 5
	e := newEnvOpts(t, api.Options{Auth: api.AuthOptions{FailuresPerIP: 30, FailuresPerAccount: perUser, CleanTries: tries}})
	before := e.API.AuthStats()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	var admin int
	// Once half the guesses are answered, the other half in flight.
	d := newDuring(addrs*each/2, func() { admin = loginFrom(t, e, "127.0.2.1", adminUser, adminPassword) })
	for a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guesses := make([][2]string, each)
			for i := range guesses {
				guesses[i] = [2]string{adminUser, fmt.Sprintf("guess-%d-%d", a, i)}
			}
			n := attack(t, e, clientFrom(t, fmt.Sprintf("127.0.1.%d", a+1)), guesses, d)
			mu.Lock()
			for k, v := range n {
				got[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	d.wait(t)
	checked := e.API.AuthStats().Checked - before.Checked - 1 // the admin's login
	t.Logf("answers %v, checked %d", got, checked)
	if limit := addrs*tries + perUser; got[http.StatusUnauthorized] > limit || checked > int64(limit) {
		t.Errorf("%d guesses answered 401, %d checked, want at most %d (addresses × CleanTries + FailuresPerAccount)", got[http.StatusUnauthorized], checked, limit)
	}
	if got[http.StatusTooManyRequests] == 0 {
		t.Errorf("no 429 for %d guesses from %d addresses", addrs*each, addrs)
	}
	if admin != http.StatusOK {
		t.Errorf("the admin from a clean address during the attack: %d, want 200", admin)
	}
}

// TestSessionsEndWithCredentials: a password change, a username change
// and disabling the account end the account's sessions (401 for cookies
// issued before), also the session that made the change; re-enabling
// does not bring them back; other accounts' sessions stay.
func TestSessionsEndWithCredentials(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{SessionKey: []byte("0123456789abcdef0123456789abcdef")})
	session := func(user, pass string) string {
		t.Helper()
		r := e.doAs(user, pass, "PUT", "/api-sys/session", "")
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			if c.Name == api.SessionCookie {
				return c.Value
			}
		}
		t.Fatalf("%v\nno session cookie", r)
		return ""
	}
	with := func(cookie, method, target, body string) int {
		t.Helper()
		req := e.newRequest(method, target, body)
		req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: cookie})
		return e.send(req).Status
	}
	adminSession := session(adminUser, adminPassword)
	tests := []struct {
		name   string
		change string // PATCH body
		self   bool   // made through the account's own session
		after  string // PATCH body applied after the change (re-enable)
	}{
		{name: "password by admin", change: `{"password":"Sess-new-222"}`},
		{name: "password by itself", change: `{"password":"Sess-new-222"}`, self: true},
		{name: "username", change: `{"username":"renamed-%d.test","password":"Sess-new-222"}`},
		{name: "disabled", change: `{"enabled":false}`, after: `{"enabled":true}`},
	}
	for i, tt := range tests {
		user := fmt.Sprintf("sess-%d.test", i)
		e.createAccountWithPassword(user, "", "Sess-old-111")
		e.grant(user, resource.AccessSystem)
		first, second := session(user, "Sess-old-111"), session(user, "Sess-old-111")
		if got := with(first, "GET", "/api-sys/account/"+user, ""); got != http.StatusOK {
			t.Fatalf("%s: session before the change: %d", tt.name, got)
		}
		change := tt.change
		if tt.name == "username" {
			change = fmt.Sprintf(change, i)
		}
		if tt.self {
			if got := with(first, "PATCH", "/api-sys/account/"+user, change); got != http.StatusOK {
				t.Fatalf("%s: PATCH through the session: %d", tt.name, got)
			}
		} else {
			e.must(http.StatusOK, "PATCH", "/api-sys/account/"+user, change)
		}
		if tt.after != "" {
			e.must(http.StatusOK, "PATCH", "/api-sys/account/"+user, tt.after)
		}
		for name, c := range map[string]string{"first": first, "second": second} {
			if got := with(c, "GET", "/api-sys/", ""); got != http.StatusUnauthorized {
				t.Errorf("%s: %s session after the change: %d, want 401", tt.name, name, got)
			}
		}
	}
	if got := with(adminSession, "GET", "/api-sys/", ""); got != http.StatusOK {
		t.Errorf("another account's session after those changes: %d, want 200", got)
	}
}

// TestLoginStoreUnavailable: with the store closed (unreachable), right
// credentials get 503 with Retry-After, not "invalid username or
// password", and nothing counts as a failure; so do session cookies.
func TestLoginStoreUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnvOpts(t, api.Options{SessionKey: []byte("0123456789abcdef0123456789abcdef"),
		Auth: api.AuthOptions{FailuresPerIP: 3, FailuresPerAccount: 3}})
	e.createAccountWithPassword("down.test", "", "Down-pass-123")
	e.grant("down.test", resource.AccessSystem)
	r := e.must(http.StatusCreated, "PUT", "/api-sys/session", "")
	cookies := (&http.Response{Header: r.Header}).Cookies()
	if err := e.Store.Close(); err != nil {
		t.Fatal(err)
	}
	before := e.API.AuthStats()
	for i := range 5 { // more than any budget: nothing may be counted
		r := e.doAs("down.test", "Down-pass-123", "GET", "/api-sys/", "")
		r.wantError(t, http.StatusServiceUnavailable)
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("attempt %d: 503 without Retry-After", i+1)
		}
	}
	if st := e.API.AuthStats(); st.Failed != before.Failed || st.Refused != before.Refused {
		t.Errorf("stats %+v after 503s, before %+v: nothing must count", st, before)
	}
	req := e.newRequest("GET", "/api-sys/", "")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	e.send(req).wantError(t, http.StatusServiceUnavailable)
}
