package portal_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/sqlstore"
)

// TestPortalSeed fills the SQLite data directory named by
// XC5_PORTAL_SEED with the load figures' company (bench/portal.sh):
// acmebrick.x.co.nz with api_access=user and password "bench-portal-pw",
// 1,000 users each with an extension (the -2 callrule) and a number, a
// hunt group of ten, and 100,000 CDRs: 10,090 of user0's (the deep
// paginated listing) and 90 of each other user's. Skipped without it.
func TestPortalSeed(t *testing.T) {
	dir := os.Getenv("XC5_PORTAL_SEED")
	if dir == "" {
		t.Skip("set XC5_PORTAL_SEED=DIR to seed the portal's load figures")
	}
	ctx := context.Background()
	s, err := sqlstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Bootstrap(ctx, "bench-admin-pw"); err != nil {
		t.Fatal(err)
	}
	must := func(rec resource.Record, _ bool, err error) resource.Record {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	co := must(s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": acme, "password": "bench-portal-pw"}, resource.Create))
	must(s.Put(ctx, "", resource.AccountResource, co.GUID, "", resource.Input{"name": "api_access", "value": "user"}, resource.Create))
	const users = 1000
	guids := make([]string, users)
	start := time.Now()
	for i := range users {
		name := fmt.Sprintf("user%d@%s", i, acme)
		u := must(s.Put(ctx, "", resource.Child, co.GUID, "", resource.Input{"username": name}, resource.Create))
		guids[i] = u.GUID
		ext := fmt.Sprintf("%d", 2000+i)
		must(s.Put(ctx, "", resource.CallRule, co.GUID, "", resource.Input{"order": int64(-2), "prefix_raw": ext, "username": name, "destination": ":" + ext}, resource.Create))
		must(s.Put(ctx, "", resource.Number, u.GUID, "", resource.Input{"number": fmt.Sprintf("649555%04d", i)}, resource.Create))
	}
	hunt := must(s.Put(ctx, "", resource.Child, co.GUID, "", resource.Input{"username": "main_entry@" + acme}, resource.Create))
	for i := range 10 {
		must(s.Put(ctx, "", resource.Route, hunt.GUID, "", resource.Input{"order": int64(100 + i), "username": fmt.Sprintf("user%d@%s", i, acme), "hunt_user": true, "ring_seconds": int64(10)}, resource.Create))
	}
	t.Logf("accounts: %v", time.Since(start))
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var batch []xc5.CDR
	n := 0
	add := func(acct string, i int) {
		at := day.Add(time.Duration(n) * 20 * time.Second)
		batch = append(batch, xc5.CDR{Account: acct, Values: map[string]any{"direction": "in", "from": fmt.Sprintf("6421%06d", n%1000000),
			"to": acct, "started": at.Format(time.RFC3339), "answered": at.Add(3 * time.Second).Format(time.RFC3339),
			"ended": at.Add(63 * time.Second).Format(time.RFC3339), "duration": int64(60), "outcome": "answered", "code": int64(200)}})
		n++
		if len(batch) == 1000 {
			if err := s.AddCDRs(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for i := range 10090 {
		add(guids[0], i)
	}
	for u := 1; u < users; u++ {
		for i := range 90 {
			add(guids[u], i)
		}
	}
	if len(batch) > 0 {
		if err := s.AddCDRs(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if err := s.LeaveVoicemail(ctx, xc5.Voicemail{GUID: resource.NewGUID(), Account: guids[0], From: fmt.Sprintf("642100000%d", i),
			To: "user0@" + acme, Received: time.Now(), Duration: 2 * time.Second, Status: xc5.VoicemailNew, Audio: tone(16000)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seeded %d users, %d CDRs in %v", users, n, time.Since(start))
}
