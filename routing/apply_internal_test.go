package routing

import (
	"context"
	"testing"
	"time"

	"xc5/resource"
)

// TestEveryRoutingRecordApplies: every resource described as a record the
// view applies alone (resource.RoutingRecord) is one replaceLocked knows;
// otherwise its changes would fall back to reloading the whole account.
func TestEveryRoutingRecordApplies(t *testing.T) {
	v := NewView(Defaults{})
	a := &Account{GUID: "A", Username: "a.test"}
	v.accounts[a.GUID], v.byName[a.Username] = a, a
	for _, r := range resource.All {
		if r.Routing != resource.RoutingRecord {
			continue
		}
		if !v.replaceLocked(v.accounts[a.GUID], r, "no such record", nil) {
			t.Errorf("%s is described as RoutingRecord but the view cannot apply it alone", r.Name)
		}
	}
	if v.replaceLocked(v.accounts[a.GUID], resource.Registration, "x", nil) {
		t.Error("replaceLocked claims to apply a registration")
	}
}

// TestEveryRoutingTableLoads: every resource described as a table the
// view holds whole (resource.RoutingTable) is one the view can load.
func TestEveryRoutingTableLoads(t *testing.T) {
	if len(tables) == 0 {
		t.Fatal("no tables described")
	}
	for _, r := range tables {
		if setTable[r] == nil {
			t.Errorf("%s is described as RoutingTable but the view cannot hold it", r.Name)
		}
	}
}

// TestTimeSetWriteAppliesAlone: a written time set replaces its own entry
// (under its new name when renamed) and leaves the others as they were, as
// reading the whole table again would.
func TestTimeSetWriteAppliesAlone(t *testing.T) {
	v := NewView(Defaults{})
	set := func(guid, name, dates string) resource.Record {
		return resource.Record{GUID: guid, Values: map[string]any{"name": name, "dates": dates, "definition": ""}}
	}
	v.SetTimeSets([]resource.Record{set("A", "xmas", "2030-12-25"), set("B", "easter", "2030-04-19")})
	xmas := v.timeSets["xmas"]
	v.Apply(context.Background(), nil, resource.Change{Resource: resource.TimeDefinition, Record: ptr(set("B", "spring", "2030-09-01..2030-11-30"))})
	if _, ok := v.timeSets["easter"]; ok || v.timeSets["xmas"] != xmas || len(v.timeSets) != 2 {
		t.Fatalf("after renaming easter to spring the view holds %v", v.timeSets)
	}
	spring := v.timeSets["spring"]
	for day, want := range map[string]bool{"2030-10-01": true, "2030-12-01": false} {
		at, _ := time.Parse(time.DateOnly, day)
		if spring == nil || spring.Matches(at) != want {
			t.Errorf("spring matches %s: %v, want %v", day, spring != nil && spring.Matches(at), want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
