package sipserver

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/sqlstore"
	"xc5/storetest"
)

// newOutagePBX is newPBX on a PostgreSQL store behind a storetest.Outage,
// with call counts shared through it and store calls bounded to a second.
func newOutagePBX(t *testing.T) (*pbx, *storetest.Outage) {
	t.Helper()
	o := storetest.PostgresOutage(t)
	store := o.Open(t, "admin-pw-123")
	t.Cleanup(o.Resume) // first: the server's shutdown must not wait on a stall
	x := newPBXOn(t, Config{RequestTimeout: time.Second, ShareCallCounts: true}, store)
	return x, o
}

// wantUnavailable fails unless res is 503 with a Retry-After of at least
// storeRetryAfter.
func wantUnavailable(t *testing.T, what string, res *sip.Response) {
	t.Helper()
	ra := ""
	if h := res.GetHeader("Retry-After"); h != nil {
		ra = h.Value()
	}
	secs, err := strconv.Atoi(ra)
	if res.StatusCode != 503 || err != nil || time.Duration(secs)*time.Second < storeRetryAfter {
		t.Fatalf("%s: %d %s, Retry-After %q; want 503 with Retry-After >= %v", what, res.StatusCode, res.Reason, ra, storeRetryAfter)
	}
}

// TestCallSetupDatabaseStall: while PostgreSQL stalls (packets dropped,
// nothing closed), a call whose callee has a concurrent_limit is refused
// with 503 and a Retry-After once RequestTimeout is up, instead of
// waiting on the shared call count for as long as TCP takes to give up
// (each such call held a set-up slot: after MaxCallSetups of them the
// node refused everything). Once traffic flows the call goes through.
func TestCallSetupDatabaseStall(t *testing.T) {
	x, o := newOutagePBX(t)
	x.trunk("", "", "")
	x.patch(sales, `{"concurrent_limit":1}`)
	sal := x.phone(sales, salesPassword, "UDP")
	car := x.carrier("6421555000")
	out := car.dial("6499290089")
	go sal.next(3 * time.Second).answer()
	out.answered(3 * time.Second)
	out.hangup()
	x.idle()

	o.Stall()
	start := time.Now()
	res := car.dial("6499290089").result(10 * time.Second)
	wantUnavailable(t, "carrier call while the database stalls", res)
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("the 503 came after %v; want a few RequestTimeouts (1 s)", took)
	}
	sal.none(100 * time.Millisecond)
	o.Resume()
	x.idle()
	out = car.dial("6499290089")
	go sal.next(5 * time.Second).answer()
	out.answered(5 * time.Second)
	out.hangup()
	x.idle()
}

// TestCallEndsDuringOutage: a call that ends while the database is cut
// off leaves neither its active_calls rows (the account would count as at
// its concurrent_limit for MaxCallDuration) nor loses its call detail
// records: both are written once the database is back, the records once
// each.
func TestCallEndsDuringOutage(t *testing.T) {
	x, o := newOutagePBX(t)
	x.patch(sales, `{"concurrent_limit":1}`)
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	out := rec.dial("608")
	go sal.next(3 * time.Second).answer()
	out.answered(3 * time.Second)
	ctx := context.Background()
	if n, err := x.store.ActiveCalls(ctx, x.ids[sales], time.Now()); err != nil || n != 1 {
		t.Fatalf("sales's shared count in the call: %d, %v; want 1", n, err)
	}

	o.Cut()
	out.hangup()
	x.idle()
	time.Sleep(300 * time.Millisecond) // a CDR flush or two fail
	o.Restore(t)

	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := x.store.ActiveCalls(ctx, x.ids[sales], time.Now())
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sales's shared count 10 s after the database came back: %d, %v; want 0", n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.cdrs(reception, 1)
	x.cdrs(sales, 1)
	time.Sleep(500 * time.Millisecond) // no duplicate comes later either
	x.cdrs(reception, 1)
	x.cdrs(sales, 1)
}

