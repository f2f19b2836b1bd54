package routing

import (
	"testing"

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
