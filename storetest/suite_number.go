package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"xc5"
	"xc5/resource"
)

// testNumberCreateAnswers: a number create (one statement when all is
// well) answers exactly as the separate checks did: the record as Get
// reads it, and the same 404, 400 and 409 with the same messages, in the
// same order of precedence (a missing account before a bad body).
func testNumberCreateAnswers(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	acct := NewAccount(t, s, "nc.test", "")
	NewAccount(t, s, "kid@nc.test", "nc.test")
	other := NewAccount(t, s, "other-nc.test", "")

	for i, parent := range []string{"nc.test", "NC.test", acct.GUID} {
		number := fmt.Sprintf("64913%05d", i)
		rec, created, err := s.Put(ctx, "", resource.Number, parent, "", resource.Input{"number": number, "cfa": "6400000001"}, resource.Create)
		if err != nil || !created {
			t.Fatalf("create under %s: %v, created %v", parent, err, created)
		}
		got, err := s.Get(ctx, "", resource.Number, "nc.test", rec.GUID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Parent != acct.GUID || rec.GUID != got.GUID || rec.Seq != got.Seq || !reflect.DeepEqual(rec.Values, got.Values) {
			t.Errorf("create under %s answered\n%+v\nGet reads\n%+v", parent, rec, got)
		}
	}
	pooled := NewNumber(t, s, resource.SystemPool, "6491310100")
	NewNumber(t, s, "other-nc.test", "6491310101")

	kid := resource.Scope(acct.Path)
	cases := []struct {
		what   string
		scope  resource.Scope
		parent string
		in     resource.Input
		code   string
		msg    string
	}{
		{"taken", "", "nc.test", resource.Input{"number": "6491310101"}, xc5.ECONFLICT, "number 6491310101 already exists"},
		{"in the pool", "", "nc.test", resource.Input{"number": "6491310100"}, xc5.ECONFLICT,
			"number 6491310100 is in " + resource.SystemPool + "; allocate it with PUT …/number/" + pooled.GUID},
		{"missing account", "", "nosuch.test", resource.Input{"number": "6491310102"}, xc5.ENOTFOUND, "account nosuch.test not found"},
		{"missing account and taken", "", "nosuch.test", resource.Input{"number": "6491310101"}, xc5.ENOTFOUND, "account nosuch.test not found"},
		{"missing account by GUID", "", "00000000-0000-0000-0000-000000000000", resource.Input{"number": "6491310102"}, xc5.ENOTFOUND,
			"account 00000000-0000-0000-0000-000000000000 not found"},
		{"missing account and no number", "", "nosuch.test", resource.Input{"cfa": "6400000001"}, xc5.ENOTFOUND, "account nosuch.test not found"},
		{"no number", "", "nc.test", resource.Input{"cfa": "6400000001"}, xc5.EINVALID, `field "number" is required`},
		{"outside the scope", kid, other.GUID, resource.Input{"number": "6491310103"}, xc5.ENOTFOUND, "account " + other.GUID + " not found"},
		{"taken, outside the scope", kid, "other-nc.test", resource.Input{"number": "6491310101"}, xc5.ENOTFOUND, "account other-nc.test not found"},
		{"GUID of another number", "", "nc.test", resource.Input{"number": "6491310104", "guid": pooled.GUID}, xc5.ECONFLICT,
			"a record with the same unique value already exists"},
	}
	for _, c := range cases {
		_, _, err := s.Put(ctx, c.scope, resource.Number, c.parent, "", c.in, resource.Create)
		if xc5.ErrorCode(err) != c.code || err.Error() != c.msg {
			t.Errorf("%s: %v (code %q), want %q %q", c.what, err, xc5.ErrorCode(err), c.code, c.msg)
		}
	}
	// Within the scope (where numbers come from the pool, and a: only
	// for numbers the scope holds), and a:-numbers may repeat.
	Put(t, s, kid, resource.Number, "kid@nc.test", "", resource.Input{"number": "a:6491300000"}, resource.Create)
	for i := 0; i < 2; i++ {
		NewNumber(t, s, "nc.test", "a:6491310101")
	}
	if got := len(List(t, s, "", resource.Number, resource.Query{Parent: "nc.test"})); got != 5 {
		t.Errorf("nc.test has %d numbers, want 5", got)
	}
}

// testConcurrentPutOfNewGUID: concurrent PUTs of one record under one
// new GUID (or an account's new username) create it once (201) and
// update it every other time (200), on every backend. PostgreSQL used to
// answer some of them 409: their transactions had all looked for the
// record before the first committed.
func testConcurrentPutOfNewGUID(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	NewAccount(t, s, "sameguid.test", "")
	cases := []struct {
		r      *resource.Resource
		parent string
		id     func(round int) string // the path's id; a new GUID by default
		in     func(round, i int) resource.Input
	}{
		{resource.Account, "", func(round int) string { return fmt.Sprintf("race%d.sameguid.test", round) }, func(round, i int) resource.Input {
			return resource.Input{"description": fmt.Sprint(i)}
		}},
		{resource.Number, "sameguid.test", nil, func(round, i int) resource.Input {
			return resource.Input{"number": fmt.Sprintf("64914%05d", round), "cfa": fmt.Sprintf("640000%04d", i)}
		}},
		{resource.Route, "sameguid.test", nil, func(round, i int) resource.Input {
			return resource.Input{"order": int64(100 + i), "destination": fmt.Sprintf("64915%05d", round)}
		}},
		{resource.Location, "", nil, func(round, i int) resource.Input {
			return resource.Input{"name": fmt.Sprintf("sameguid-%d", round), "description": fmt.Sprint(i)}
		}},
	}
	for _, c := range cases {
		t.Run(c.r.Name, func(t *testing.T) {
			for round := 0; round < 5; round++ {
				guid := resource.NewGUID()
				if c.id != nil {
					guid = c.id(round)
				}
				const n = 20
				start := make(chan struct{})
				created := make([]bool, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						_, created[i], errs[i] = s.Put(ctx, "", c.r, c.parent, guid, c.in(round, i), resource.Create)
					}()
				}
				close(start)
				wg.Wait()
				creates := 0
				for i, err := range errs {
					if err != nil {
						t.Errorf("round %d: PUT %d: %v (code %q), want 201 or 200", round, i, err, xc5.ErrorCode(err))
					}
					if created[i] {
						creates++
					}
				}
				if creates != 1 {
					t.Errorf("round %d: %d creates (201), want exactly 1", round, creates)
				}
				if _, err := s.Get(ctx, "", c.r, c.parent, guid); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			}
		})
	}
}
