package sipserver

// The digest failure limits under attack from many real loopback
// addresses, and REGISTER while the store is unreachable.

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// rawRegister is a REGISTER for user from local, with authz as its
// Authorization header when set.
func rawRegister(local, user, tag, authz string) string {
	name, host, _ := strings.Cut(user, "@")
	if authz != "" {
		authz = "Authorization: " + authz + "\r\n"
	}
	return fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK-%s\r\n"+
		"From: <sip:%s@%s>;tag=t%s\r\nTo: <sip:%s@%s>\r\n"+
		"Call-ID: guess-%s\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\n"+
		"Contact: <sip:x@%s>\r\n%sContent-Length: 0\r\n\r\n",
		host, local, tag, name, host, tag, name, host, tag, local, authz)
}

// readFinal reads final answers on conn until n have come or the deadline.
func readFinal(t *testing.T, conn net.PacketConn, n int) []*sip.Response {
	var out []*sip.Response
	buf := make([]byte, 65535)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(out) < n {
		k, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Errorf("%s: %d of %d answers: %v", conn.LocalAddr(), len(out), n, err)
			return out
		}
		res, err := sip.ParseMessage(buf[:k])
		if r, ok := res.(*sip.Response); err == nil && ok && r.StatusCode >= 200 {
			out = append(out, r)
		}
	}
	return out
}

// nonceAt asks the server for a challenge from conn and returns its MD5
// challenge: a nonce bound to conn's address.
func nonceAt(t *testing.T, conn net.PacketConn, dst net.Addr, user string) *digest.Challenge {
	local := conn.LocalAddr().String()
	if _, err := conn.WriteTo([]byte(rawRegister(local, user, "chal-"+local, "")), dst); err != nil {
		t.Error(err)
		return nil
	}
	for _, r := range readFinal(t, conn, 1) {
		for _, h := range r.GetHeaders("WWW-Authenticate") {
			if c, err := digest.ParseChallenge(h.Value()); err == nil && c.Algorithm == "MD5" {
				return c
			}
		}
	}
	t.Errorf("%s: no MD5 challenge", local)
	return nil
}

// guessFrom sends n REGISTERs for user with wrong passwords at once from
// the loopback address ip over raw UDP, answering a challenge the server
// sent to ip, and returns the reason phrases of their final answers.
func guessFrom(t *testing.T, server, ip, user string, n int) []string {
	conn, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Errorf("listen on %s: %v", ip, err)
		return nil
	}
	defer conn.Close()
	dst, _ := net.ResolveUDPAddr("udp", server)
	local := conn.LocalAddr().String()
	chal := nonceAt(t, conn, dst, user)
	if chal == nil {
		return nil
	}
	_, host, _ := strings.Cut(user, "@")
	for i := range n {
		cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:" + host,
			Username: user, Password: fmt.Sprintf("guess-%s-%d", ip, i), Count: i + 1})
		if err != nil {
			t.Error(err)
			return nil
		}
		if _, err := conn.WriteTo([]byte(rawRegister(local, user, fmt.Sprint(ip, "-", i), cred.String())), dst); err != nil {
			t.Error(err)
			return nil
		}
	}
	var reasons []string
	for _, r := range readFinal(t, conn, n) {
		reasons = append(reasons, fmt.Sprint(r.StatusCode, " ", r.Reason))
	}
	return reasons
}

// TestForgedSourceFlood: answers with a nonce the server sent to another
// address (what a flood with forged source addresses can at best carry)
// are challenged again without a check and leave nothing in the limiter,
// so that such a flood cannot fill its table; the attacker's own address
// is counted as usual.
func TestForgedSourceFlood(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: 5}, store)
	dst, _ := net.ResolveUDPAddr("udp", srv.addr)
	own, err := net.ListenPacket("udp", "127.0.5.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	chal := nonceAt(t, own, dst, reception)
	if chal == nil {
		t.FailNow()
	}
	const addrs, each = 50, 10
	got := map[int]int{}
	for a := range addrs {
		conn, err := net.ListenPacket("udp", fmt.Sprintf("127.0.6.%d:0", a+1))
		if err != nil {
			t.Fatal(err)
		}
		local := conn.LocalAddr().String()
		for i := range each {
			user := fmt.Sprintf("r%d-%d@%s", a, i, realm)
			cred, _ := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:" + realm,
				Username: user, Password: "guess", Count: 1})
			conn.WriteTo([]byte(rawRegister(local, user, fmt.Sprint(a, "-", i), cred.String())), dst)
		}
		for _, r := range readFinal(t, conn, each) {
			got[r.StatusCode]++
			if r.StatusCode == 401 && !challengeFor(t, r, "MD5").Stale {
				t.Errorf("re-challenge of a foreign nonce without stale=true")
			}
		}
		conn.Close()
	}
	if st := srv.limiter.Stats(); got[401] != addrs*each || st.Keys != 0 || st.Checked != 0 {
		t.Errorf("answers %v, limiter %+v: want %d challenges and nothing checked or kept", got, st, addrs*each)
	}
	// From the address the nonce was sent to, guesses are checked and
	// counted.
	reasons := guessFrom(t, srv.addr, "127.0.5.2", reception, 8)
	if n := srv.limiter.Stats().Failed; n != 5 {
		t.Errorf("guesses from a real address: %v, %d failures counted, want 5", reasons, n)
	}
}

