package routing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xc5/resource"
	"xc5/routing"
	"xc5/sqlite"
)

// BenchmarkWriteVisible measures what a write adds before it is
// acknowledged so that the next decision sees it: reloading the written
// account (with its rules) into the view, from a real SQLite store.
func BenchmarkWriteVisible(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	store.Bootstrap(ctx, "pw")
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
	store, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	store.Bootstrap(ctx, "pw")
	v := routing.NewView(routing.Defaults{Location: time.UTC, CountryCode: "64"})
	v.Follow(store)
	if err := v.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
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
