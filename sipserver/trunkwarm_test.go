package sipserver

import (
	"context"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/sqlstore"
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

// slowTrunks is the real store whose trunk reads, once read, wait for
// release: a trunk written meanwhile is missing from what they return.
type slowTrunks struct {
	*sqlstore.Store
	read    chan struct{}
	release chan struct{}
}

func (s slowTrunks) Trunks(ctx context.Context) ([]xc5.Trunk, error) {
	ts, err := s.Store.Trunks(ctx)
	select {
	case s.read <- struct{}{}:
		<-s.release
	default:
	}
	return ts, err
}

// TestTrunkWrittenDuringLoad: a trunk written while the cache's load is
// reading is seen by the next INVITE: the load that read before the write
// does not mark its list current (it did, and calls from a carrier added
// just after start were challenged 407 as strangers).
func TestTrunkWrittenDuringLoad(t *testing.T) {
	store := newStore(t)
	slow := slowTrunks{Store: store, read: make(chan struct{}), release: make(chan struct{})}
	tc := newTrunkCache(slow, time.Hour, 5*time.Second, testLogger())
	defer tc.stop()
	<-slow.read // the start-up load has read: no trunk yet
	in, err := resource.Decode(resource.Trunk, []byte(`{"name":"carrier","address":"127.0.0.1","port":0,"priority":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Put(context.Background(), "", resource.Trunk, "", "", in, resource.Create); err != nil {
		t.Fatal(err)
	}
	tc.invalidate()
	close(slow.release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if tr, _ := tc.inbound(ctx, "127.0.0.1:5070", "UDP"); tr == nil {
		t.Fatal("the trunk written during the load is not recognised")
	}
}
