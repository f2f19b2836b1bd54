package sipserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"xc5"
	"xc5/api"
	"xc5/internal/poll"
	"xc5/resource"
	"xc5/secret"
	"xc5/sqlstore"
)

// TestRegisterSHA256 registers with sipgo's own digest client, which
// answers the first challenge: SHA-256.
func TestRegisterSHA256(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "UDP")

	req := p.register(reception, []string{"<sip:reception@127.0.0.1:5099>"}, 600)
	res := p.do(req)
	wantStatus(t, res, 401)
	chals := challenges(t, res)
	if len(chals) != 2 || chals[0].Algorithm != "SHA-256" || chals[1].Algorithm != "MD5" {
		t.Fatalf("challenges = %v, want SHA-256 then MD5", res.GetHeaders("WWW-Authenticate"))
	}
	for _, c := range chals {
		if c.Realm != realm || !slices.Equal(c.QOP, []string{"auth"}) || c.Nonce == "" || c.Stale {
			t.Fatalf("challenge %+v", c)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: reception, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	if got := responseContacts(res); !slices.Equal(got, []string{"<sip:reception@127.0.0.1:5099>;expires=600"}) {
		t.Fatalf("200 contacts = %v", got)
	}
	bs, err := store.ContactsOf(context.Background(), guid, srv.clock.Now())
	if err != nil || len(bs) != 1 {
		t.Fatalf("ContactsOf = %+v, %v", bs, err)
	}
	b := bs[0]
	if b.Contact != "sip:reception@127.0.0.1:5099" || !b.Expires.Equal(srv.clock.Now().Add(600*time.Second)) ||
		b.UserAgent != p.name || !strings.HasPrefix(b.Source, "udp:127.0.0.1:") {
		t.Fatalf("binding = %+v", b)
	}
}

// TestRegisterMD5 answers the MD5 challenge, over TCP, and over UDP.
func TestRegisterMD5(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	for _, tp := range []string{"TCP", "UDP"} {
		p := newPhone(t, srv.addr, tp)
		contact := "<sip:reception@127.0.0.1:5070;transport=" + strings.ToLower(tp) + ">"
		res := p.login(p.register(reception, []string{contact}, 300), "MD5", reception, password)
		wantStatus(t, res, 200)
		bs, _ := store.ContactsOf(context.Background(), guid, srv.clock.Now())
		if !slices.ContainsFunc(bs, func(b xc5.Binding) bool {
			return strings.HasPrefix(b.Source, strings.ToLower(tp)+":127.0.0.1:") && strings.Contains(b.Contact, strings.ToLower(tp))
		}) {
			t.Fatalf("%s: bindings = %+v", tp, bs)
		}
	}
}

func TestWrongCredentials(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "UDP")
	contact := []string{"<sip:reception@127.0.0.1:5099>"}
	for _, alg := range []string{"SHA-256", "MD5"} {
		wantStatus(t, p.login(p.register(reception, contact, 600), alg, reception, "wrong"), 403)
	}
	// An unknown user is refused the same way.
	wantStatus(t, p.login(p.register("nobody@acmebrick.x.co.nz", contact, 600), "MD5", "nobody@acmebrick.x.co.nz", password), 403)
	// The right password of another account does not register this one.
	addAccount(t, store, sales, "sales-pw")
	wantStatus(t, p.login(p.register(reception, contact, 600), "MD5", sales, "sales-pw"), 403)
	if got := contactsOf(t, store, guid, srv.clock.Now()); len(got) != 0 {
		t.Fatalf("bindings after failures: %v", got)
	}
	// A garbled Authorization header is a bad request.
	req := p.register(reception, contact, 600)
	req.AppendHeader(sip.NewHeader("Authorization", `Digest username="x", nc=zz`))
	wantStatus(t, p.do(req), 400)
}

