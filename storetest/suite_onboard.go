package storetest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"xc5"
	"xc5/resource"
)

// onboardFixture is a company with free pool numbers and another
// company's number.
func onboardFixture(t *testing.T, s Store) resource.Record {
	t.Helper()
	comp := NewAccount(t, s, "acmebrick.x.co.nz", "")
	for _, n := range []string{"6491231234", "6499290089", "6499290090"} {
		Put(t, s, "", resource.Number, resource.SystemPool, "", resource.Input{"number": n}, resource.Create)
	}
	other := NewAccount(t, s, "other.test", "")
	NewNumber(t, s, other.GUID, "6499290091")
	return comp
}

func parseCSV(t *testing.T, text string) []resource.BulkUser {
	t.Helper()
	users, err := resource.ParseBulkCSV(strings.NewReader(text))
	if err != nil {
		t.Fatalf("ParseBulkCSV: %v", err)
	}
	return users
}

// snapshot is what onboarding may change: accounts, numbers, callrules
// and routes, as listed.
func snapshot(t *testing.T, s Store) string {
	t.Helper()
	var b strings.Builder
	for _, r := range []*resource.Resource{resource.Account, resource.Number, resource.CallRule, resource.Route} {
		if err := s.ListAll(ctx, r, func(rec resource.Record) error {
			b.WriteString(r.Name + " " + rec.GUID + " " + rec.Parent + "\n")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// testOnboard onboards the walkthrough's two users from CSV and checks
// that each gets what the walkthrough provisions; then that a file with a
// problem on every line but one reports every problem and writes nothing,
// and that a dry run writes nothing.
func testOnboard(t *testing.T, b backend) {
	s := b.open(t)
	comp := onboardFixture(t, s)
	const good = "username,extension,ddi,voicemail\n" +
		"reception,600,6491231234,reception@acmebrick.x.co.nz\n" +
		"\"sales@acmebrick.x.co.nz\", 608 ,6499290089,\n"

	before := snapshot(t, s)
	dry, err := s.Onboard(ctx, "", "acmebrick.x.co.nz", parseCSV(t, good), true)
	if err != nil || len(dry) != 2 || dry[0].Username != "reception@acmebrick.x.co.nz" || dry[0].Password != "" {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if after := snapshot(t, s); after != before {
		t.Fatalf("the dry run wrote:\n%s\n---\n%s", before, after)
	}

	got, err := s.Onboard(ctx, "", comp.GUID, parseCSV(t, good), false)
	if err != nil || len(got) != 2 {
		t.Fatalf("Onboard: %+v, %v", got, err)
	}
	if got[1].Username != "sales@acmebrick.x.co.nz" || got[1].Line != 3 || got[0].Password == "" || got[0].GUID == "" {
		t.Errorf("results: %+v", got)
	}
	c, err := s.Credentials(ctx, "reception@acmebrick.x.co.nz")
	if err != nil || !c.Enabled {
		t.Fatalf("reception's credentials: %+v, %v", c, err)
	}
	nums := List(t, s, "", resource.Number, resource.Query{Parent: "reception@acmebrick.x.co.nz"})
	if len(nums) != 1 || nums[0].Values["number"] != "6491231234" {
		t.Errorf("reception's numbers: %v", nums)
	}
	rules := List(t, s, "", resource.CallRule, resource.Query{Parent: "acmebrick.x.co.nz"})
	if len(rules) != 2 || rules[0].Values["order"] != int64(-2) || rules[0].Values["prefix_raw"] != "600" ||
		rules[0].Values["username"] != "reception@acmebrick.x.co.nz" || rules[0].Values["destination"] != ":600" ||
		rules[1].Values["prefix_raw"] != "608" || rules[1].Values["destination"] != ":608" {
		t.Errorf("company callrules: %v", rules)
	}
	routes := List(t, s, "", resource.Route, resource.Query{Parent: "reception@acmebrick.x.co.nz"})
	if len(routes) != 1 || routes[0].Values["order"] != int64(200) || routes[0].Values["destination"] != "email:reception@acmebrick.x.co.nz" {
		t.Errorf("reception's routes: %v", routes)
	}
	if routes := List(t, s, "", resource.Route, resource.Query{Parent: "sales@acmebrick.x.co.nz"}); len(routes) != 0 {
		t.Errorf("sales has routes without a voicemail address: %v", routes)
	}

	// Every line but the last is wrong in its own way.
	const bad = "username,extension,ddi,voicemail\n" +
		"reception,610,,\n" + // line 2: the username exists
		"anna,600,,\n" + // line 3: the extension is reception's
		"bob,611,6490000000,\n" + // line 4: no such DDI in the pool
		"carl,612,6499290091,\n" + // line 5: another company's number
		"dora,613,,not-an-address\n" + // line 6: voicemail address
		"erin,614,6499290090,erin@acmebrick.x.co.nz\n" + // line 7: fine
		"erin,615,,\n" // line 8: erin twice
	before = snapshot(t, s)
	for _, dry := range []bool{true, false} {
		_, err = s.Onboard(ctx, "", "acmebrick.x.co.nz", parseCSV(t, bad), dry)
		var p resource.BulkProblems
		if !errors.As(err, &p) || xc5.ErrorCode(err) != xc5.EINVALID {
			t.Fatalf("dry %v: %v (code %s), want BulkProblems", dry, err, xc5.ErrorCode(err))
		}
		text := strings.Join(p, "\n")
		for _, want := range []string{"line 2: account reception@acmebrick.x.co.nz already exists", "line 3: extension 600",
			"line 4: DDI 6490000000 is not in", "line 5: DDI 6499290091 is already assigned to other.test",
			"line 6: voicemail", "line 8: account erin@acmebrick.x.co.nz already exists"} {
			if !strings.Contains(text, want) {
				t.Errorf("dry %v: problems lack %q:\n%s", dry, want, text)
			}
		}
		if len(p) != 6 || strings.Contains(text, "line 7") {
			t.Errorf("dry %v: %d problems, want 6:\n%s", dry, len(p), text)
		}
		if after := snapshot(t, s); after != before {
			t.Fatalf("dry %v: a failed onboarding wrote:\n%s\n---\n%s", dry, before, after)
		}
	}
	if _, err := s.Onboard(ctx, "", "nosuch.test", parseCSV(t, good), false); xc5.ErrorCode(err) != xc5.ENOTFOUND {
		t.Errorf("unknown company: %v", err)
	}
}

// testOnboardTrail: an onboarding through the API is API writes like any
// other: each record it makes is in the company's audit trail, and the
// company's webhooks hear of the new account and its number, in the
// onboarding's transaction; a dry run leaves neither.
func testOnboardTrail(t *testing.T, b backend) {
	s := b.open(t)
	comp := onboardFixture(t, s)
	wh := Hook(t, s, comp.GUID, "*", true)
	o := xc5.Origin{Account: "admin", Source: "192.0.2.9", Method: "PUT", Path: "/api-sys/account/acmebrick.x.co.nz/bulk"}
	const file = "username,extension,ddi,voicemail\nreception,600,6491231234,reception@acmebrick.x.co.nz\n"
	if _, err := s.Onboard(xc5.WithOrigin(ctx, o), "", comp.GUID, parseCSV(t, file), true); err != nil {
		t.Fatal(err)
	}
	if got := auditOf(t, s, comp.Path, false); len(got) != 0 {
		t.Fatalf("a dry run left audit entries: %+v", got)
	}
	if _, err := s.Onboard(xc5.WithOrigin(ctx, o), "", comp.GUID, parseCSV(t, file), false); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range auditOf(t, s, comp.Path, false) {
		if e.Origin.Source != "192.0.2.9" || e.Origin.Account != "admin" {
			t.Errorf("entry %+v: wrong origin", e)
		}
		kinds[e.Resource]++
	}
	if kinds["child"] != 1 || kinds["number"] != 1 || kinds["callrule"] != 1 || kinds["route"] != 1 {
		t.Errorf("audit entries by resource: %v", kinds)
	}
	types := map[string]int{}
	for _, ev := range claimAll(t, s)[wh.GUID] {
		types[ev.Type]++
	}
	if types[xc5.EventAccountChanged] != 1 || types[xc5.EventNumberChanged] != 1 {
		t.Errorf("events: %v", types)
	}
}

// testOnboardRefusedFileCostsNoHashes: a file refused for its last line
// hashes no password (argon2, 19 MiB each): the file is checked whole
// before any hash is made. Measured by the memory the refusal allocated,
// which twenty hashes would put near 400 MiB.
func testOnboardRefusedFileCostsNoHashes(t *testing.T, b backend) {
	s := b.open(t)
	onboardFixture(t, s)
	var csv strings.Builder
	csv.WriteString("username\n")
	for i := range 20 {
		fmt.Fprintf(&csv, "h%d\n", i)
	}
	csv.WriteString("h0\n") // the same user twice: refused
	users := parseCSV(t, csv.String())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := s.Onboard(ctx, "", "acmebrick.x.co.nz", users, false)
	runtime.ReadMemStats(&after)
	var p resource.BulkProblems
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "line 22") {
		t.Fatalf("%v; want BulkProblems naming line 22", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 19<<20 {
		t.Errorf("a refused file allocated %d MiB: passwords were hashed before the file was checked", grew>>20)
	}
}
