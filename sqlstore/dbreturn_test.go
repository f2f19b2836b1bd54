package sqlstore_test

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// openOutage opens a bootstrapped PostgreSQL store behind an Outage.
func openOutage(t *testing.T) (*storetest.Outage, *sqlstore.Store) {
	t.Helper()
	o := storetest.PostgresOutage(t)
	s, err := sqlstore.OpenPostgres(ctx, o.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Resume(); s.Close() })
	if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	return o, s
}

// TestReadsUnavailable: every reader the SIP service and the API use
// answers EUNAVAILABLE (503) while the database is cut off or stalled,
// never a raw internal error (500) nor "not found". Before, ActiveCalls
// and Trunks returned the driver's error as it came.
func TestReadsUnavailable(t *testing.T) {
	o, s := openOutage(t)
	reads := []struct {
		name string
		read func() error
	}{
		{"ActiveCalls", func() error { _, err := s.ActiveCalls(ctx, "X", time.Now()); return err }},
		{"Trunks", func() error { _, err := s.Trunks(ctx); return err }},
		{"ContactsOf", func() error { _, err := s.ContactsOf(ctx, "X", time.Now()); return err }},
		{"SIPCredentials", func() error { _, err := s.SIPCredentials(ctx, "x@y"); return err }},
		{"Get", func() error { _, err := s.Get(ctx, "", resource.AccountResource, "", "admin"); return err }},
	}
	o.Cut()
	for _, r := range reads {
		storetest.WantCode(t, r.read(), xc5.EUNAVAILABLE, r.name+" with the database cut off")
	}
	o.Restore(t)
	for _, r := range reads[:3] {
		deadline := time.Now().Add(10 * time.Second)
		for err := r.read(); err != nil; err = r.read() {
			if time.Now().After(deadline) {
				t.Fatalf("%s once the database is back: %v", r.name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestLockWaitFailsOneWrite: a write that waits for a row lock another
// session holds fails alone after the lock timeout, EUNAVAILABLE ("too
// busy"), while the writes batched with it commit. Before, it held its
// batch until the batch's bound and every write of it failed.
func TestLockWaitFailsOneWrite(t *testing.T) {
	for _, rerunnable := range []bool{false, true} {
		t.Run(fmt.Sprintf("rerunnable=%v", rerunnable), func(t *testing.T) {
			o, s := openOutage(t)
			if err := s.WriteThen(ctx, "locked", func() {}); err != nil {
				t.Fatal(err)
			}
			holder, err := sql.Open("pgx", o.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close()
			tx, err := holder.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `SELECT value FROM settings WHERE name = 'locked' FOR UPDATE`); err != nil {
				t.Fatal(err)
			}
			// So that a writer without the lock timeout ends rather than hangs.
			release := time.AfterFunc(5*time.Second, func() { tx.Rollback() })
			defer release.Stop()
			s.SetLockTimeout(300 * time.Millisecond)
			start := time.Now()
			errs := s.RunBatch(t, []*sqlstore.BatchWrite{
				{Name: "free1", Rerunnable: rerunnable},
				{Name: "locked", Fail: "locked", Rerunnable: rerunnable},
				{Name: "free2", Rerunnable: rerunnable},
			})
			took := time.Since(start)
			storetest.WantCode(t, errs[1], xc5.EUNAVAILABLE, "the write waiting for a lock")
			if took > 3*time.Second {
				t.Errorf("the batch took %v; want the locked write given up after about its lock timeout", took)
			}
			for i, name := range []string{"free1", "free2"} {
				if err := errs[2*i]; err != nil || !s.HasSetting(t, name) {
					t.Errorf("write %s batched with the locked one: %v, committed %v; want committed", name, err, s.HasSetting(t, name))
				}
			}
		})
	}
}

// TestCommitUnanswered: a COMMIT is not given up at the batch's bound;
// a write whose COMMIT was sent but never answered
// (the network stalled under it) is answered EUNAVAILABLE with a message
// of its own, saying that the outcome is unknown, so that a client reads
// before retrying a create; any other failure keeps the plain message.
func TestCommitUnanswered(t *testing.T) {
	o, s := openOutage(t)
	// A COMMIT slower than the batch's bound (a synchronous standby
	// lagging) is waited for: it has its own, longer watchdog.
	s.SetBatchTimeout(time.Second)
	var slow sync.Once
	err := s.WriteThen(ctx, "slow", func() {
		slow.Do(func() { o.Stall(); time.AfterFunc(2*time.Second, o.Resume) })
	})
	if err != nil || !s.HasSetting(t, "slow") {
		t.Fatalf("write whose COMMIT took 2 s with batches bounded to 1 s: %v; want it committed", err)
	}

	s.SetCommitTimeout(time.Second)
	var once sync.Once
	err = s.WriteThen(ctx, "unanswered", func() { once.Do(o.Stall) })
	o.Resume()
	storetest.WantCode(t, err, xc5.EUNAVAILABLE, "write whose COMMIT went unanswered")
	if err == nil || !strings.Contains(err.Error(), "outcome is unknown: read before retrying") {
		t.Fatalf("write whose COMMIT went unanswered: %v; want the outcome-unknown message", err)
	}
	o.Cut()
	err = s.WriteThen(ctx, "refused", func() {})
	storetest.WantCode(t, err, xc5.EUNAVAILABLE, "write with the database cut off")
	if strings.Contains(err.Error(), "outcome is unknown") {
		t.Fatalf("write that never reached the database: %v; want no outcome-unknown message", err)
	}
}

// TestForgetIdleOnce: however many reads fail at once, forgetIdle runs in
// one goroutine at a time, and not again within a second.
func TestForgetIdleOnce(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var f sqlstore.IdleForgetter
	var wg sync.WaitGroup
	var mu sync.Mutex
	started := 0
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f.Start(db) {
				mu.Lock()
				started++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if started != 1 {
		t.Fatalf("1000 failed reads started forgetIdle %d times; want 1", started)
	}
}
