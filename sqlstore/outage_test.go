package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/internal/poll"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// writeLog records concurrent writes: which were acknowledged, and the
// error codes of the others, by phase of the test.
type writeLog struct {
	mu     sync.Mutex
	phase  string
	acked  []string
	failed map[string]map[string]int // phase -> error code -> count
	last   map[string]error          // phase -> an error of it
}

func (l *writeLog) setPhase(p string) {
	l.mu.Lock()
	l.phase = p
	l.mu.Unlock()
}

func (l *writeLog) add(number string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.acked = append(l.acked, number)
		return
	}
	if l.failed[l.phase] == nil {
		l.failed[l.phase] = map[string]int{}
	}
	l.failed[l.phase][xc5.ErrorCode(err)]++
	l.last[l.phase] = err
}

// TestDatabaseGoesAway: a PostgreSQL store whose sessions are killed
// again and again, then whose database is cut off for seconds, answers
// every write it cannot make "unavailable" (503 to clients), never
// anything else, writes again by itself once the database is back, and
// loses no acknowledged write. Reads during the cut say "unavailable" too,
// not "not found". Before the writer reconnected, every write after the
// first kill failed with "sql: connection is already closed" (a 500) for
// good. Its change feed reconnects too, and the node counts itself fresh
// again.
func TestDatabaseGoesAway(t *testing.T) {
	o := storetest.PostgresOutage(t)
	s, err := sqlstore.OpenPostgres(ctx, o.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	storetest.NewAccount(t, s, "outage.test", "")
	fctx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	s.Follow(fctx, o.URL) // its LISTEN connection is killed and cut too
	poll.Until(t, 10*time.Second, "the node fresh", s.Fresh)

	log := &writeLog{phase: "before", failed: map[string]map[string]int{}, last: map[string]error{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				number := fmt.Sprintf("649%d%06d", w, i)
				_, _, err := s.Put(ctx, "", resource.Number, "outage.test", "", resource.Input{"number": number}, resource.Create)
				log.add(number, err)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}

	time.Sleep(300 * time.Millisecond)
	log.setPhase("kills")
	killed := 0
	for i := 0; i < 10; i++ {
		killed += o.Terminate(t)
		time.Sleep(300 * time.Millisecond)
	}
	if killed == 0 {
		t.Fatal("no session of the store was terminated: the test kills nothing")
	}

	log.setPhase("cut")
	o.Cut()
	time.Sleep(500 * time.Millisecond)
	_, err = s.Get(ctx, "", resource.Account, "", "outage.test")
	storetest.WantCode(t, err, xc5.EUNAVAILABLE, "Get during the cut")
	_, err = s.Credentials(ctx, "outage.test")
	storetest.WantCode(t, err, xc5.EUNAVAILABLE, "Credentials during the cut")
	start := time.Now()
	_, _, err = s.Put(ctx, "", resource.Number, "outage.test", "", resource.Input{"number": "6498000000"}, resource.Create)
	storetest.WantCode(t, err, xc5.EUNAVAILABLE, "Put during the cut")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a write during the cut took %v to be refused", d)
	}
	time.Sleep(3 * time.Second)

	log.setPhase("back")
	o.Restore(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err := s.Put(ctx, "", resource.Number, "outage.test", "", resource.Input{"number": "6498000001"}, resource.Create)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write succeeds 10 s after the database came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	log.setPhase("after")
	poll.Until(t, 10*time.Second, "the node fresh again", s.Fresh)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	log.mu.Lock()
	defer log.mu.Unlock()
	t.Logf("%d sessions killed; %d writes acknowledged; failures by phase: %v", killed, len(log.acked), log.failed)
	for phase, codes := range log.failed {
		for code, n := range codes {
			if code != xc5.EUNAVAILABLE {
				t.Errorf("%s: %d writes failed with code %q (e.g. %v), want only %q", phase, n, code, log.last[phase], xc5.EUNAVAILABLE)
			}
		}
	}
	// That the cut is real is proven by the Get, Credentials and Put
	// refused during it above. The background writers need not fail in
	// it: a batch in flight when the network stalls only waits (up to
	// pgBatchTimeout) and commits once it is back, and the writers wait
	// with it (seen under CI's load: every write of the cut in one
	// batch, none failed).
	if n := len(log.failed["after"]); n > 0 {
		t.Errorf("writes still fail after the store wrote again: %v", log.failed["after"])
	}

	// Every acknowledged write is in the database, read without the proxy.
	check, err := sqlstore.OpenPostgres(ctx, o.Direct)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	have := map[string]bool{}
	for _, rec := range storetest.List(t, check, "", resource.Number, resource.Query{Parent: "outage.test"}) {
		have[rec.Values["number"].(string)] = true
	}
	for _, n := range log.acked {
		if !have[n] {
			t.Errorf("acknowledged number %s is not in the database", n)
		}
	}
}

// TestDatabaseStalls: a PostgreSQL database that stops answering without
// closing anything (a network dropping packets) delays the writes of a
// short stall, which then succeed, and answers those of a long one
// "unavailable" once a batch has waited its bound, instead of holding
// them until TCP gives the connection up, minutes later; the store then
// writes again as soon as traffic flows.
func TestDatabaseStalls(t *testing.T) {
	o := storetest.PostgresOutage(t)
	s, err := sqlstore.OpenPostgres(ctx, o.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	storetest.NewAccount(t, s, "stall.test", "")
	const bound = 2 * time.Second
	s.SetBatchTimeout(bound)
	create := func(number string) (time.Duration, error) {
		start := time.Now()
		_, _, err := s.Put(ctx, "", resource.Number, "stall.test", "", resource.Input{"number": number}, resource.Create)
		return time.Since(start), err
	}

	o.Stall()
	time.AfterFunc(bound/2, o.Resume)
	if took, err := create("6497100001"); err != nil || took < bound/2 {
		t.Fatalf("write during a short stall: %v after %v; want success after the stall", err, took)
	}

	o.Stall()
	watchdog := time.AfterFunc(bound+3*time.Second, o.Resume) // so that a store without the bound fails rather than hangs
	for i, number := range []string{"6497100002", "6497100003"} {
		took, err := create(number)
		storetest.WantCode(t, err, xc5.EUNAVAILABLE, "write during a long stall")
		if took > bound+2*time.Second {
			t.Errorf("write %d during a long stall was refused after %v; want about %v", i, took, bound)
		}
	}
	watchdog.Stop()
	o.Resume()
	if _, err := create("6497100004"); err != nil {
		t.Fatalf("write once traffic flows again: %v", err)
	}
}

// TestImportNotBounded: the bound on a PostgreSQL batch, which gives up a
// stalled connection, does not cut short an import, one transaction for
// a whole installation that may take minutes; ordinary writes are bounded.
func TestImportNotBounded(t *testing.T) {
	src, _ := openStore(t, storetest.Backends(t)[0])
	if err := src.Seed(ctx, 2000, 2000, "seed-password-1"); err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	if err := src.Export(ctx, &dump); err != nil {
		t.Fatal(err)
	}
	o := storetest.PostgresOutage(t)
	dst, err := sqlstore.OpenPostgres(ctx, o.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	const bound = 50 * time.Millisecond
	dst.SetBatchTimeout(bound)
	start := time.Now()
	if err := dst.Import(ctx, bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatalf("import under a %v bound on batches: %v", bound, err)
	}
	if took := time.Since(start); took < bound {
		t.Fatalf("the import took %v, less than the bound: the test proves nothing", took)
	}
	if _, err := dst.Credentials(ctx, "u1@seed-0.test"); err != nil {
		t.Errorf("an imported account: %v", err)
	}
	dst.SetBatchTimeout(time.Nanosecond)
	_, _, err = dst.Put(ctx, "", resource.Location, "", "", resource.Input{"name": "bounded"}, resource.Create)
	storetest.WantCode(t, err, xc5.EUNAVAILABLE, "an ordinary write over its bound")
}
