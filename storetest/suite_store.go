package storetest

// The provisioning store (resource.Store): durability across a restart,
// CRUD of accounts and numbers, uniqueness (also under concurrency),
// scopes, paging and password storage.

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"xc5"
	"xc5/resource"
	"xc5/secret"
)

// testReopenKeepsWrites: acknowledged writes survive closing and reopening
// the database.
func testReopenKeepsWrites(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	acc := NewAccount(t, s, "keep.test", "")
	var want []string
	for i := 0; i < 20; i++ {
		want = append(want, NewNumber(t, s, "keep.test", fmt.Sprint(6480000100+i)).GUID)
	}
	Put(t, s, "", resource.Account, "", "keep.test", resource.Input{"pickup_group": "Alpha"}, resource.Patch)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = b.again(t, s)
	got, err := s.Get(ctx, "", resource.Account, "", acc.GUID)
	if err != nil || got.Values["pickup_group"] != "Alpha" {
		t.Fatalf("after reopen: %v %v", got.Values, err)
	}
	recs := List(t, s, "", resource.Number, resource.Query{Parent: "keep.test"})
	if len(recs) != len(want) {
		t.Fatalf("after reopen %d numbers, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if r.GUID != want[i] {
			t.Errorf("number %d GUID %s, want %s", i, r.GUID, want[i])
		}
	}
}

// testNumberCRUD: create, upsert by GUID, patch, get by any-case GUID,
// List in creation order, filter, page, delete; error codes.
func testNumberCRUD(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	acc := NewAccount(t, s, "crud.test", "")

	rec, created, err := s.Put(ctx, "", resource.Number, "crud.test", "", resource.Input{"number": "6491230001"}, resource.Create)
	if err != nil || !created || !guidRE.MatchString(rec.GUID) || rec.Parent != acc.GUID {
		t.Fatalf("create: %+v created=%v err=%v", rec, created, err)
	}
	if rec.Values["assigned"] != "crud.test" || rec.Values["alert-info"] != "" || rec.Values["is-pilot"] != false {
		t.Errorf("new number values %v", rec.Values)
	}
	const g = "11111111-2222-4333-8444-555555555555"
	_, _, err = s.Put(ctx, "", resource.Number, "crud.test", g, resource.Input{"alert-info": "x"}, resource.Patch)
	WantCode(t, err, xc5.ENOTFOUND, "Patch of a missing number")
	up, created, err := s.Put(ctx, "", resource.Number, acc.GUID, strings.ToLower(g), resource.Input{"number": "6491230002"}, resource.Upsert)
	if err != nil || !created || up.GUID != g {
		t.Fatalf("upsert create: %+v %v %v", up, created, err)
	}
	up, created, err = s.Put(ctx, "", resource.Number, "crud.test", g, resource.Input{"alert-info": "dr4"}, resource.Upsert)
	if err != nil || created || up.Values["alert-info"] != "dr4" || up.Values["number"] != "6491230002" {
		t.Fatalf("upsert update: %+v %v %v", up, created, err)
	}
	up = Put(t, s, "", resource.Number, "crud.test", g, resource.Input{"alert-info": ""}, resource.Patch)
	if up.Values["alert-info"] != "" || up.Values["number"] != "6491230002" {
		t.Errorf("patch: %v", up.Values)
	}
	got, err := s.Get(ctx, "", resource.Number, strings.ToLower(acc.GUID), strings.ToLower(g))
	if err != nil || got.GUID != g {
		t.Errorf("Get with lower-case GUIDs: %+v %v", got, err)
	}
	_, err = s.Get(ctx, "", resource.Number, resource.AdminUsername, g)
	WantCode(t, err, xc5.ENOTFOUND, "Get under the wrong account")
	_, err = s.Get(ctx, "", resource.Number, "nosuch.test", g)
	WantCode(t, err, xc5.ENOTFOUND, "Get under a missing account")

	for i := 3; i <= 9; i++ {
		NewNumber(t, s, "crud.test", fmt.Sprintf("649123000%d", i))
	}
	all := List(t, s, "", resource.Number, resource.Query{Parent: "crud.test"})
	if got := Numbers(all); strings.Join(got, ",") != "6491230001,6491230002,6491230003,6491230004,6491230005,6491230006,6491230007,6491230008,6491230009" {
		t.Errorf("list order %v", got)
	}
	if got := Numbers(List(t, s, "", resource.Number, resource.Query{Parent: "crud.test", Filter: "%5"})); strings.Join(got, ",") != "6491230005" {
		t.Errorf("filter %%5: %v", got)
	}
	if got := Numbers(List(t, s, "", resource.Number, resource.Query{Parent: "crud.test", Filter: "649123000_"})); len(got) != 9 {
		t.Errorf("filter _: %v", got)
	}
	// Paging by cursor.
	var paged []string
	after := int64(0)
	for {
		page := List(t, s, "", resource.Number, resource.Query{Parent: "crud.test", After: after, Limit: 4})
		if len(page) > 4 {
			t.Fatalf("page of %d with limit 4", len(page))
		}
		paged = append(paged, Numbers(page)...)
		if len(page) < 4 {
			break
		}
		after = page[len(page)-1].Seq
	}
	if strings.Join(paged, ",") != strings.Join(Numbers(all), ",") {
		t.Errorf("paged %v, want %v", paged, Numbers(all))
	}
	// A callback error stops the listing and is returned.
	stop := errors.New("stop")
	n := 0
	err = s.List(ctx, "", resource.Number, resource.Query{Parent: "crud.test"}, func(resource.Record) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("List with a failing callback: err %v after %d records", err, n)
	}

	if err := s.Delete(ctx, "", resource.Number, "crud.test", g); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(ctx, "", resource.Number, "crud.test", g)
	WantCode(t, err, xc5.ENOTFOUND, "Get after Delete")
	WantCode(t, s.Delete(ctx, "", resource.Number, "crud.test", g), xc5.ENOTFOUND, "second Delete")
	_, _, err = s.Put(ctx, "", resource.Number, "crud.test", "not-a-guid", resource.Input{"number": "6491230010"}, resource.Upsert)
	WantCode(t, err, xc5.ENOTFOUND, "Upsert of a number named by a non-GUID")
	_, _, err = s.Put(ctx, "", resource.Number, "crud.test", "", resource.Input{"alert-info": "x"}, resource.Create)
	WantCode(t, err, xc5.EINVALID, "Create without the required number")
}

