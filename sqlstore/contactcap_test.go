package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/sqlstore"
	"xc5/storetest"
)

func TestContactCap(t *testing.T) { forEachBackend(t, testContactCap) }

// testContactCap: 20 simultaneous new contacts for one account with a cap
// of 10 store exactly 10 and refuse 10 with ErrTooManyContacts. On
// PostgreSQL they go through two stores (two nodes) at once. At the cap a
// refresh still passes, and expired bindings do not count.
func testContactCap(t *testing.T, b storetest.Backend) {
	s, guid := newRegStore(t, b)
	stores := []*sqlstore.Store{s}
	if b.Dir == "" {
		s2 := b.Open(t)
		t.Cleanup(func() { s2.Close() })
		stores = append(stores, s2)
	}
	ctx := context.Background()
	now := time.Now()
	limit := xc5.ContactCap{Max: 10, Now: now}
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = stores[i%len(stores)].PutRegistration(ctx, guid, fmt.Sprintf("sip:p%d@192.0.2.%d", i, i+1),
				now.Add(time.Hour), "ua", "udp:192.0.2.1:5060", limit)
		}()
	}
	close(start)
	wg.Wait()
	stored, refused := 0, 0
	for i, err := range errs {
		switch err {
		case nil:
			stored++
		case xc5.ErrTooManyContacts:
			refused++
		default:
			t.Errorf("contact %d: %v", i, err)
		}
	}
	bs, err := s.ContactsOf(ctx, guid, now)
	if err != nil {
		t.Fatal(err)
	}
	if stored != 10 || refused != 10 || len(bs) != 10 {
		t.Fatalf("stored %d, refused %d, bindings %d; want 10, 10, 10", stored, refused, len(bs))
	}
	if _, err := s.PutRegistration(ctx, guid, bs[0].Contact, now.Add(2*time.Hour), "ua", "udp:192.0.2.1:5060", limit); err != nil {
		t.Errorf("refresh at the cap: %v", err)
	}
	if _, err := s.PutRegistration(ctx, guid, "sip:new@192.0.2.99", now.Add(time.Hour), "ua", "", limit); err != xc5.ErrTooManyContacts {
		t.Errorf("new contact at the cap: %v, want ErrTooManyContacts", err)
	}
	later := xc5.ContactCap{Max: 10, Now: now.Add(90 * time.Minute)} // all but the refreshed one expired
	if _, err := s.PutRegistration(ctx, guid, "sip:new@192.0.2.99", now.Add(3*time.Hour), "ua", "", later); err != nil {
		t.Errorf("new contact once the others expired: %v", err)
	}
}
