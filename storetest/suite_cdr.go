package storetest

import (
	"context"
	"testing"

	"xc5"
	"xc5/resource"
)

// testAddCDRs: records written together are all there, in order.
func testAddCDRs(t *testing.T, b backend) {
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