// TestWrongRealm answers in a realm that is not the account's: the
// registrar challenges again in the right one, which then works.
func TestWrongRealm(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "UDP")
	req := p.register(reception, []string{"<sip:reception@127.0.0.1:5099>"}, 600)
	res := p.do(req)
	chal := challengeFor(t, res, "MD5")
	chal.Realm = "evil.example"
	authorize(t, req, chal, reception, password, 1)
	res = p.retry(req)
	wantStatus(t, res, 401)
	if c := challengeFor(t, res, "MD5"); c.Realm != realm {
		t.Fatalf("re-challenge realm %q", c.Realm)
	}
	authorize(t, req, challengeFor(t, res, "SHA-256"), reception, password, 1)
	wantStatus(t, p.retry(req), 200)

	// A registrar address in To (sip:reception@127.0.0.1) is challenged in
	// the host's realm first, and then in the account's.
	req = p.register("reception@127.0.0.1", []string{"<sip:reception@127.0.0.1:5098>"}, 600)
	res = p.do(req)
	if c := challengeFor(t, res, "MD5"); c.Realm != "127.0.0.1" {
		t.Fatalf("first realm %q", c.Realm)
	}
	authorize(t, req, challengeFor(t, res, "MD5"), reception, password, 1)
	res = p.retry(req)
	wantStatus(t, res, 401)
	authorize(t, req, challengeFor(t, res, "MD5"), reception, password, 1)
	wantStatus(t, p.retry(req), 200)
}

// TestUsernameForms: the digest username may be the account's username,
// or its local part in the account's realm (when the store has the local
// HA1), and the To may carry the username escaped.
func TestUsernameForms(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	company := addAccount(t, store, realm, "company-pw")
	reg := &localHA1{Store: store, passwords: map[string]string{reception: password}}
	srv := startServer(t, Config{}, reg)
	p := newPhone(t, srv.addr, "UDP")

	wantStatus(t, p.login(p.register(reception, []string{"<sip:r1@127.0.0.1:5001>"}, 600), "SHA-256", "reception", password), 200)
	wantStatus(t, p.login(p.register(reception, []string{"<sip:r2@127.0.0.1:5002>"}, 600), "MD5", "reception", password), 200)
	// sip:reception%40acmebrick.x.co.nz@127.0.0.1
	req := p.register("reception%40acmebrick.x.co.nz@127.0.0.1", []string{"<sip:r3@127.0.0.1:5003>"}, 600)
	res := p.do(req)
	if c := challengeFor(t, res, "MD5"); c.Realm != realm {
		t.Fatalf("escaped AOR challenged in %q", c.Realm)
	}
	authorize(t, req, challengeFor(t, res, "MD5"), reception, password, 1)
	wantStatus(t, p.retry(req), 200)
	if got := contactsOf(t, store, guid, srv.clock.Now()); len(got) != 3 {
		t.Fatalf("contacts = %v", got)
	}
	// A company account is its own realm.
	wantStatus(t, p.login(p.register(realm, []string{"<sip:front@127.0.0.1:5004>"}, 600), "SHA-256", realm, "company-pw"), 200)
	if got := contactsOf(t, store, company, srv.clock.Now()); len(got) != 1 {
		t.Fatalf("company contacts = %v", got)
	}

	// The store fills the local HA1 when the password is set, so the
	// local part works against the store itself too.
	srv2 := startServer(t, Config{}, store)
	p2 := newPhone(t, srv2.addr, "UDP")
	wantStatus(t, p2.login(p2.register(reception, []string{"<sip:r1@127.0.0.1:5001>"}, 600), "MD5", "reception", password), 200)
	wantStatus(t, p2.login(p2.register(reception, []string{"<sip:r1@127.0.0.1:5001>"}, 600), "MD5", "reception", "wrong"), 403)

	// To naming another account is a third-party registration: refused.
	addAccount(t, store, sales, "sales-pw")
	wantStatus(t, p.login(p.register(sales, []string{"<sip:r1@127.0.0.1:5001>"}, 600), "MD5", reception, password), 403)
}

// localHA1 is the store with the local-part HA1 values filled in, as the
// account writes will once they compute them.
type localHA1 struct {
	*sqlstore.Store
	passwords map[string]string
}

func (l *localHA1) SIPCredentials(ctx context.Context, username string) (xc5.SIPCredentials, error) {
	c, err := l.Store.SIPCredentials(ctx, username)
	if err == nil {
		l.fill(&c)
	}
	return c, err
}

// AllSIPCredentials is the store's, local-part values filled in as above
// (the credentials cache's warm-up reads it).
func (l *localHA1) AllSIPCredentials(ctx context.Context, limit int) ([]xc5.SIPCredentials, error) {
	all, err := l.Store.AllSIPCredentials(ctx, limit)
	for i := range all {
		l.fill(&all[i])
	}
	return all, err
}

func (l *localHA1) fill(c *xc5.SIPCredentials) {
	if pw, ok := l.passwords[c.Username]; ok {
		local, _, _ := strings.Cut(c.Username, "@")
		ha1 := secret.DigestHA1(local, c.Realm, pw)
		c.LocalHA1MD5, c.LocalHA1SHA256 = ha1.MD5, ha1.SHA256
	}
}

