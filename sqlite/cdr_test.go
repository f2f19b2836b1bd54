package sqlite_test

import (
	"context"
	"testing"

	"xc5/resource"
	"xc5/sqlite"
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
	if err := s.AddCDRs(ctx, []sqlite.CDR{{guid, rec("1")}, {guid, rec("2")}, {guid, rec("3")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCDRs(ctx, []sqlite.CDR{{guid, rec("4")}, {guid, rec("5")}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 5 || got[0] != "1" || got[1] != "2" || got[2] != "3" || got[3] != "4" || got[4] != "5" {
		t.Fatalf("records %v", got)
	}
}
