package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"xc5/api"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestDatabaseOutage: while its PostgreSQL database is out of reach, the
// API answers 503 with Retry-After and the document's error body (never
// 500, nor a 404 or 401 from a lookup that could not be made), and it
// serves again by itself once the database is back; a node whose
// sessions were killed writes again at once.
func TestDatabaseOutage(t *testing.T) {
	o := storetest.PostgresOutage(t)
	store := o.Open(t, adminPassword)
	e := envOn(t, store, api.Options{})
	e.must(http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"outage.test"}`)
	number := func(i int) string { return fmt.Sprintf(`{"number":"64955%05d"}`, i) }
	e.must(http.StatusCreated, "PUT", "/api-sys/account/outage.test/number", number(0))

	// Sessions killed while idle: the next request reads and writes on
	// new connections.
	for i := 1; i <= 3; i++ {
		if o.Terminate(t) == 0 {
			t.Fatal("no session of the store to terminate")
		}
		time.Sleep(100 * time.Millisecond)
		e.must(http.StatusCreated, "PUT", "/api-sys/account/outage.test/number", number(i))
	}

	o.Cut()
	for _, c := range []struct{ method, target, body string }{
		{"PUT", "/api-sys/account/outage.test/number", number(10)},
		{"GET", "/api-sys/account/outage.test", ""},
		{"GET", "/api-sys/account/outage.test/number", ""},
	} {
		r := e.do(c.method, c.target, c.body)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Errorf("database cut off: %v (Retry-After %q); want 503 with Retry-After", r, r.Header.Get("Retry-After"))
			continue
		}
		r.errorText(t)
	}
	time.Sleep(2 * time.Second)

	o.Restore(t)
	deadline := time.Now().Add(10 * time.Second)
	for i := 20; ; i++ {
		r := e.do("PUT", "/api-sys/account/outage.test/number", number(i))
		if r.Status == http.StatusCreated {
			break
		}
		if r.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the database came back: %v; want 201 within 10 s (503 until then)", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.must(http.StatusOK, "GET", "/api-sys/account/outage.test/number", "")
}

// TestDiskFull: on a full disk the API answers writes 503 with
// Retry-After (not 500) and keeps serving reads; once space is freed it
// writes again, with no restart. The store is SQLite whatever
// XC5_TEST_STORE says: the full disk is its data directory's (a
// PostgreSQL server's disk is the server's business; its outages are
// TestDatabaseOutage's).
func TestDiskFull(t *testing.T) {
	dir := storetest.SmallFS(t, "2m")
	store, err := sqlstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Bootstrap(context.Background(), adminPassword); err != nil {
		store.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := envOn(t, store, api.Options{})
	e.must(http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"full.test"}`)
	number := func(i int) string { return fmt.Sprintf(`{"number":"64966%05d"}`, i) }

	filler := storetest.Fill(t, dir)
	refused := 0
	for i := 0; i < 2000 && refused < 5; i++ { // the WAL's free pages take some writes first
		switch r := e.do("PUT", "/api-sys/account/full.test/number", number(i)); r.Status {
		case http.StatusCreated:
		case http.StatusServiceUnavailable:
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("%v: no Retry-After", r)
			}
			r.errorText(t)
			refused++
		default:
			t.Fatalf("write on a full disk: %v; want 201 or 503", r)
		}
	}
	if refused == 0 {
		t.Fatal("no write was refused: the disk was not full")
	}
	e.must(http.StatusOK, "GET", "/api-sys/account/full.test", "")
	e.must(http.StatusOK, "GET", "/api-sys/account/full.test/number", "")

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusCreated, "PUT", "/api-sys/account/full.test/number", number(1000))
}