func TestStaleNonce(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{NonceTTL: 5 * time.Minute}, store)
	p := newPhone(t, srv.addr, "UDP")
	req := p.register(reception, []string{"<sip:reception@127.0.0.1:5099>"}, 600)
	res := p.do(req)
	chal := challengeFor(t, res, "SHA-256")
	srv.clock.Advance(5*time.Minute + time.Second)
	authorize(t, req, chal, reception, password, 1)
	res = p.retry(req)
	wantStatus(t, res, 401)
	fresh := challengeFor(t, res, "SHA-256")
	if !fresh.Stale || fresh.Nonce == chal.Nonce {
		t.Fatalf("stale challenge = %+v", fresh)
	}
	// A wrong password with an old nonce is a failure, not stale.
	authorize(t, req, chal, reception, "wrong", 1)
	wantStatus(t, p.retry(req), 403)
	authorize(t, req, fresh, reception, password, 1)
	wantStatus(t, p.retry(req), 200)

	// A nonce signed with another key (a restart) is stale too.
	other := &nonces{key: []byte("another key"), ttl: time.Minute}
	chal.Nonce = other.make(realm, "127.0.0.1", srv.clock.Now())
	authorize(t, req, chal, reception, password, 1)
	res = p.retry(req)
	wantStatus(t, res, 401)
	if !challengeFor(t, res, "MD5").Stale {
		t.Fatalf("foreign nonce not stale")
	}
}

// TestReplay sends an accepted Authorization again: the same nonce-count
// is refused, a higher one on the same nonce is fine.
func TestReplay(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "UDP")
	req := p.register(reception, []string{"<sip:reception@127.0.0.1:5099>"}, 600)
	chal := challengeFor(t, p.do(req), "MD5")
	authorize(t, req, chal, reception, password, 1)
	wantStatus(t, p.retry(req), 200)

	res := p.retry(req) // the same Authorization, nc=1
	wantStatus(t, res, 401)
	if !challengeFor(t, res, "MD5").Stale {
		t.Fatal("replay challenge not stale")
	}
	authorize(t, req, chal, reception, password, 3)
	wantStatus(t, p.retry(req), 200)
	authorize(t, req, chal, reception, password, 2) // lower than 3
	wantStatus(t, p.retry(req), 401)

	// Without qop a nonce is good for one request only.
	req = p.register(reception, []string{"<sip:reception@127.0.0.1:5099>"}, 600)
	chal = challengeFor(t, p.do(req), "MD5")
	chal.QOP = nil
	authorize(t, req, chal, reception, password, 0)
	wantStatus(t, p.retry(req), 200)
	wantStatus(t, p.retry(req), 401)
}

func TestUnregister(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "UDP")
	a, b, c := "<sip:a@127.0.0.1:5001>", "<sip:b@127.0.0.1:5002>", "<sip:c@127.0.0.1:5003>"
	wantStatus(t, p.login(p.register(reception, []string{a, b, c}, 600), "MD5", reception, password), 200)

	// Expires: 0 removes the contacts named.
	res := p.login(p.register(reception, []string{a}, 0), "MD5", reception, password)
	wantStatus(t, res, 200)
	if got := responseContacts(res); len(got) != 2 || !strings.HasPrefix(got[0], b) || !strings.HasPrefix(got[1], c) {
		t.Fatalf("after Expires: 0 = %v", got)
	}
	// So does the expires parameter.
	wantStatus(t, p.login(p.register(reception, []string{b + ";expires=0"}, -1), "MD5", reception, password), 200)
	if got := contactsOf(t, store, guid, srv.clock.Now()); !slices.Equal(got, []string{"sip:c@127.0.0.1:5003"}) {
		t.Fatalf("contacts = %v", got)
	}
	// Removing what is not there is fine.
	wantStatus(t, p.login(p.register(reception, []string{a}, 0), "MD5", reception, password), 200)

	// "*" needs Expires: 0 and no other contact.
	wantStatus(t, p.login(p.register(reception, []string{"*"}, 600), "MD5", reception, password), 400)
	wantStatus(t, p.login(p.register(reception, []string{"*"}, -1), "MD5", reception, password), 400)
	wantStatus(t, p.login(p.register(reception, []string{"*", a}, 0), "MD5", reception, password), 400)
	wantStatus(t, p.login(p.register(reception, []string{a, b}, 600), "MD5", reception, password), 200)
	res = p.login(p.register(reception, []string{"*"}, 0), "MD5", reception, password)
	wantStatus(t, res, 200)
	if got := responseContacts(res); len(got) != 0 {
		t.Fatalf("after *: %v", got)
	}
	if got := contactsOf(t, store, guid, srv.clock.Now()); len(got) != 0 {
		t.Fatalf("contacts after * = %v", got)
	}
}

