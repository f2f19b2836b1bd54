package resource_test

import (
	"reflect"
	"testing"

	"xc5/resource"
)

// TestUsedBy: the reverse references the store checks before a delete or
// a rename are derived from the fields that hold a reference, in the
// order the store used to list them by hand: an account's uses by other
// resources first, then its own table's (another account's cfna_dest).
func TestUsedBy(t *testing.T) {
	uses := func(r *resource.Resource) []string {
		var out []string
		for _, u := range r.UsedBy() {
			out = append(out, u.By.Name+"."+u.Field.Name)
		}
		return out
	}
	for _, tc := range []struct {
		r    *resource.Resource
		want []string
	}{
		{resource.Account, []string{"route.username", "callrule.username", "fork.destination", "account.cfna_dest"}},
		{resource.Child, []string{"route.username", "callrule.username", "fork.destination", "account.cfna_dest"}},
		{resource.Prompt, []string{"route.promptguid"}},
		{resource.Location, []string{"callrule.location"}},
		{resource.TimeDefinition, []string{"route.time_definition"}},
		{resource.Number, nil},
		{resource.Trunk, nil},
	} {
		if got := uses(tc.r); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: UsedBy %v, want %v", tc.r.Name, got, tc.want)
		}
	}
}

// TestHydraSharesAccountFields: the account fields a HydraAccount shows
// are the account's own declarations (type, check, default, secrecy), not
// copies that could drift; only the description is the document's.
func TestHydraSharesAccountFields(t *testing.T) {
	var shared []string
	for _, f := range resource.Hydra.Fields {
		if f.Of == nil {
			continue
		}
		shared = append(shared, f.Name)
		a := resource.Account.Field(f.Name)
		if a == nil || f.Type != a.Type || f.Default != a.Default || f.Secret != a.Secret || f.Min != a.Min || f.Max != a.Max ||
			reflect.ValueOf(f.Check).Pointer() != reflect.ValueOf(a.Check).Pointer() {
			t.Errorf("HydraAccount %s differs from the account's declaration", f.Name)
		}
	}
	want := []string{"cfna_dest", "cfna_active", "ums_pin", "concurrent_limit", "private", "callerid"}
	if !reflect.DeepEqual(shared, want) {
		t.Errorf("HydraAccount's account fields %v, want %v", shared, want)
	}
}

// TestWritable: the store refuses writes to the resources whose
// descriptions allow none (registrations, call records, the free numbers
// listing, a GUID), as it did by name.
func TestWritable(t *testing.T) {
	for _, r := range []*resource.Resource{resource.Registration, resource.NumberAllocate, resource.GUID, resource.CDR} {
		if r.Writable() {
			t.Errorf("%s: Writable", r.Name)
		}
	}
	for _, r := range []*resource.Resource{resource.Account, resource.Child, resource.Number, resource.Hydra, resource.Route, resource.Prompt, resource.Webhook} {
		if !r.Writable() {
			t.Errorf("%s: not Writable", r.Name)
		}
	}
}
