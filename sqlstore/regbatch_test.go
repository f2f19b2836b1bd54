package sqlstore

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// TestSyncForLazyBatches: on SQLite a batch of only lazySync writes (the
// refreshes of live bindings) commits with synchronous=NORMAL, and every
// other batch, also one right after it, with FULL.
func TestSyncForLazyBatches(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	mode := func(lazy bool) int {
		t.Helper()
		var m int
		fn := func(ctx context.Context, q execer) error {
			return q.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&m)
		}
		if lazy {
			err = s.w.doRegsLazy(ctx, fn)
		} else {
			err = s.w.do(ctx, fn)
		}
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	const normal, full = 1, 2
	for i, c := range []struct {
		lazy bool
		want int
	}{{false, full}, {true, normal}, {true, normal}, {false, full}, {true, normal}, {false, full}} {
		if got := mode(c.lazy); got != c.want {
			t.Errorf("batch %d (lazy %v): synchronous = %d, want %d", i, c.lazy, got, c.want)
		}
	}
}

// TestLazyRefreshes: with SetLazyRefreshes, refreshes of live bindings
// (written apart, without an fsync) answer the bindings as the table has
// them, also after the API, an unregister and another store on the same
// file changed them.
func TestLazyRefreshes(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, "lazy-admin-password-1"); err != nil {
		t.Fatal(err)
	}
	rec, _, err := s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "lazy@acme.test"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	s.SetLazyRefreshes(true)
	acct, now := rec.GUID, time.Now()
	put := func(s *Store, contact string) []xc5.Binding {
		t.Helper()
		bs, err := s.PutRegistration(ctx, acct, contact, now.Add(time.Hour), "ua", "", xc5.ContactCap{Max: 10, Now: now})
		if err != nil {
			t.Fatalf("PutRegistration %s: %v", contact, err)
		}
		return bs
	}
	same := func(what string, bs []xc5.Binding) {
		t.Helper()
		want, _ := s.ContactsOf(ctx, acct, now)
		if !reflect.DeepEqual(bs, want) {
			t.Fatalf("%s answered %+v; the table has %+v", what, bs, want)
		}
	}
	a, b, c := "sip:a@192.0.2.1", "sip:b@192.0.2.2", "sip:c@192.0.2.3"
	put(s, a)
	first := put(s, b)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if bs := put(s, []string{a, b}[i%2]); len(bs) != 2 || bs[0].GUID != first[0].GUID || bs[1].GUID != first[1].GUID {
				t.Errorf("concurrent refresh answered %+v", bs)
			}
		}()
	}
	wg.Wait()
	same("a refresh", put(s, a))
	if err := s.Delete(ctx, "", resource.Registration, acct, first[1].GUID); err != nil {
		t.Fatal(err)
	}
	same("a refresh after the API's delete", put(s, a))
	put(s, c)
	same("a refresh after a new contact", put(s, a))
	if err := s.DeleteRegistration(ctx, acct, c); err != nil {
		t.Fatal(err)
	}
	same("a refresh after an unregister", put(s, a))
	put(s, c)
	put(s, a)
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.DeleteRegistration(ctx, acct, c); err != nil {
		t.Fatal(err)
	}
	same("a refresh after another store's unregister", put(s, a))
}

// TestSQLTimeKept: sqlTime answers each second as formatted afresh, also
// when seconds that share a slot alternate.
func TestSQLTimeKept(t *testing.T) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 999, time.FixedZone("x", 3600))
	for i := range 40 {
		tm := base.Add(time.Duration(i%3*8+i) * time.Second / 2)
		if got, want := sqlTime(tm), tm.UTC().Truncate(time.Second).Format(time.RFC3339); got != want {
			t.Fatalf("sqlTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestWarmRegistrations: a reopened SQLite store knows the bindings in
// the table (a refresh skips the read), and a change another store makes
// before its first write is still seen.
func TestWarmRegistrations(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, "warm-admin-password-1"); err != nil {
		t.Fatal(err)
	}
	rec, _, err := s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "warm@acme.test"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	acct, now := rec.GUID, time.Now()
	a, b := "sip:a@192.0.2.1", "sip:b@192.0.2.2"
	for _, c := range []string{a, b} {
		if _, err := s.PutRegistration(ctx, acct, c, now.Add(time.Hour), "ua", "", xc5.ContactCap{Max: 10, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.w.regs.mu.Lock()
	warmed := len(s.w.regs.m[acct])
	s.w.regs.mu.Unlock()
	if warmed != 2 {
		t.Fatalf("the reopened store knows %d bindings of the account, want 2", warmed)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.DeleteRegistration(ctx, acct, b); err != nil {
		t.Fatal(err)
	}
	bs, err := s.PutRegistration(ctx, acct, a, now.Add(2*time.Hour), "ua", "", xc5.ContactCap{Max: 10, Now: now})
	want, _ := s.ContactsOf(ctx, acct, now)
	if err != nil || len(bs) != 1 || !reflect.DeepEqual(bs, want) {
		t.Fatalf("refresh after the other store's unregister answered %+v, %v; the table has %+v", bs, err, want)
	}
}
