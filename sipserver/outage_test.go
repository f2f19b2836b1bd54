package sipserver

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/poll"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestRegisterDatabaseOutage: while the PostgreSQL database is out of
// reach, a REGISTER is answered 503 with a Retry-After (spread over
// storeRetryAfter to twice that), not 500, nor a 403 from a credentials
// lookup that could not be made; after the store's sessions are killed,
// and once the database is back, phones register again without a
// restart.
func TestRegisterDatabaseOutage(t *testing.T) {
	o := storetest.PostgresOutage(t)
	store := o.Open(t, "admin-pw-123")
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "UDP")
	register := func() (int, string) {
		res := p.login(p.register(reception, []string{"<sip:reception@127.0.0.1:5099>"}, 600), "MD5", reception, password)
		ra := ""
		if h := res.GetHeader("Retry-After"); h != nil {
			ra = h.Value()
		}
		return res.StatusCode, ra
	}
	if code, _ := register(); code != 200 {
		t.Fatalf("REGISTER: %d, want 200", code)
	}

	for i := 0; i < 3; i++ {
		if o.Terminate(t) == 0 {
			t.Fatal("no session of the store to terminate")
		}
		time.Sleep(100 * time.Millisecond)
		if code, _ := register(); code != 200 {
			t.Fatalf("REGISTER after the store's sessions were killed: %d, want 200", code)
		}
	}

	o.Cut()
	for i := 0; i < 3; i++ {
		code, ra := register()
		secs, err := strconv.Atoi(ra)
		if code != 503 || err != nil || time.Duration(secs)*time.Second < storeRetryAfter || time.Duration(secs)*time.Second >= 2*storeRetryAfter {
			t.Fatalf("REGISTER with the database cut off: %d, Retry-After %q; want 503 with Retry-After in [%v, %v)",
				code, ra, storeRetryAfter, 2*storeRetryAfter)
		}
	}

	o.Restore(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := register()
		if code == 200 {
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("REGISTER after the database came back: %d; want 200 within 10 s (503 until then)", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRegisterDiskFull: on a full disk a REGISTER that must write is
// answered 503 with Retry-After, not 500; once space is freed the phone
// registers again, with no restart. The store is SQLite whatever
// XC5_TEST_STORE says: the full disk is its data directory's.
func TestRegisterDiskFull(t *testing.T) {
	dir := storetest.SmallFS(t, "2m")
	store, err := sqlstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Bootstrap(context.Background(), "admin-pw-123"); err != nil {
		t.Fatal(err)
	}
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "UDP")
	register := func(expires int) *sip.Response {
		return p.login(p.register(reception, []string{"<sip:reception@127.0.0.1:5099>"}, expires), "MD5", reception, password)
	}
	wantStatus(t, register(600), 200)

	filler := storetest.Fill(t, dir)
	refused := false
	for i := 0; i < 500 && !refused; i++ { // the WAL's free pages take some writes first
		switch res := register(600 + i); res.StatusCode {
		case 200:
		case 503:
			if res.GetHeader("Retry-After") == nil {
				t.Fatalf("503 without Retry-After:\n%s", res)
			}
			refused = true
		default:
			t.Fatalf("REGISTER on a full disk: %d %s; want 200 or 503", res.StatusCode, res.Reason)
		}
	}
	if !refused {
		t.Fatal("no REGISTER was refused: the disk was not full")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, register(3600), 200)
}

// followingStore opens the outage's store following the change feed, as
// serve does on PostgreSQL, once it is fresh (so credentials are cached).
func followingStore(t *testing.T, o *storetest.Outage) *sqlstore.Store {
	t.Helper()
	store := o.Open(t, "admin-pw-123")
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	store.Follow(ctx, o.URL)
	poll.Until(t, 10*time.Second, "the store following the change feed", store.Fresh)
	return store
}
