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

// guessFrom sends n REGISTERs for user with wrong passwords at once from
// the loopback address ip over raw UDP, and returns the reason phrases of
// their final answers.
func guessFrom(t *testing.T, server, ip, user string, n int) []string {
	conn, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Errorf("listen on %s: %v", ip, err)
		return nil
	}
	defer conn.Close()
	dst, _ := net.ResolveUDPAddr("udp", server)
	local := conn.LocalAddr().String()
	name, host, _ := strings.Cut(user, "@")
	for i := range n {
		chal := &digest.Challenge{Realm: host, Nonce: "bm9uY2U", Algorithm: "MD5", QOP: []string{"auth"}}
		cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:" + host,
			Username: user, Password: fmt.Sprintf("guess-%s-%d", ip, i), Count: 1})
		if err != nil {
			t.Error(err)
			return nil
		}
		msg := fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK-%s-%d\r\n"+
			"From: <sip:%s@%s>;tag=t%d\r\nTo: <sip:%s@%s>\r\n"+
			"Call-ID: guess-%s-%d\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\n"+
			"Contact: <sip:x@%s>\r\nAuthorization: %s\r\nContent-Length: 0\r\n\r\n",
			host, local, ip, i, name, host, i, name, host, ip, i, local, cred.String())
		if _, err := conn.WriteTo([]byte(msg), dst); err != nil {
			t.Error(err)
			return nil
		}
	}
	var reasons []string
	buf := make([]byte, 65535)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(reasons) < n {
		k, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Errorf("%s: %d of %d answers: %v", ip, len(reasons), n, err)
			return reasons
		}
		res, err := sip.ParseMessage(buf[:k])
		if r, ok := res.(*sip.Response); err == nil && ok && r.StatusCode >= 200 {
			reasons = append(reasons, fmt.Sprint(r.StatusCode, " ", r.Reason))
		}
	}
	return reasons
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
	srv := startServer(t, Config{AuthFailures: 2}, store)
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
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
