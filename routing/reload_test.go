package routing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/routing"
	"xc5/sqlstore"
	"xc5/storetest"
)

// BenchmarkWriteVisible measures what a write adds before it is
// acknowledged so that the next decision sees it: reloading the written
// account (with its rules) into the view, from a real store
// (storetest.Open).
func BenchmarkWriteVisible(b *testing.B) {
	ctx := context.Background()
	store := storetest.Open(b, "pw")
	acct, _, err := store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "w.test", "password": "pw"}, resource.Create)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		store.Put(ctx, "", resource.Number, acct.GUID, "", resource.Input{"number": fmt.Sprint(6493000000 + i)}, resource.Create)
		store.Put(ctx, "", resource.Route, acct.GUID, "", resource.Input{"order": int64(100 + i), "destination": "email:x@w.test"}, resource.Create)
	}
	v := routing.NewView(routing.Defaults{Location: time.UTC, CountryCode: "64"})
	if err := v.Load(ctx, store); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := v.ReloadAccount(ctx, store, acct.GUID); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteVisibleToNextDecision: a write through the store is in the
// view when the write returns.
func TestWriteVisibleToNextDecision(t *testing.T) {
	ctx := context.Background()
	store, v := followingView(t)
	sim := &routing.Simulation{Registered: func(*routing.Account) bool { return true }}
	acct, _, _ := store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "v.test", "password": "pw"}, resource.Create)
	for i := 0; i < 20; i++ {
		n := fmt.Sprint(6494000000 + i)
		if _, _, err := store.Put(ctx, "", resource.Number, acct.GUID, "", resource.Input{"number": n}, resource.Create); err != nil {
			t.Fatal(err)
		}
		if tr := v.Decide(routing.Call{From: "6421000000", Dialed: n}, sim); tr.Outcome.By != "v.test" {
			t.Fatalf("number %s not visible right after its write: %+v", n, tr.Outcome)
		}
	}
	if err := store.Delete(ctx, "", resource.Account, "", acct.GUID); err != nil {
		t.Fatal(err)
	}
	if tr := v.Decide(routing.Call{From: "6421000000", Dialed: "6494000000"}, sim); tr.Outcome.Outcome != routing.Dropped {
		t.Fatalf("deleted account still routed: %+v", tr.Outcome)
	}
}

// pausingStore is a real store whose first full read of the accounts,
// once armed, pauses after reading until released: a reload that read
// the store before a write it has not seen.
type pausingStore struct {
	resource.Store
	read, release chan struct{}
}

func (p *pausingStore) ListAll(ctx context.Context, r *resource.Resource, fn func(resource.Record) error) error {
	err := p.Store.ListAll(ctx, r, fn)
	if r == resource.Account && p.read != nil {
		close(p.read)
		<-p.release
		p.read = nil
	}
	return err
}

// TestReloadKeepsConcurrentWrites: a write applied while a full reload
// (after a lost change feed) is under way is not undone when the reload
// swaps in its copy, read before the write.
func TestReloadKeepsConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	store, v := followingView(t)
	acct, _, err := store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "r.test"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	p := &pausingStore{Store: store, read: make(chan struct{}), release: make(chan struct{})}
	read := p.read
	done := make(chan error, 1)
	go func() { done <- v.Reload(ctx, p) }()
	<-read
	if _, _, err := store.Put(ctx, "", resource.Account, "", "r.test", resource.Input{"concurrent_limit": int64(5)}, resource.Patch); err != nil {
		t.Fatal(err)
	}
	close(p.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := v.AccountRecord(acct.GUID); got.Values["concurrent_limit"] != int64(5) {
		t.Fatalf("after the reload the view has concurrent_limit %v, want 5 (written during the reload)", got.Values["concurrent_limit"])
	}
}

// followingView opens a bootstrapped store and a loaded view that
// follows it.
func followingView(t *testing.T) (*sqlstore.Store, *routing.View) {
	t.Helper()
	store := storetest.Open(t, "pw")
	v := routing.NewView(routing.Defaults{Location: time.UTC, CountryCode: "64"})
	v.Follow(store)
	if err := v.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	return store, v
}

// failingGets is a real store whose reads of one account fail as an
// unreachable database does (EUNAVAILABLE), not as a missing record.
type failingGets struct {
	resource.Store
	guid string
}

func (f failingGets) Get(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string) (resource.Record, error) {
	if r == resource.Account && id == f.guid {
		return resource.Record{}, xc5.Errorf(xc5.EUNAVAILABLE, "database unreachable")
	}
	return f.Store.Get(ctx, scope, r, parent, id)
}

// TestReloadStoreErrorKeepsAccount: a store that cannot read an account
// for now is reported as an error to the caller; the account stays in the
// view as it was loaded. Only ENOTFOUND means the account was deleted.
func TestReloadStoreErrorKeepsAccount(t *testing.T) {
	ctx := context.Background()
	store, v := followingView(t)
	sim := &routing.Simulation{Registered: func(*routing.Account) bool { return true }}
	acct, _, err := store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "e.test", "password": "pw"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Put(ctx, "", resource.Number, acct.GUID, "", resource.Input{"number": "6495000000"}, resource.Create); err != nil {
		t.Fatal(err)
	}
	broken := failingGets{Store: store, guid: acct.GUID}
	for _, reload := range []struct {
		name string
		run  func() error
	}{
		{"ReloadAccount", func() error { return v.ReloadAccount(ctx, broken, acct.GUID) }},
		{"Apply", func() error {
			return v.Apply(ctx, broken, resource.Change{Resource: resource.Number, Account: acct.GUID})
		}},
		{"Apply accountresource", func() error {
			return v.Apply(ctx, broken, resource.Change{Resource: resource.AccountResource, Account: acct.GUID})
		}},
	} {
		err := reload.run()
		if code := xc5.ErrorCode(err); code != xc5.EUNAVAILABLE {
			t.Errorf("%s: error %v (code %s), want the store's EUNAVAILABLE", reload.name, err, code)
		}
		if tr := v.Decide(routing.Call{From: "6421000000", Dialed: "6495000000"}, sim); tr.Outcome.By != "e.test" {
			t.Errorf("%s: after a failed read the account vanished from the view: %+v", reload.name, tr.Outcome)
		}
	}
	// A record that is really gone still removes the account.
	if err := store.Delete(ctx, "", resource.Account, "", acct.GUID); err != nil {
		t.Fatal(err)
	}
	if err := v.ReloadAccount(ctx, store, acct.GUID); err != nil {
		t.Fatalf("reloading a deleted account: %v", err)
	}
	if tr := v.Decide(routing.Call{From: "6421000000", Dialed: "6495000000"}, sim); tr.Outcome.Outcome != routing.Dropped {
		t.Fatalf("deleted account still routed: %+v", tr.Outcome)
	}
}