func TestMultipleContacts(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{MaxContacts: 4}, store)
	desk, soft := newPhone(t, srv.addr, "UDP"), newPhone(t, srv.addr, "TCP")
	res := desk.login(desk.register(reception, []string{"<sip:desk@127.0.0.1:5001>;expires=120", "<sip:desk2@127.0.0.1:5002>"}, 900),
		"SHA-256", reception, password)
	wantStatus(t, res, 200)
	if got := responseContacts(res); !slices.Equal(got, []string{"<sip:desk@127.0.0.1:5001>;expires=120", "<sip:desk2@127.0.0.1:5002>;expires=900"}) {
		t.Fatalf("contacts = %v", got)
	}
	srv.clock.Advance(20 * time.Second)
	res = soft.login(soft.register(reception, []string{"<sip:soft@127.0.0.1:5003;transport=tcp>"}, -1), "MD5", reception, password)
	wantStatus(t, res, 200)
	want := []string{"<sip:desk@127.0.0.1:5001>;expires=100", "<sip:desk2@127.0.0.1:5002>;expires=880", "<sip:soft@127.0.0.1:5003;transport=tcp>;expires=3600"}
	if got := responseContacts(res); !slices.Equal(got, want) {
		t.Fatalf("contacts = %v, want %v", got, want)
	}
	// A REGISTER without Contact queries the bindings.
	res = desk.login(desk.register(reception, nil, -1), "MD5", reception, password)
	wantStatus(t, res, 200)
	if got := responseContacts(res); !slices.Equal(got, want) {
		t.Fatalf("query = %v", got)
	}
	// Refreshing keeps the binding's GUID and stores the new expiry.
	before, _ := store.ContactsOf(context.Background(), guid, srv.clock.Now())
	wantStatus(t, desk.login(desk.register(reception, []string{"<sip:desk@127.0.0.1:5001>"}, 600), "MD5", reception, password), 200)
	var after []xc5.Binding
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if after, _ = store.ContactsOf(context.Background(), guid, srv.clock.Now()); len(after) == 3 && after[0].Expires.Equal(srv.clock.Now().Add(600*time.Second)) {
			break
		}
	}
	if len(after) != 3 || after[0].GUID != before[0].GUID || !after[0].Expires.Equal(srv.clock.Now().Add(600*time.Second)) {
		t.Fatalf("refresh: before %+v after %+v", before, after)
	}
	// The fifth contact is one too many.
	wantStatus(t, desk.login(desk.register(reception, []string{"<sip:x@127.0.0.1:5005>", "<sip:y@127.0.0.1:5006>"}, 600), "MD5", reception, password), 403)
	wantStatus(t, desk.login(desk.register(reception, []string{"<sip:x@127.0.0.1:5005>"}, 600), "MD5", reception, password), 200)

	// What calls will ring.
	bs, err := srv.Contacts(context.Background(), reception)
	if err != nil || len(bs) != 4 {
		t.Fatalf("Contacts = %+v, %v", bs, err)
	}
}

// TestExpiresBounds: below Min-Expires is 423, above the maximum is capped.
func TestExpiresBounds(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{MinExpires: 60 * time.Second, MaxExpires: 3600 * time.Second}, store)
	p := newPhone(t, srv.addr, "UDP")
	res := p.login(p.register(reception, []string{"<sip:a@127.0.0.1:5001>"}, 30), "MD5", reception, password)
	wantStatus(t, res, 423)
	if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
		t.Fatalf("Min-Expires = %v", h)
	}
	// One short contact rejects the whole request.
	res = p.login(p.register(reception, []string{"<sip:a@127.0.0.1:5001>", "<sip:b@127.0.0.1:5002>;expires=59"}, 600), "MD5", reception, password)
	wantStatus(t, res, 423)
	if got := contactsOf(t, store, guid, srv.clock.Now()); len(got) != 0 {
		t.Fatalf("contacts after 423 = %v", got)
	}
	res = p.login(p.register(reception, []string{"<sip:a@127.0.0.1:5001>"}, 86400), "MD5", reception, password)
	wantStatus(t, res, 200)
	if got := responseContacts(res); !slices.Equal(got, []string{"<sip:a@127.0.0.1:5001>;expires=3600"}) {
		t.Fatalf("capped = %v", got)
	}
	res = p.login(p.register(reception, []string{"<sip:a@127.0.0.1:5001>"}, 60), "MD5", reception, password)
	wantStatus(t, res, 200)
	wantStatus(t, p.login(p.register(reception, []string{"<sip:a@127.0.0.1:5001>"}, -2), "MD5", reception, password), 200)
	req := p.register(reception, []string{"<sip:a@127.0.0.1:5001>"}, -1)
	req.AppendHeader(sip.NewHeader("Expires", "soon"))
	wantStatus(t, p.login(req, "MD5", reception, password), 400)
}

