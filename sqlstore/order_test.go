package sqlstore_test

import (
	"sync"
	"testing"

	"xc5/resource"
	"xc5/routing"
	"xc5/storetest"
)

// TestLocalChangesInCommitOrder: concurrent PATCHes of one account share
// group commits and are answered together; once all are acknowledged,
// the node's own view holds what the database holds, not whichever
// answered goroutine delivered its record last.
func TestLocalChangesInCommitOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		s, _ := openStore(t, b)
		v := routing.NewView(routing.Defaults{CountryCode: "64"})
		v.Follow(s)
		if err := v.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
		rec, _, err := s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "order.test"}, resource.Create)
		if err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 100; round++ {
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func(n int64) {
					defer wg.Done()
					if _, _, err := s.Put(ctx, "", resource.Account, "", "order.test", resource.Input{"concurrent_limit": n}, resource.Patch); err != nil {
						t.Error(err)
					}
				}(int64(round*10 + i + 1))
			}
			wg.Wait()
			got, _ := v.AccountRecord(rec.GUID)
			db, err := s.Get(ctx, "", resource.Account, "", rec.GUID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Values["concurrent_limit"] != db.Values["concurrent_limit"] {
				t.Fatalf("round %d: the view has concurrent_limit %v, the database %v", round, got.Values["concurrent_limit"], db.Values["concurrent_limit"])
			}
		}
	})
}
