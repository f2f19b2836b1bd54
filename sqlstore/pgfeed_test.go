package sqlstore_test

// Tests of the change feed and read fence between two stores (two nodes)
// on one PostgreSQL schema; they run when XC5_TEST_POSTGRES is set.

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/resource"
	"xc5/routing"
	"xc5/sqlstore"
	"xc5/storetest"
)

// node is one store following the feed, with a routing view fed by it.
type node struct {
	store *sqlstore.Store
	view  *routing.View
	stop  context.CancelFunc
}

func startNode(t *testing.T, url string) *node {
	t.Helper()
	s, err := sqlstore.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	v := routing.NewView(routing.Defaults{CountryCode: "64"})
	v.Follow(s)
	fctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	s.Follow(fctx, url)
	if err := v.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	return &node{store: s, view: v, stop: stop}
}

func TestFenceReadsAcrossNodes(t *testing.T) {
	url := storetest.PostgresURL(t)
	if url == "" {
		t.Skip("set " + storetest.EnvPostgres + " to run the PostgreSQL feed tests")
	}
	a, b := startNode(t, url), startNode(t, url)
	poll.Until(t, 15*time.Second, "both nodes fresh", func() bool { return a.store.Fresh() && b.store.Fresh() })

	// Every write acknowledged by a is already in b's view: no waiting.
	rec, _, err := a.store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "fence.test"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.view.AccountRecord(rec.GUID); !ok {
		t.Fatal("an account created through a is not in b's view when a acknowledges it")
	}
	for i := 1; i <= 40; i++ {
		writer, reader := a, b
		if i%2 == 0 {
			writer, reader = b, a
		}
		if _, _, err := writer.store.Put(ctx, "", resource.Account, "", "fence.test", resource.Input{"concurrent_limit": int64(i)}, resource.Patch); err != nil {
			t.Fatal(err)
		}
		got, ok := reader.view.AccountRecord(rec.GUID)
		if !ok || got.Values["concurrent_limit"] != int64(i) {
			t.Fatalf("write %d: the other node's view has %v (ok %v) when the write is acknowledged", i, got.Values["concurrent_limit"], ok)
		}
		// A number (applied from its record, not by reloading the account).
		num, _, err := writer.store.Put(ctx, "", resource.Number, "fence.test", "", resource.Input{"number": fmt.Sprint(6490000000 + i)}, resource.Create)
		if err != nil {
			t.Fatal(err)
		}
		if reader.view.Account(rec.GUID) == nil || !hasNumber(reader.view.Account(rec.GUID), num.Values["number"].(string)) {
			t.Fatalf("write %d: number %v not in the other node's view when acknowledged", i, num.Values["number"])
		}
	}
	if err := a.store.Delete(ctx, "", resource.Account, "", "fence.test"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.view.AccountRecord(rec.GUID); ok {
		t.Fatal("a deleted account is still in b's view when the delete is acknowledged")
	}

	// b stops following: it is no longer fresh at once, and a's writes
	// complete without it once its lease runs out (never a hang).
	b.stop()
	poll.Until(t, 5*time.Second, "b stops counting itself fresh", func() bool { return !b.store.Fresh() })
	done := make(chan error, 1)
	go func() {
		_, _, err := a.store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "after.test"}, resource.Create)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a write hangs after another node left")
	}
	if !a.store.Fresh() {
		t.Fatal("a stopped counting itself fresh although its own feed is up")
	}
}

func hasNumber(a *routing.Account, number string) bool {
	for _, n := range a.Numbers {
		if n.Number == number {
			return true
		}
	}
	return false
}

