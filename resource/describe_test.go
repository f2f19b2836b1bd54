package resource_test

import (
	"testing"

	"xc5/resource"
)

// TestLeanListing: the resources whose listings are lean are those that
// describe Lean fields besides the GUID; the API lists these four lean.
func TestLeanListing(t *testing.T) {
	want := map[*resource.Resource]bool{resource.Account: true, resource.Child: true, resource.CDR: true, resource.Voicemail: true}
	for _, r := range resource.All {
		if got := r.LeanListing(); got != want[r] {
			t.Errorf("%s: LeanListing %v, want %v", r.Name, got, want[r])
		}
	}
}

// TestRoutingDescriptions: how a write changes the routing view is
// described consistently with where each resource lives: a record applied
// alone is owned by an account, a table the view holds whole is top-level
// and written with system access, and only accounts are accounts.
func TestRoutingDescriptions(t *testing.T) {
	for _, r := range resource.All {
		switch r.Routing {
		case resource.RoutingRecord:
			if r.Parent != resource.Account {
				t.Errorf("%s: RoutingRecord but not owned by an account", r.Name)
			}
		case resource.RoutingTable:
			if r.Parent != nil || !r.SystemWrite {
				t.Errorf("%s: RoutingTable but not a top-level table written with system access", r.Name)
			}
		case resource.RoutingAccount:
			if r != resource.Account && r.Canonical != resource.Account {
				t.Errorf("%s: RoutingAccount but its records are not accounts", r.Name)
			}
		}
	}
	for r, want := range map[*resource.Resource]resource.Routing{
		resource.Account: resource.RoutingAccount, resource.Child: resource.RoutingAccount,
		resource.Route: resource.RoutingRecord, resource.Number: resource.RoutingRecord,
		resource.Location: resource.RoutingTable, resource.TimeDefinition: resource.RoutingTable,
		resource.AccountResource: resource.RoutingReload, resource.Hydra: resource.RoutingReload,
		resource.CDR: resource.RoutingNone, resource.Registration: resource.RoutingNone,
	} {
		if r.Routing != want {
			t.Errorf("%s: Routing %v, want %v", r.Name, r.Routing, want)
		}
	}
}