// testNumberUniqueness: numbers are unique system-wide (ECONFLICT), except
// a:-prefixed ones.
func testNumberUniqueness(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	NewAccount(t, s, "u1.test", "")
	NewAccount(t, s, "u2.test", "")
	NewNumber(t, s, "u1.test", "6491240001")
	_, _, err := s.Put(ctx, "", resource.Number, "u2.test", "", resource.Input{"number": "6491240001"}, resource.Create)
	WantCode(t, err, xc5.ECONFLICT, "duplicate number")
	pooled := NewNumber(t, s, resource.SystemPool, "6491240002")
	_, _, err = s.Put(ctx, "", resource.Number, "u2.test", "", resource.Input{"number": "6491240002"}, resource.Create)
	WantCode(t, err, xc5.ECONFLICT, "number already in the pool")
	other := NewNumber(t, s, "u2.test", "6491240003")
	_, _, err = s.Put(ctx, "", resource.Number, "u2.test", other.GUID, resource.Input{"number": "6491240001"}, resource.Patch)
	WantCode(t, err, xc5.ECONFLICT, "renumbering onto an existing number")
	for i := 0; i < 3; i++ {
		NewNumber(t, s, "u1.test", "a:6491240001")
		NewNumber(t, s, "u2.test", "a:6491240001")
	}
	// Allocating a pool number moves it, keeping its GUID.
	moved := Put(t, s, "", resource.Number, "u2.test", pooled.GUID, resource.Input{}, resource.Upsert)
	if moved.GUID != pooled.GUID || moved.Values["assigned"] != "u2.test" {
		t.Errorf("allocation: %+v", moved)
	}
	if len(List(t, s, "", resource.NumberAllocate, resource.Query{Parent: "u1.test"})) != 0 {
		t.Errorf("the pool still lists the allocated number")
	}
	// Another account's number cannot be taken.
	mine := NewNumber(t, s, "u1.test", "6491240004")
	_, _, err = s.Put(ctx, "", resource.Number, "u2.test", mine.GUID, resource.Input{}, resource.Upsert)
	WantCode(t, err, xc5.ECONFLICT, "taking another account's number")
}

// testConcurrentSameNumber: many concurrent creations of one number give
// exactly one success and conflicts for the rest, and one record.
func testConcurrentSameNumber(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	NewAccount(t, s, "race.test", "")
	for round := 0; round < 5; round++ {
		number := fmt.Sprintf("649125000%d", round)
		const n = 16
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, _, errs[i] = s.Put(ctx, "", resource.Number, "race.test", "", resource.Input{"number": number}, resource.Create)
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch xc5.ErrorCode(err) {
			case "":
				ok++
			case xc5.ECONFLICT:
			default:
				t.Errorf("round %d: unexpected error %v", round, err)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d successes, want 1", round, ok)
		}
	}
	if got := List(t, s, "", resource.Number, resource.Query{Parent: "race.test"}); len(got) != 5 {
		t.Errorf("%d numbers, want 5: %v", len(got), Numbers(got))
	}
}