// TestFeedReconnect cuts the nodes' listening connections: they stop
// answering from memory at once, reconnect, reload what they missed and
// become fresh again.
func TestFeedReconnect(t *testing.T) {
	url := storetest.PostgresURL(t)
	if url == "" {
		t.Skip("set " + storetest.EnvPostgres + " to run the PostgreSQL feed tests")
	}
	a, b := startNode(t, url), startNode(t, url)
	poll.Until(t, 15*time.Second, "both nodes fresh", func() bool { return a.store.Fresh() && b.store.Fresh() })
	schema := regexp.MustCompile(`search_path=([a-z0-9_]+)`).FindStringSubmatch(url)[1]
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// b's listener only: a keeps its feed, so a's writes wait on b until
	// b's lease runs out.
	b.stop()
	poll.Until(t, 5*time.Second, "b not fresh without its feed", func() bool { return !b.store.Fresh() })
	rec, _, err := a.store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "missed.test"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	// Now both: terminate a's listening connection in the database.
	var killed int
	if err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'xc5 feed xc5_changes.` + schema + `'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no listening connection found to cut")
	}
	poll.Until(t, 5*time.Second, "a not fresh once its feed is cut", func() bool { return !a.store.Fresh() })
	poll.Until(t, 15*time.Second, "a fresh again after reconnecting", a.store.Fresh)
	if _, ok := a.view.AccountRecord(rec.GUID); !ok {
		t.Fatal("a lost its own write across the reconnect")
	}
	// b follows again (a new listener): it reloads and catches up.
	fctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	b.store.Follow(fctx, url)
	poll.Until(t, 15*time.Second, "b fresh again", b.store.Fresh)
	if _, ok := b.view.AccountRecord(rec.GUID); !ok {
		t.Fatal("b is fresh but misses a write made while it was away")
	}
}

// TestLeavingNodeStillFenced: a node whose Follow has ended (leaving the
// cluster) still acknowledges its writes only once a fresh peer has them,
// even when that peer applies changes slowly.
func TestLeavingNodeStillFenced(t *testing.T) {
	url := storetest.PostgresURL(t)
	if url == "" {
		t.Skip("set " + storetest.EnvPostgres + " to run the PostgreSQL feed tests")
	}
	a, b := startNode(t, url), startNode(t, url)
	poll.Until(t, 15*time.Second, "both nodes fresh", func() bool { return a.store.Fresh() && b.store.Fresh() })
	rec, _, err := a.store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "leave.test"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	b.store.OnChange(func(c resource.Change) { // a busy listener
		if c.Resource == resource.Account {
			time.Sleep(300 * time.Millisecond)
		}
	})
	a.stop()
	time.Sleep(100 * time.Millisecond)
	if _, _, err := a.store.Put(ctx, "", resource.Account, "", "leave.test", resource.Input{"concurrent_limit": int64(9)}, resource.Patch); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.view.AccountRecord(rec.GUID); b.store.Fresh() && got.Values["concurrent_limit"] != int64(9) {
		t.Fatalf("a write acknowledged by a leaving node is not in a fresh peer's view (%v)", got.Values["concurrent_limit"])
	}
}

// TestDeadNodeReload: a node that dies between a commit and its
// announcement leaves a change no view has seen. When a peer's lease runs
// out without being given up, the other nodes reload.
func TestDeadNodeReload(t *testing.T) {
	url := storetest.PostgresURL(t)
	if url == "" {
		t.Skip("set " + storetest.EnvPostgres + " to run the PostgreSQL feed tests")
	}
	a := startNode(t, url)
	poll.Until(t, 15*time.Second, "a fresh", a.store.Fresh)
	rec, _, err := a.store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "dead.test"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The dying node: it holds a lease for a moment, commits a change
	// and dies before announcing it.
	if _, err := db.Exec(`INSERT INTO nodes (id, lease_until) VALUES ('dead', (extract(epoch from clock_timestamp())*1000)::bigint + 700)`); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 5*time.Second, "a sees the other node", func() bool {
		var n int
		db.QueryRow(`SELECT count(*) FROM nodes`).Scan(&n)
		return n == 2
	})
	time.Sleep(400 * time.Millisecond) // a's renewals see it live
	if _, err := db.Exec(`UPDATE accounts SET pickup_group = 'Unannounced' WHERE guid = $1`, rec.GUID); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "a's view has the dead node's change", func() bool {
		got, _ := a.view.AccountRecord(rec.GUID)
		return got.Values["pickup_group"] == "Unannounced"
	})
}
