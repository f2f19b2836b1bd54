package routing_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"xc5/resource"
	"xc5/routing"
)

// bigView builds a view of companies×10 accounts: a company, eight users
// with two numbers, four routes each, and a hunt group over the users;
// the company holds the extension plan and blocking rules. 10,000
// companies give 100,000 accounts, 200,000 numbers and 500,000 rules.
func bigView(tb testing.TB, companies int) *routing.View {
	tb.Helper()
	loc, _ := time.LoadLocation("Pacific/Auckland")
	v := routing.NewView(routing.Defaults{Location: loc, CountryCode: "64"})
	v.SetLocations([]resource.Record{{Values: map[string]any{"name": "<CallRule-International>", "prefixes": "1,2,3,4,5,60,61,62,63,65,66,67,68,69,7,8,9", "exclude": ""}}})
	seq := int64(0)
	rec := func(parent string, vals map[string]any) resource.Record {
		seq++
		return resource.Record{GUID: resource.NewGUID(), Parent: parent, Seq: seq, Values: vals}
	}
	account := func(username, parent string) resource.Record {
		r := rec(parent, map[string]any{"username": username, "enabled": true, "cfna_duration": int64(20), "callerid": true})
		return r
	}
	number := 6480000000
	num := func(owner string) resource.Record {
		number++
		return rec(owner, map[string]any{"number": fmt.Sprint(number)})
	}
	for c := 0; c < companies; c++ {
		domain := fmt.Sprintf("c%d.test", c)
		company := account(domain, "")
		var users []resource.Record
		var plan []resource.Record
		for u := 0; u < 8; u++ {
			user := account(fmt.Sprintf("u%d@%s", u, domain), company.GUID)
			users = append(users, user)
			plan = append(plan, rec(company.GUID, map[string]any{"order": int64(-2), "prefix_raw": fmt.Sprintf("60%d", u),
				"username": user.Values["username"], "destination": fmt.Sprintf(":60%d", u)}))
		}
		plan = append(plan,
			rec(company.GUID, map[string]any{"order": int64(-14), "location": "<CallRule-International>", "destination": "drop:404:destination blocked"}),
			rec(company.GUID, map[string]any{"order": int64(-12), "record_email": "rec@" + domain}))
		v.SetAccount(company, routing.Rules{CallRules: plan, Numbers: []resource.Record{num(company.GUID), num(company.GUID)}})
		for _, user := range users {
			routes := []resource.Record{
				rec(user.GUID, map[string]any{"order": int64(-5), "time_definition": "Sat-Sun", "destination": "drop:480:closed"}),
				rec(user.GUID, map[string]any{"order": int64(200), "destination": "email:" + user.Values["username"].(string)}),
				rec(user.GUID, map[string]any{"order": int64(300), "destination": "6499990000"}),
				rec(user.GUID, map[string]any{"order": int64(150), "time_definition": "Mon-Fri 22:00-06:00", "destination": "drop:480:night"}),
			}
			v.SetAccount(user, routing.Rules{Routes: routes, Numbers: []resource.Record{num(user.GUID), num(user.GUID)}})
		}
		group := account("group@"+domain, company.GUID)
		var hunts []resource.Record
		for u := 0; u < 8; u++ {
			hunts = append(hunts, rec(group.GUID, map[string]any{"order": int64(100 + u), "username": users[u].Values["username"], "hunt_user": true, "ring_seconds": int64(10)}))
		}
		v.SetAccount(group, routing.Rules{Routes: hunts, Numbers: []resource.Record{num(group.GUID), num(group.GUID)}})
	}
	return v
}

var tuesday = time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("NZDT", 13*3600))

func BenchmarkDecide(b *testing.B) {
	v := bigView(b, 10000)
	accounts, numbers, rules := v.Size()
	b.Logf("view: %d accounts, %d numbers, %d rules", accounts, numbers, rules)
	sim := &routing.Simulation{Registered: func(*routing.Account) bool { return true }}
	b.Run("extension", func(b *testing.B) {
		call := routing.Call{From: "u1@c5000.test", Dialed: "602", At: tuesday}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			t := v.Decide(call, sim)
			if t.Outcome.By != "u2@c5000.test" {
				b.Fatalf("outcome %+v", t.Outcome)
			}
		}
	})
	b.Run("ddi-hunt", func(b *testing.B) {
		users := func(a *routing.Account) bool { return a.Username[0] == 'u' } // groups have no phones
		hunting := &routing.Simulation{Registered: users, NoAnswer: routing.ParseSet("u0@c7000.test")}
		// The group of company 7000 has the numbers after its 8 users' and the company's.
		call := routing.Call{From: "6421555000", Dialed: fmt.Sprint(6480000000 + 7000*20 + 19), At: tuesday}
		if t := v.Decide(call, hunting); t.Outcome.By != "u1@c7000.test" {
			b.Fatalf("outcome %+v steps %+v", t.Outcome, t.Steps)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			v.Decide(call, hunting)
		}
	})
}

// BenchmarkViewMemory reports the view's heap per rule.
func BenchmarkViewMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		v := bigView(b, 10000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		_, _, rules := v.Size()
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(rules), "heap-bytes/rule")
		runtime.KeepAlive(v)
	}
}
