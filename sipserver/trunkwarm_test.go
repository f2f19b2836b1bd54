package sipserver

import (
	"testing"
	"time"

	"xc5/storetest"
)

// TestTrunksLoadAtStart: the SIP service loads its trunks when calls are
// enabled, not on the first INVITE, so a node whose database goes away
// before any INVITE still sends a phone's 111 to the carrier (instead of
// 503 because it never learnt its trunks). A trunk written later is
// loaded in the background too.
func TestTrunksLoadAtStart(t *testing.T) {
	o := storetest.PostgresOutage(t)
	store := followingStore(t, o)
	x := newPBXOn(t, Config{}, store)
	got := carrierTrunk(x) // written after the node started
	rec := x.phone(reception, password, "UDP")
	tc := x.srv.b2b.trunks
	// Give the background load time (without it, nothing ever loads them
	// and the 111 below is refused).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		tc.mu.Lock()
		loaded := tc.valid && len(tc.list) > 0
		tc.mu.Unlock()
		if loaded {
			break
		}
	}

	o.Cut()
	t.Cleanup(func() { o.Restore(t) })
	x.srv.clock.Advance(credTTL + time.Second)
	out := rec.dial("111")
	out.answered(5 * time.Second)
	if in := received(t, got); in.req.Recipient.User != "111" {
		t.Errorf("the carrier received %s, want 111", in.req.Recipient.String())
	}
	out.hangup()
}
