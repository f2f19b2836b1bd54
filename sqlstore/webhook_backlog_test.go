package sqlstore_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestWebhookBacklogClaimCost (XC5_WEBHOOK_BACKLOG=N): a dead receiver's
// backlog of N queued events; how long a claim takes that finds nothing
// due (the head waits for its retry). The claim runs in the writer, on
// every kick (every write that queues an event) and every poll.
func TestWebhookBacklogClaimCost(t *testing.T) {
	n := 0
	fmt.Sscan(os.Getenv("XC5_WEBHOOK_BACKLOG"), &n)
	if n == 0 {
		t.Skip("XC5_WEBHOOK_BACKLOG=N measures a claim over N queued events")
	}
	storetest.Each(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		u := storetest.NewAccount(t, s, "backlog.hooks", "")
		storetest.Hook(t, s, "backlog.hooks", "*", true)
		for done := 0; done < n; done += 1000 {
			var recs []xc5.CDR
			for i := 0; i < 1000; i++ {
				recs = append(recs, xc5.CDR{Account: u.GUID, Event: xc5.EventCallStarted, GUID: resource.NewGUID(), Values: map[string]any{"call_id": "x"}})
			}
			if err := s.AddCDRs(ctx, recs); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := s.ClaimDeliveries(ctx, "n1", time.Minute, 1)
		if err != nil || len(ds) != 1 {
			t.Fatal(ds, err)
		}
		if err := s.DeliveryFailed(ctx, ds[0].ID, "n1", "dead", time.Now().Add(time.Hour), false); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			start := time.Now()
			ds, err := s.ClaimDeliveries(ctx, "n1", time.Minute, 16)
			t.Logf("claim over %d queued: %d due, %v (%v)", n, len(ds), time.Since(start), err)
		}
		// Writes while a sender claims back to back (what it does when
		// every write kicks it).
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.ClaimDeliveries(ctx, "n1", time.Minute, 16)
			}
		}()
		var worst, total time.Duration
		const writes = 30
		for i := range writes {
			start := time.Now()
			storetest.NewNumber(t, s, "backlog.hooks", fmt.Sprintf("64977990%02d", i))
			d := time.Since(start)
			total += d
			worst = max(worst, d)
		}
		close(stop)
		<-done
		t.Logf("%d number writes while claiming: mean %v, worst %v", writes, total/writes, worst)
	})
}
