package sqlstore_test

import (
	"context"
	"testing"

	"xc5/resource"
	"xc5/storetest"
)

func TestAllSIPCredentials(t *testing.T) { forEachBackend(t, testAllSIPCredentials) }

// testAllSIPCredentials: the one-query read of every account's secrets
// gives each account exactly what SIPCredentials gives it, Enabled
// included: false for a disabled account and for the users of a disabled
// company, true for the rest; a limit bounds how many it returns.
func testAllSIPCredentials(t *testing.T, b storetest.Backend) {
	s, _ := newRegStore(t, b)
	ctx := context.Background()
	if err := s.Seed(ctx, 40, 0, "seed-pw"); err != nil { // companies seed-0..3, users u1..u9 each
		t.Fatal(err)
	}
	for _, name := range []string{"seed-1.test", "u3@seed-2.test"} {
		if _, _, err := s.Put(ctx, "", resource.Account, "", name, resource.Input{"enabled": false}, resource.Patch); err != nil {
			t.Fatalf("disable %s: %v", name, err)
		}
	}
	all, err := s.AllSIPCredentials(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 41 {
		t.Fatalf("%d accounts read, want at least the 41 created", len(all))
	}
	disabled := 0
	for _, c := range all {
		one, err := s.SIPCredentials(ctx, c.Username)
		if err != nil {
			t.Fatalf("%s: %v", c.Username, err)
		}
		if c != one {
			t.Errorf("%s: all gives %+v, one by one %+v", c.Username, c, one)
		}
		if !c.Enabled {
			disabled++
		}
	}
	if disabled != 11 { // seed-1.test and its nine users, u3@seed-2.test
		t.Errorf("%d accounts disabled, want 11", disabled)
	}
	if some, err := s.AllSIPCredentials(ctx, 5); err != nil || len(some) != 5 {
		t.Errorf("limit 5: %d accounts, %v", len(some), err)
	}
}
