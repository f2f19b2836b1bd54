package sqlstore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

func TestPurgeCDRs(t *testing.T) { forEachBackend(t, testPurgeCDRs) }

// testPurgeCDRs: records of calls started before the cutoff go, in writes
// of at most the batch size; recent ones stay. RetainCDRs does the same
// in the background until stopped.
func testPurgeCDRs(t *testing.T, b storetest.Backend) {
	s, guid := newRegStore(t, b)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	rec := func(started time.Time, to string) xc5.CDR {
		return xc5.CDR{Account: guid, Values: map[string]any{"direction": "out", "from": "reception", "to": to,
			"started": started.Format(time.RFC3339), "ended": started.Add(time.Minute).Format(time.RFC3339), "outcome": "answered"}}
	}
	var recs []xc5.CDR
	for i := range 2500 {
		recs = append(recs, rec(now.AddDate(0, 0, -401).Add(-time.Duration(i)*time.Minute), "old"))
	}
	for i := range 10 {
		recs = append(recs, rec(now.AddDate(0, 0, -399).Add(time.Duration(i)*time.Minute), "recent"))
	}
	if err := s.AddCDRs(ctx, recs); err != nil {
		t.Fatal(err)
	}
	count := func() map[string]int {
		got := map[string]int{}
		err := s.List(ctx, "", resource.CDR, resource.Query{Parent: guid, Limit: 10000}, func(r resource.Record) error {
			got[r.Values["to"].(string)]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := count(); got["old"] != 2500 || got["recent"] != 10 {
		t.Fatalf("before the purge: %v", got)
	}
	deleted, writes, err := s.PurgeCDRs(ctx, now.AddDate(0, 0, -400), 1000)
	if err != nil || deleted != 2500 || writes != 3 {
		t.Fatalf("PurgeCDRs = %d records in %d writes, %v; want 2500 in 3", deleted, writes, err)
	}
	if got := count(); got["old"] != 0 || got["recent"] != 10 {
		t.Fatalf("after the purge: %v", got)
	}
	// In the background: a record older than a day goes, today's stays.
	if err := s.AddCDRs(ctx, []xc5.CDR{rec(now.Add(-25*time.Hour), "yesterday"), rec(now, "today")}); err != nil {
		t.Fatal(err)
	}
	stop := s.RetainCDRs(24*time.Hour, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	deadline := time.Now().Add(5 * time.Second)
	for count()["yesterday"] != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if got := count(); got["yesterday"] != 0 || got["today"] != 1 || got["recent"] != 0 {
		t.Fatalf("after RetainCDRs(24h): %v", got)
	}
}

// newRegStore opens a bootstrapped store in a temporary directory with one
// account, reception@acmebrick.x.co.nz (password "pw"), and returns its GUID.
func newRegStore(t *testing.T, b storetest.Backend) (*sqlstore.Store, string) {
	t.Helper()
	s := b.Open(t)
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	rec, _, err := s.Put(ctx, "", resource.Account, "", "",
		resource.Input{"username": "reception@acmebrick.x.co.nz", "password": "pw"}, resource.Create)
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	return s, rec.GUID
}
