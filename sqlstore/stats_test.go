package sqlstore_test

import (
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/storetest"
)

// TestStats: concurrent writes show in the commit histograms (every
// write in some batch), queued mails in QueuedMail until sent, and the
// database answers Ping until closed.
func TestStats(t *testing.T) { forEachBackend(t, testStats) }

func testStats(t *testing.T, b storetest.Backend) {
	t.Parallel()
	s, _ := openStore(t, b)
	secs0, batch0 := s.CommitStats()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			storetest.NewAccount(t, s, "stats"+string(rune('a'+i))+".test", "")
		}()
	}
	wg.Wait()
	secs, batch := s.CommitStats()
	if batch.Count <= batch0.Count || secs.Count != batch.Count-batch0.Count+secs0.Count {
		t.Errorf("batches %d -> %d, commit timings %d -> %d", batch0.Count, batch.Count, secs0.Count, secs.Count)
	}
	if writes := batch.Sum - batch0.Sum; writes < 8 {
		t.Errorf("%v writes in the batches, want at least 8", writes)
	}
	if err := s.QueueMail(ctx, []xc5.Mail{{To: "a@x.test", Subject: "s"}, {To: "b@x.test", Subject: "s"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.QueuedMail(ctx); n != 2 || err != nil {
		t.Errorf("QueuedMail = %d, %v; want 2", n, err)
	}
	ms, err := s.ClaimMail(ctx, "n1", time.Minute, 1)
	if err != nil || len(ms) != 1 {
		t.Fatalf("claim: %v %v", ms, err)
	}
	if err := s.MailSent(ctx, ms[0].GUID, "n1"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.QueuedMail(ctx); n != 1 || err != nil {
		t.Errorf("QueuedMail after one sent = %d, %v; want 1", n, err)
	}
	if n, err := s.Bindings(ctx); n != 0 || err != nil {
		t.Errorf("Bindings = %d, %v; want 0", n, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	s.Close()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping of a closed store succeeded")
	}
	if s.FeedLag() != 0 {
		t.Errorf("FeedLag without following: %v", s.FeedLag())
	}
}
