package sqlstore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/storetest"
)

func TestAddCDRs(t *testing.T) { forEachBackend(t, testAddCDRs) }

// testAddCDRs: records written together are all there, in order.
func testAddCDRs(t *testing.T, b storetest.Backend) {
	s, guid := newRegStore(t, b)
	ctx := context.Background()
	rec := func(to string) map[string]any {
		return map[string]any{"direction": "out", "from": "reception", "to": to, "started": "2026-11-28T09:00:00Z",
			"ended": "2026-11-28T09:00:01Z", "outcome": "answered", "duration": int64(1)}
	}
	list := func() []string {
		var out []string
		err := s.List(ctx, "", resource.CDR, resource.Query{Parent: guid}, func(r resource.Record) error {
			out = append(out, r.Values["to"].(string))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := s.AddCDRs(ctx, []xc5.CDR{{Account: guid, Values: rec("1")}, {Account: guid, Values: rec("2")}, {Account: guid, Values: rec("3")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCDRs(ctx, []xc5.CDR{{Account: guid, Values: rec("4")}, {Account: guid, Values: rec("5")}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 5 || got[0] != "1" || got[1] != "2" || got[2] != "3" || got[3] != "4" || got[4] != "5" {
		t.Fatalf("records %v", got)
	}

	// A try again of records whose write may have committed unanswered
	// (the SIP service's CDR queue after an outage-unknown answer) writes
	// none of them twice, and the records not written yet once.
	g6, g7 := resource.NewGUID(), resource.NewGUID()
	if err := s.AddCDRs(ctx, []xc5.CDR{{Account: guid, Values: rec("6"), GUID: g6}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		retry := []xc5.CDR{{Account: guid, Values: rec("6"), GUID: g6, Retry: true}, {Account: guid, Values: rec("7"), GUID: g7, Retry: true}}
		if err := s.AddCDRs(ctx, retry); err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
	}
	if got := list(); len(got) != 7 || got[5] != "6" || got[6] != "7" {
		t.Fatalf("records after retries %v; want 1 to 7 once each", got)
	}
}

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