// TestExpirySweep: the background sweep deletes bindings once expired,
// so that the API no longer lists them.
func TestExpirySweep(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{SweepInterval: 20 * time.Millisecond}, store)
	p := newPhone(t, srv.addr, "UDP")
	wantStatus(t, p.login(p.register(reception, []string{"<sip:a@127.0.0.1:5001>;expires=60", "<sip:b@127.0.0.1:5002>;expires=120"}, -1),
		"MD5", reception, password), 200)
	rows := func() int {
		n := 0
		store.List(context.Background(), "", resource.Registration, resource.Query{Parent: guid}, func(resource.Record) error {
			n++
			return nil
		})
		return n
	}
	time.Sleep(100 * time.Millisecond)
	if n := rows(); n != 2 {
		t.Fatalf("rows before expiry = %d", n)
	}
	srv.clock.Advance(60 * time.Second)
	if got := contactsOf(t, store, guid, srv.clock.Now()); !slices.Equal(got, []string{"sip:b@127.0.0.1:5002"}) {
		t.Fatalf("contacts at 60 s = %v", got)
	}
	poll.Until(t, 5*time.Second, "the binding expired at 60 s swept", func() bool { return rows() == 1 })
	srv.clock.Advance(60 * time.Second)
	poll.Until(t, 5*time.Second, "the last binding swept", func() bool { return rows() == 0 })
}

// TestBindingInAPI: the binding shows under GET /api-sys/account/{id}/reg,
// and DELETE there removes it.
func TestBindingInAPI(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "TCP")
	wantStatus(t, p.login(p.register(reception, []string{"<sip:desk@127.0.0.1:5001;transport=tcp>"}, 600), "MD5", reception, password), 200)

	web := httptest.NewServer(api.New(store, api.Options{Logger: testLogger()}))
	defer web.Close()
	get := func(method, path string) (int, any) {
		req, _ := http.NewRequest(method, web.URL+path, nil)
		req.SetBasicAuth("admin", "admin-pw-123")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body any
		json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	code, body := get("GET", "/api-sys/account/"+reception+"/reg")
	if code != 200 {
		t.Fatalf("GET reg = %d %v", code, body)
	}
	raw, _ := json.Marshal(body)
	for _, want := range []string{`"contact":"sip:desk@127.0.0.1:5001;transport=tcp"`, `"source":"tcp:127.0.0.1:`, `"user_agent":"TestPhone/1.0 (TCP)"`,
		`"expires":"` + srv.clock.Now().Add(600*time.Second).UTC().Format(time.RFC3339) + `"`} {
		if !strings.Contains(string(raw), want) {
			t.Fatalf("GET reg lacks %s:\n%s", want, raw)
		}
	}
	bs, _ := store.ContactsOf(context.Background(), guid, srv.clock.Now())
	if code, body := get("DELETE", "/api-sys/account/"+guid+"/reg/"+bs[0].GUID); code/100 != 2 {
		t.Fatalf("DELETE = %d %v", code, body)
	}
	if got := contactsOf(t, store, guid, srv.clock.Now()); len(got) != 0 {
		t.Fatalf("after API DELETE: %v", got)
	}
}

func TestDisabledAccount(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	if _, _, err := store.Put(context.Background(), "", resource.Account, "", guid, resource.Input{"enabled": false}, resource.Patch); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Config{AuthFailures: 1}, store)
	p := newPhone(t, srv.addr, "UDP")
	res := p.login(p.register(reception, []string{"<sip:a@127.0.0.1:5001>"}, 600), "MD5", reception, password)
	wantStatus(t, res, 403)
	if res.Reason != "Account Disabled" {
		t.Fatalf("reason %q", res.Reason)
	}
	// The right password on a disabled account is no failed attempt.
	wantStatus(t, p.do(p.register(reception, nil, -1)), 401)
}