// testAccounts: the tree, usernames, generated passwords, deletes.
func testAccounts(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	top, created, err := s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "tree.test"}, resource.Create)
	if err != nil || !created {
		t.Fatal(err)
	}
	pw, _ := top.Values["password"].(string)
	if len(pw) < 16 {
		t.Errorf("generated password %q", pw)
	}
	c, _ := s.Credentials(ctx, "TREE.test")
	if c.GUID != top.GUID || !secret.Verify(c.Hash, pw) {
		t.Errorf("Credentials by another case or generated password do not match: %+v", c)
	}
	if got, _ := s.Get(ctx, "", resource.Account, "", top.GUID); got.Values["password"] != nil {
		t.Errorf("Get shows a password: %v", got.Values)
	}
	kid := Put(t, s, "", resource.Child, "tree.test", "", resource.Input{"username": "kid@tree.test"}, resource.Create)
	if kid.Parent != top.GUID || kid.Path != top.Path+kid.GUID+"/" {
		t.Errorf("child parent %s path %s; top path %s", kid.Parent, kid.Path, top.Path)
	}
	gk := NewAccount(t, s, "gk@kid.tree.test", "kid@tree.test")
	_, _, err = s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "Kid@Tree.test"}, resource.Create)
	WantCode(t, err, xc5.ECONFLICT, "duplicate username")
	_, _, err = s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "x@tree.test", "parent": "nosuch.test"}, resource.Create)
	if code := xc5.ErrorCode(err); code != xc5.ENOTFOUND && code != xc5.EINVALID {
		t.Errorf("missing parent: %v", err)
	}
	children := List(t, s, "", resource.Child, resource.Query{Parent: "tree.test"})
	if len(children) != 1 || children[0].GUID != kid.GUID {
		t.Errorf("children of tree.test: %v", children)
	}

	// A move rewrites the paths of the whole subtree.
	other := NewAccount(t, s, "other.test", "")
	Put(t, s, "", resource.Account, "", "kid@tree.test", resource.Input{"parent": "other.test"}, resource.Patch)
	moved, _ := s.Get(ctx, "", resource.Account, "", "gk@kid.tree.test")
	if want := other.Path + kid.GUID + "/" + gk.GUID + "/"; moved.Path != want {
		t.Errorf("grandchild path after move %q, want %q", moved.Path, want)
	}
	if c, _ := s.Credentials(ctx, "gk@kid.tree.test"); !strings.HasPrefix(c.Path, other.Path) {
		t.Errorf("Credentials path after move %q", c.Path)
	}
	_, _, err = s.Put(ctx, "", resource.Account, "", "other.test", resource.Input{"parent": "gk@kid.tree.test"}, resource.Patch)
	WantCode(t, err, xc5.ECONFLICT, "move under a descendant")

	// Deletes: not with children, not system accounts; numbers go to the pool.
	WantCode(t, s.Delete(ctx, "", resource.Account, "", "other.test"), xc5.ECONFLICT, "delete with children")
	for _, u := range []string{resource.SystemPool, resource.SharedPrompts, resource.AdminUsername} {
		WantCode(t, s.Delete(ctx, "", resource.Account, "", u), xc5.ECONFLICT, "delete of "+u)
	}
	num := NewNumber(t, s, "gk@kid.tree.test", "6491270001")
	Put(t, s, "", resource.Number, "gk@kid.tree.test", num.GUID, resource.Input{"alert-info": "dr1", "cfa": "6491270002"}, resource.Patch)
	if err := s.Delete(ctx, "", resource.Account, "", "gk@kid.tree.test"); err != nil {
		t.Fatal(err)
	}
	back, err := s.Get(ctx, "", resource.Number, resource.SystemPool, num.GUID)
	if err != nil || back.Values["assigned"] != resource.SystemPool || back.Values["alert-info"] != "" || back.Values["cfa"] != "" {
		t.Errorf("number after its account was deleted: %+v %v", back.Values, err)
	}
	if _, err := s.Credentials(ctx, "gk@kid.tree.test"); xc5.ErrorCode(err) != xc5.ENOTFOUND {
		t.Errorf("Credentials of a deleted account: %v", err)
	}
}