// TestRealmMismatchNotCounted: an answer in a realm that is not the
// account's (a registrar address in To) checks no password and uses up
// none of the address's budget, so that phones behind one NAT address
// keep registering.
func TestRealmMismatchNotCounted(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: 2}, store)
	p := newPhone(t, srv.addr, "UDP")
	for i := range 4 {
		req := p.register("reception@127.0.0.1", []string{fmt.Sprintf("<sip:r@127.0.0.1:50%02d>", i)}, 600)
		res := p.do(req)
		wantStatus(t, res, 401)
		authorize(t, req, challengeFor(t, res, "MD5"), reception, password, 1)
		res = p.retry(req)
		wantStatus(t, res, 401) // the right realm now
		authorize(t, req, challengeFor(t, res, "MD5"), reception, password, 1)
		wantStatus(t, p.retry(req), 200)
	}
	if st := srv.limiter.Stats(); st.Failed != 0 {
		t.Errorf("limiter %+v: a realm mismatch counted as a failure", st)
	}
}

// TestLongUsernameSIP: digest usernames longer than
// ratelimit.MaxUsername are refused 403 without a lookup and count
// against the address under one bounded key, not one key each.
func TestLongUsernameSIP(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: 30, AuthFailuresPerUser: 3, AuthTries: 1}, store)
	conn, err := net.ListenPacket("udp", "127.0.5.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, _ := net.ResolveUDPAddr("udp", srv.addr)
	chal := nonceAt(t, conn, dst, reception)
	if chal == nil {
		t.FailNow()
	}
	local := conn.LocalAddr().String()
	for i := range 5 {
		user := fmt.Sprint(i, strings.Repeat("u", 4000), "@", realm)
		cred, _ := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:" + realm, Username: user, Password: "x", Count: i + 1})
		conn.WriteTo([]byte(rawRegister(local, reception, fmt.Sprint("long-", i), cred.String())), dst)
	}
	var reasons []string
	for _, r := range readFinal(t, conn, 5) {
		reasons = append(reasons, fmt.Sprint(r.StatusCode, " ", r.Reason))
	}
	st := srv.limiter.Stats()
	if st.Keys != 3 || st.Failed != 3 {
		t.Errorf("answers %v, limiter %+v: want 3 failures (the long usernames' one budget) under 3 keys", reasons, st)
	}
}

// TestDigestLimitPerUser: wrong guesses at one account from many
// addresses are checked only while those addresses are clean (AuthTries
// each) or the account's budget lasts; the rest get 403 Too Many Failed
// Authentications without a check. The real phone, registering from its
// usual address, keeps registering during the attack.
func TestDigestLimitPerUser(t *testing.T) {
	const addrs, each, tries, perUser = 40, 10, 3, 10
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: 20, AuthFailuresPerUser: perUser, AuthTries: tries}, store)
	desk := newPhone(t, srv.addr, "UDP")
	contact := []string{"<sip:desk@127.0.0.1:5001>"}
	wantStatus(t, desk.login(desk.register(reception, contact, 600), "MD5", reception, password), 200)
	before := srv.limiter.Stats()

	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range guessFrom(t, srv.addr, fmt.Sprintf("127.0.3.%d", a+1), reception, each) {
				mu.Lock()
				got[r]++
				mu.Unlock()
			}
		}()
	}
	res := desk.login(desk.register(reception, contact, 600), "MD5", reception, password)
	wg.Wait()
	wantStatus(t, res, 200)
	wantStatus(t, desk.login(desk.register(reception, contact, 600), "MD5", reception, password), 200)

	checked := srv.limiter.Stats().Checked - before.Checked - 2 // the phone's two
	t.Logf("answers %v, checked %d", got, checked)
	limit := addrs*tries + perUser
	if got["403 Forbidden"] > limit || checked > int64(limit) {
		t.Errorf("%d guesses checked (%d answered Forbidden), want at most %d (addresses × AuthTries + AuthFailuresPerUser)",
			checked, got["403 Forbidden"], limit)
	}
	if got["403 Too Many Failed Authentications"] == 0 || got["403 Forbidden"]+got["403 Too Many Failed Authentications"] != addrs*each {
		t.Errorf("answers %v, want %d Forbidden or Too Many Failed Authentications, some of them refusals", got, addrs*each)
	}
}

// TestRegisterStoreUnavailable: when the store cannot be read, a REGISTER
// with the right credentials gets 503 with Retry-After, not 403, and
// nothing counts as a failure.
func TestRegisterStoreUnavailable(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	// Closed before the server starts: its credentials cache's warm-up
	// (credCache.warm) finds nothing either.
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Config{AuthFailures: 2}, store)
	p := newPhone(t, srv.addr, "UDP")
	for range 3 { // past AuthFailures: nothing may be counted
		res := p.login(p.register(reception, []string{"<sip:a@127.0.0.1:5001>"}, 600), "MD5", reception, password)
		wantStatus(t, res, 503)
		if res.GetHeader("Retry-After") == nil {
			t.Errorf("503 without Retry-After")
		}
	}
	if st := srv.limiter.Stats(); st.Failed != 0 || st.Refused != 0 {
		t.Errorf("limiter %+v: nothing must count while the store is unreachable", st)
	}
}
