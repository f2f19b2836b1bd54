package sipserver

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// TestRegisterChallengeStateless: the 401 of a REGISTER without
// credentials keeps no transaction, as Kamailio's does: a retransmission
// of that REGISTER (same branch) draws a fresh challenge with a new
// nonce, not the stored 401 again, and the answer to the first challenge
// still registers. The 200 stays in its transaction: a retransmission of
// the answered REGISTER gets the same 200 back, without a new check of
// its (now used) nonce, which would be refused as a replay.
func TestRegisterChallengeStateless(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1, DigestAlgorithms: []string{"MD5"}}, store)
	p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	first := p.request("REGISTER", rawRURI, "Expires: 600")
	p.c.WriteToUDP(first, p.dst)
	chal := p.read()
	if status(chal) != 401 {
		t.Fatalf("REGISTER without credentials: %v", chal)
	}
	// A retransmission: the same request, same branch, T1 (500 ms) later,
	// as a phone's timer sends it; the transaction ends just after its
	// 401 is sent, which a retransmission sent at once could overtake.
	time.Sleep(sip.T1)
	p.c.WriteToUDP(first, p.dst)
	again := p.read()
	if status(again) != 401 {
		t.Fatalf("retransmitted REGISTER: %v", again)
	}
	n1, n2 := nonceOf(t, chal), nonceOf(t, again)
	if n1 == n2 {
		t.Fatalf("the retransmission drew the same challenge (nonce %s): the 401's transaction was kept", n1)
	}
	authed := p.answer(chal)
	p.c.WriteToUDP(authed, p.dst)
	ok := p.read()
	if status(ok) != 200 {
		t.Fatalf("answer to the first challenge: %v", ok)
	}
	p.c.WriteToUDP(authed, p.dst) // the 200 was lost, say
	if res := p.read(); status(res) != 200 {
		t.Fatalf("retransmitted answered REGISTER: %v, want the same 200", res)
	}
}

// nonceOf is the nonce of a 401's first challenge.
func nonceOf(t *testing.T, res *sip.Response) string {
	t.Helper()
	c, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	return c.Nonce
}