// testScope: a user-level scope sees its subtree only; everything else is
// ENOTFOUND.
func testScope(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	part := NewAccount(t, s, "part.test", "")
	NewAccount(t, s, "kid@part.test", "part.test")
	NewAccount(t, s, "out.test", "")
	// A sibling whose GUID path could share a string prefix is still out.
	num := NewNumber(t, s, "out.test", "6491280001")
	scope := resource.Scope(part.Path)

	var names []string
	for _, r := range List(t, s, scope, resource.Account, resource.Query{}) {
		names = append(names, r.Values["username"].(string))
	}
	if strings.Join(names, ",") != "part.test,kid@part.test" {
		t.Errorf("scoped account list %v", names)
	}
	_, err := s.Get(ctx, scope, resource.Account, "", "out.test")
	WantCode(t, err, xc5.ENOTFOUND, "Get outside scope")
	_, err = s.Get(ctx, scope, resource.Number, "out.test", num.GUID)
	WantCode(t, err, xc5.ENOTFOUND, "Get number outside scope")
	err = s.List(ctx, scope, resource.Number, resource.Query{Parent: "out.test"}, func(resource.Record) error { return nil })
	WantCode(t, err, xc5.ENOTFOUND, "List outside scope")
	_, _, err = s.Put(ctx, scope, resource.Number, "out.test", "", resource.Input{"number": "6491280002"}, resource.Create)
	WantCode(t, err, xc5.ENOTFOUND, "Put outside scope")
	WantCode(t, s.Delete(ctx, scope, resource.Account, "", "out.test"), xc5.ENOTFOUND, "Delete outside scope")
	_, _, err = s.Put(ctx, scope, resource.Account, "", "", resource.Input{"username": "top.test", "password": "x"}, resource.Create)
	if code := xc5.ErrorCode(err); code != xc5.EFORBIDDEN && code != xc5.ENOTFOUND {
		t.Errorf("scoped top-level create: %v", err)
	}
	_, _, err = s.Put(ctx, scope, resource.AccountResource, "kid@part.test", "", resource.Input{"name": "api_access", "value": "system"}, resource.Create)
	WantCode(t, err, xc5.EFORBIDDEN, "scoped grant of system")
	Put(t, s, scope, resource.AccountResource, "kid@part.test", "", resource.Input{"name": "api_access", "value": "user"}, resource.Create)
	if c, _ := s.Credentials(ctx, "kid@part.test"); c.Access != resource.AccessUser {
		t.Errorf("kid access %q, want user", c.Access)
	}
}

// testPasswordsStoredHashed: hashes are slow (argon2id or bcrypt) and
// salted. (That no password is in the database files in clear is
// sqlstore's TestPasswordsNotInDatabaseFiles.)
func testPasswordsStoredHashed(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	const pw = "Plaintext-Canary-7731"
	Put(t, s, "", resource.Account, "", "", resource.Input{"username": "h1.test", "password": pw}, resource.Create)
	Put(t, s, "", resource.Account, "", "", resource.Input{"username": "h2.test", "password": pw}, resource.Create)
	c1, _ := s.Credentials(ctx, "h1.test")
	c2, _ := s.Credentials(ctx, "h2.test")
	for _, c := range []string{c1.Hash, c2.Hash} {
		if !strings.HasPrefix(c, "$argon2id$") && !strings.HasPrefix(c, "$2a$") && !strings.HasPrefix(c, "$2b$") {
			t.Errorf("hash %q is not argon2id or bcrypt", c)
		}
	}
	if c1.Hash == c2.Hash {
		t.Errorf("the same password hashed twice gives the same hash: not salted")
	}
}

// testCredentialsAccess: Credentials reflects enabled and api_access.
func testCredentialsAccess(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	NewAccount(t, s, "cred.test", "")
	c, err := s.Credentials(ctx, "cred.test")
	if err != nil || c.Access != "" || !c.Enabled || c.Username != "cred.test" {
		t.Fatalf("fresh account credentials %+v %v", c, err)
	}
	Put(t, s, "", resource.AccountResource, "cred.test", "api_access", resource.Input{"value": "system"}, resource.Upsert)
	Put(t, s, "", resource.Account, "", "cred.test", resource.Input{"enabled": false}, resource.Patch)
	c, _ = s.Credentials(ctx, "cred.test")
	if c.Access != resource.AccessSystem || c.Enabled {
		t.Errorf("credentials %+v, want system and disabled", c)
	}
	_, err = s.Credentials(ctx, "nobody.test")
	WantCode(t, err, xc5.ENOTFOUND, "Credentials of a missing account")
	_, _, err = s.Put(ctx, "", resource.AccountResource, "cred.test", "api_access", resource.Input{"value": "root"}, resource.Upsert)
	WantCode(t, err, xc5.EINVALID, "api_access=root")
}