// TestRateLimit: after AuthFailures wrong answers from one IP within the
// window, that IP gets 403 whatever it sends, until the window ends.
func TestRateLimit(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: 3, AuthWindow: time.Minute}, store)
	p := newPhone(t, srv.addr, "UDP")
	contact := []string{"<sip:a@127.0.0.1:5001>"}
	for range 3 {
		wantStatus(t, p.login(p.register(reception, contact, 600), "MD5", reception, "guess"), 403)
	}
	res := p.do(p.register(reception, contact, 600))
	wantStatus(t, res, 403)
	if res.Reason != "Too Many Failed Authentications" {
		t.Fatalf("reason %q", res.Reason)
	}
	srv.clock.Advance(30 * time.Second)
	wantStatus(t, p.do(p.register(reception, contact, 600)), 403)
	srv.clock.Advance(31 * time.Second)
	wantStatus(t, p.login(p.register(reception, contact, 600), "MD5", reception, password), 200)
}

func TestOtherMethods(t *testing.T) {
	store := newStore(t)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "UDP")
	send := func(method sip.RequestMethod) *sip.Response {
		req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: "100", Host: realm})
		p.route(req)
		return p.do(req)
	}
	res := send(sip.OPTIONS)
	wantStatus(t, res, 200)
	if h := res.GetHeader("Allow"); h == nil || h.Value() != "REGISTER, OPTIONS" {
		t.Fatalf("Allow = %v", h)
	}
	wantStatus(t, send(sip.INVITE), 405)
	wantStatus(t, send(sip.SUBSCRIBE), 405)
	wantStatus(t, send(sip.BYE), 481)
	wantStatus(t, send("FROBNICATE"), 501)

	// The INVITE hook, with the registrar's authentication (407).
	addAccount(t, store, reception, password)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		acct, ok := srv.Authenticate(req, tx, true)
		if !ok {
			return
		}
		tx.Respond(sip.NewResponseFromRequest(req, 480, "Hello "+acct.Username, nil))
	})
	if h := send(sip.OPTIONS).GetHeader("Allow"); h == nil || h.Value() != "INVITE, REGISTER, OPTIONS" {
		t.Fatalf("Allow = %v", h)
	}
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "200", Host: realm})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "reception", Host: realm}}
	from.Params.Add("tag", "abc")
	req.AppendHeader(from)
	p.route(req)
	res = p.do(req)
	wantStatus(t, res, 407)
	chal, err := digest.ParseChallenge(res.GetHeader("Proxy-Authenticate").Value())
	if err != nil || chal.Realm != realm || chal.Algorithm != "SHA-256" {
		t.Fatalf("407 challenge %+v, %v", chal, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: reception, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 480)
	if res.Reason != "Hello "+reception {
		t.Fatalf("reason %q", res.Reason)
	}
}

// TestRefreshWrittenThrough: every REGISTER's new expiry, a plain
// refresh's included, is stored before the 200, since the phone plans its
// next REGISTER by the expiry it was answered; and a shorter expiry after
// a longer one is stored as asked.
func TestRefreshWrittenThrough(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	desk := newPhone(t, srv.addr, "UDP")
	contact := []string{"<sip:desk@127.0.0.1:5001>"}
	stored := func() xc5.Binding {
		t.Helper()
		bs, err := store.ContactsOf(context.Background(), guid, srv.clock.Now())
		if err != nil || len(bs) != 1 {
			t.Fatalf("ContactsOf = %+v, %v", bs, err)
		}
		return bs[0]
	}
	wantStatus(t, desk.login(desk.register(reception, contact, 600), "MD5", reception, password), 200)
	first := stored()
	for _, step := range []struct {
		advance time.Duration
		expires int
	}{{300 * time.Second, 900}, {0, 60}, {10 * time.Second, 3600}, {0, 120}} {
		srv.clock.Advance(step.advance)
		res := desk.login(desk.register(reception, contact, step.expires), "MD5", reception, password)
		wantStatus(t, res, 200)
		want := srv.clock.Now().Add(time.Duration(step.expires) * time.Second)
		if b := stored(); !b.Expires.Equal(want) || b.GUID != first.GUID {
			t.Fatalf("after REGISTER with Expires %d: stored %+v, want expiry %v and the same GUID", step.expires, b, want)
		}
	}
}
