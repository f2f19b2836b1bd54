package storetest

import (
	"regexp"
	"testing"

	"xc5"
	"xc5/resource"
)

// The suite's helpers, exported for the tests of what only one store has
// (sqlstore's own): each fails the test when the store does not do what
// the helper needs.

var guidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// WantCode checks the domain error code of err.
func WantCode(t testing.TB, err error, code string, what string) {
	t.Helper()
	if got := xc5.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// Put is the store's Put, which must succeed.
func Put(t testing.TB, s resource.Store, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) resource.Record {
	t.Helper()
	rec, _, err := s.Put(ctx, scope, r, parent, id, in, mode)
	if err != nil {
		t.Fatalf("Put %s %s/%s %v: %v", r.Name, parent, id, in, err)
	}
	return rec
}

// NewAccount creates an account (under parent, if not "") with the
// password "Pw-" + username.
func NewAccount(t testing.TB, s resource.Store, username, parent string) resource.Record {
	t.Helper()
	in := resource.Input{"username": username, "password": "Pw-" + username}
	if parent != "" {
		in["parent"] = parent
	}
	return Put(t, s, "", resource.Account, "", "", in, resource.Create)
}

// NewNumber creates a number of account.
func NewNumber(t testing.TB, s resource.Store, account, number string) resource.Record {
	t.Helper()
	return Put(t, s, "", resource.Number, account, "", resource.Input{"number": number}, resource.Create)
}

// List collects a listing, which must succeed.
func List(t testing.TB, s resource.Store, scope resource.Scope, r *resource.Resource, q resource.Query) []resource.Record {
	t.Helper()
	var out []resource.Record
	if err := s.List(ctx, scope, r, q, func(rec resource.Record) error {
		out = append(out, rec)
		return nil
	}); err != nil {
		t.Fatalf("List %s %+v: %v", r.Name, q, err)
	}
	return out
}

// Numbers are the number fields of recs.
func Numbers(recs []resource.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Values["number"].(string))
	}
	return out
}

// newRegStore opens a store with one account,
// reception@acmebrick.x.co.nz (password "pw"), and returns its GUID.
func newRegStore(t testing.TB, b backend) (Store, string) {
	t.Helper()
	s := b.open(t)
	rec, _, err := s.Put(ctx, "", resource.Account, "", "",
		resource.Input{"username": "reception@acmebrick.x.co.nz", "password": "pw"}, resource.Create)
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	return s, rec.GUID
}
