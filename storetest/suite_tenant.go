package storetest

// Store-level checks of partitions that must be atomic with the write:
// number_limit and pool allocation under concurrent writes from two
// stores on one database (two nodes).

import (
	"fmt"
	"sync"
	"testing"

	"xc5"
	"xc5/resource"
)

// twoNodes opens a bootstrapped store and a second store on the same
// database, as two nodes would.
func twoNodes(t *testing.T, b backend) [2]Store {
	t.Helper()
	s := b.open(t)
	return [2]Store{s, b.again(t, s)}
}

// allocateAll allocates, at once, pool number guids[i] to accounts[i]
// within scopes[i], through alternating nodes, and returns the errors.
func allocateAll(nodes [2]Store, scopes []resource.Scope, accounts, guids []string) []error {
	start := make(chan struct{})
	errs := make([]error, len(guids))
	var wg sync.WaitGroup
	for i := range guids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, errs[i] = nodes[i%2].Put(ctx, scopes[i], resource.Number, accounts[i], guids[i], resource.Input{}, resource.Upsert)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// testNumberLimitConcurrent: allocations racing on two nodes never take a
// company past the number_limit its provider set.
func testNumberLimitConcurrent(t *testing.T, b backend) {
	t.Parallel()
	nodes := twoNodes(t, b)
	s := nodes[0]
	for round := 0; round < 4; round++ {
		co := fmt.Sprintf("co%d.test", round)
		kids := []string{"k1@" + co, "k2@" + co}
		scope := resource.Scope(NewAccount(t, s, co, "").Path)
		for _, k := range kids {
			NewAccount(t, s, k, co)
		}
		Put(t, s, "", resource.AccountResource, co, "", resource.Input{"name": resource.NumberLimit, "value": "3"}, resource.Create)
		const n = 12
		var scopes []resource.Scope
		var accounts, guids []string
		for i := 0; i < n; i++ {
			guids = append(guids, NewNumber(t, s, resource.SystemPool, fmt.Sprintf("6497770%d%02d", round, i)).GUID)
			scopes = append(scopes, scope)
			accounts = append(accounts, kids[i%2])
		}
		ok := 0
		for _, err := range allocateAll(nodes, scopes, accounts, guids) {
			switch xc5.ErrorCode(err) {
			case "":
				ok++
			case xc5.EFORBIDDEN:
			default:
				t.Errorf("allocation: %v, want success or %s", err, xc5.EFORBIDDEN)
			}
		}
		held := len(List(t, s, "", resource.Number, resource.Query{Parent: kids[0]})) + len(List(t, s, "", resource.Number, resource.Query{Parent: kids[1]}))
		if ok != 3 || held != 3 {
			t.Errorf("round %d: %d allocations succeeded, the company holds %d numbers; want 3 and 3 (number_limit 3)", round, ok, held)
		}
	}
}

// testPoolNumberRace: two companies taking the same pool number at once
// on two nodes: one gets it, the other is told it is not found.
func testPoolNumberRace(t *testing.T, b backend) {
	t.Parallel()
	nodes := twoNodes(t, b)
	s := nodes[0]
	var scopes []resource.Scope
	for _, co := range []string{"one.test", "two.test"} {
		scopes = append(scopes, resource.Scope(NewAccount(t, s, co, "").Path))
		Put(t, s, "", resource.AccountResource, co, "", resource.Input{"name": resource.NumberLimit, "value": "100"}, resource.Create)
	}
	for round := 0; round < 8; round++ {
		g := NewNumber(t, s, resource.SystemPool, fmt.Sprintf("64988800%02d", round)).GUID
		errs := allocateAll(nodes, scopes, []string{"one.test", "two.test"}, []string{g, g})
		ok := 0
		for _, err := range errs {
			switch xc5.ErrorCode(err) {
			case "":
				ok++
			case xc5.ENOTFOUND:
			default:
				t.Errorf("round %d: %v, want success or %s", round, err, xc5.ENOTFOUND)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d companies got the number, want 1: %v", round, ok, errs)
		}
	}
	one := List(t, s, "", resource.Number, resource.Query{Parent: "one.test"})
	two := List(t, s, "", resource.Number, resource.Query{Parent: "two.test"})
	if len(one)+len(two) != 8 {
		t.Errorf("the companies hold %d numbers, want 8", len(one)+len(two))
	}
}

// testAliasReturnRace: a partition writing an a: alias of its number on
// one node while it returns the number to the pool on another: however
// they interleave, no alias of a number in the pool is left.
func testAliasReturnRace(t *testing.T, b backend) {
	t.Parallel()
	nodes := twoNodes(t, b)
	s := nodes[0]
	scope := resource.Scope(NewAccount(t, s, "race.test", "").Path)
	NewAccount(t, s, "k1@race.test", "race.test")
	NewAccount(t, s, "k2@race.test", "race.test")
	for round := 0; round < 20; round++ {
		number := fmt.Sprintf("6496660%03d", round)
		held := NewNumber(t, s, "k1@race.test", number)
		start := make(chan struct{})
		var wg sync.WaitGroup
		var aliasErr, returnErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, _, aliasErr = nodes[0].Put(ctx, scope, resource.Number, "k2@race.test", "", resource.Input{"number": "a:" + number}, resource.Create)
		}()
		go func() {
			defer wg.Done()
			<-start
			returnErr = nodes[1].Delete(ctx, scope, resource.Number, "k1@race.test", held.GUID)
		}()
		close(start)
		wg.Wait()
		if returnErr != nil {
			t.Fatalf("round %d: returning %s: %v", round, number, returnErr)
		}
		if aliasErr != nil && xc5.ErrorCode(aliasErr) != xc5.EFORBIDDEN {
			t.Errorf("round %d: the alias: %v, want success or %s", round, aliasErr, xc5.EFORBIDDEN)
		}
		for _, n := range List(t, s, "", resource.Number, resource.Query{Parent: "k2@race.test"}) {
			t.Errorf("round %d: k2 presents %v, a number in the pool", round, n.Values["number"])
		}
	}
}

// testMoveReturnRace: a partition moving its number to another of its
// accounts on one node while it returns the number to the pool on
// another: one of the two happens, never both (the move once took the
// number back out of the pool, past number_limit).
func testMoveReturnRace(t *testing.T, b backend) {
	t.Parallel()
	nodes := twoNodes(t, b)
	s := nodes[0]
	scope := resource.Scope(NewAccount(t, s, "move.test", "").Path)
	NewAccount(t, s, "k1@move.test", "move.test")
	NewAccount(t, s, "k2@move.test", "move.test")
	// At its number_limit, the company may move numbers inside but not
	// take one from the pool: a returned number cannot come back.
	NewNumber(t, s, "k2@move.test", "6495551999")
	Put(t, s, "", resource.AccountResource, "move.test", "", resource.Input{"name": resource.NumberLimit, "value": "1"}, resource.Create)
	for round := 0; round < 20; round++ {
		held := NewNumber(t, s, "k1@move.test", fmt.Sprintf("6495550%03d", round))
		start := make(chan struct{})
		var wg sync.WaitGroup
		var moveErr, returnErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, _, moveErr = nodes[0].Put(ctx, scope, resource.Number, "k2@move.test", held.GUID, resource.Input{}, resource.Upsert)
		}()
		go func() {
			defer wg.Done()
			<-start
			returnErr = nodes[1].Delete(ctx, scope, resource.Number, "k1@move.test", held.GUID)
		}()
		close(start)
		wg.Wait()
		for _, err := range []error{moveErr, returnErr} {
			if code := xc5.ErrorCode(err); err != nil && code != xc5.ENOTFOUND && code != xc5.EFORBIDDEN {
				t.Errorf("round %d: %v, want success, %s or %s", round, err, xc5.ENOTFOUND, xc5.EFORBIDDEN)
			}
		}
		if moveErr == nil && returnErr == nil {
			t.Errorf("round %d: the number was both moved and returned", round)
		}
	}
}