// TestInboundCallContactsUnavailable: a carrier call to a number whose
// phones cannot be looked up (the database is cut off) is refused with
// 503 and a Retry-After, so that the carrier fails over, instead of
// being treated as "no phone registered" (forward on no answer,
// voicemail, 480).
func TestInboundCallContactsUnavailable(t *testing.T) {
	x, o := newOutagePBX(t)
	x.trunk("", "", "")
	sal := x.phone(sales, salesPassword, "UDP")
	car := x.carrier("6421555000")
	out := car.dial("6499290089")
	go sal.next(3 * time.Second).answer()
	out.answered(3 * time.Second)
	out.hangup()
	x.idle()

	o.Cut()
	wantUnavailable(t, "carrier call with the database cut off", car.dial("6499290089").result(8*time.Second))
	sal.none(100 * time.Millisecond)
}

// trunkCountingStore counts the trunk reads of a store.
type trunkCountingStore struct {
	*sqlstore.Store
	trunkReads atomic.Int64
}

func (c *trunkCountingStore) Trunks(ctx context.Context) ([]xc5.Trunk, error) {
	c.trunkReads.Add(1)
	return c.Store.Trunks(ctx)
}

// TestTrunkCacheOutage: while the database stalls, requests matched
// against the trunks do not queue behind one stuck read (the cache
// reloads outside its lock and serves its last list meanwhile), a failed
// reload is not tried again on every request, and a node that never
// loaded the trunks answers a carrier's INVITE 503 with Retry-After
// rather than challenging it as a phone.
func TestTrunkCacheOutage(t *testing.T) {
	x, o := newOutagePBX(t)
	x.trunk("", "", "")
	cs := &trunkCountingStore{Store: x.store}
	tc := x.srv.b2b.trunks
	tc.mu.Lock()
	tc.store, tc.ttl = cs, time.Millisecond
	tc.mu.Unlock()
	if tr, _ := tc.inbound(context.Background(), "127.0.0.1:5060", "udp"); tr == nil {
		t.Fatal("the carrier's trunk is not matched")
	}
	time.Sleep(5 * time.Millisecond)

	o.Stall()
	start := time.Now()
	var wg sync.WaitGroup
	var matched atomic.Int64
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if tr, _ := tc.inbound(ctx, "127.0.0.1:5060", "udp"); tr != nil {
				matched.Add(1)
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took > 300*time.Millisecond || matched.Load() != 20 {
		t.Fatalf("20 trunk matches during a stall: %d matched in %v; want all, at once, from the last list", matched.Load(), took)
	}
	o.Resume()

	o.Cut()
	time.Sleep(1500 * time.Millisecond) // the reload under way fails
	before := cs.trunkReads.Load()
	for i := 0; i < 50; i++ {
		if tr, _ := tc.inbound(context.Background(), "127.0.0.1:5060", "udp"); tr == nil {
			t.Fatal("the carrier's trunk is not matched from the last list while the database is away")
		}
		time.Sleep(4 * time.Millisecond)
	}
	if n := cs.trunkReads.Load() - before; n > 2 {
		t.Fatalf("50 requests in 200 ms with the database away read the trunks %d times; want a back-off", n)
	}
	o.Restore(t)

	// A node started during the outage: no list yet.
	o.Cut()
	fresh := startServer(t, Config{AuthFailures: -1, RequestTimeout: time.Second}, x.store)
	if err := fresh.EnableCalls(x.view); err != nil {
		t.Fatal(err)
	}
	car := newUAPhone(t, fresh.addr, "UDP", "", "")
	car.number = "6421555000"
	wantUnavailable(t, "carrier call to a node that never loaded its trunks", car.dial("6499290089").result(8*time.Second))
}

// TestChallengeRealmUnavailable: an INVITE without credentials whose
// realm depends on an account lookup is answered 503 with Retry-After
// while the database is cut off, not challenged in a guessed realm.
func TestChallengeRealmUnavailable(t *testing.T) {
	x, o := newOutagePBX(t)
	x.srv.b2b.trunks.get(context.Background()) // no trunks: an empty list, loaded
	o.Cut()
	p := newUAPhone(t, x.srv.addr, "UDP", "", "")
	p.number = "6491231234"
	wantUnavailable(t, "unauthenticated INVITE with the database cut off", p.dial("608").result(8*time.Second))
}
