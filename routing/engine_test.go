package routing_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"xc5/resource"
	"xc5/routing"
)

// fixture builds a small organisation directly in a view:
//
//	org.test (country 64, area 9)
//	├── a@org.test   6491110001, is-pilot 6491110000 on org.test
//	├── b@org.test   6491110002 (cfa → 6491110001 when set)
//	└── ...
type fixture struct {
	v   *routing.View
	seq int64
	ids map[string]string
}

func newFixture() *fixture {
	loc, _ := time.LoadLocation("Pacific/Auckland")
	f := &fixture{v: routing.NewView(routing.Defaults{Location: loc, CountryCode: "64"}), ids: map[string]string{}}
	f.v.SetLocations([]resource.Record{
		{Values: map[string]any{"name": "<CallRule-Mobile>", "prefixes": "6421,6422,6427", "exclude": ""}},
		{Values: map[string]any{"name": "<CallRule-National>", "prefixes": "64", "exclude": "6421,6422,6427"}},
	})
	f.v.SetTimeSets([]resource.Record{{Values: map[string]any{"name": "closed", "dates": "2026-12-25", "definition": ""}}})
	return f
}

func (f *fixture) rec(parent string, vals map[string]any) resource.Record {
	f.seq++
	return resource.Record{GUID: resource.NewGUID(), Parent: parent, Seq: f.seq, Values: vals}
}

// account adds an account; settings override the defaults.
func (f *fixture) account(name, parent string, settings map[string]any, rules routing.Rules) {
	vals := map[string]any{"username": name, "enabled": true, "cfna_duration": int64(20), "callerid": true}
	for k, v := range settings {
		vals[k] = v
	}
	guid := f.ids[name]
	if guid == "" {
		guid = resource.NewGUID()
		f.ids[name] = guid
	}
	f.seq++
	f.v.SetAccount(resource.Record{GUID: guid, Parent: f.ids[parent], Seq: f.seq, Values: vals}, rules)
}

func (f *fixture) numbers(owner string, nums ...string) []resource.Record {
	var out []resource.Record
	for _, n := range nums {
		vals := map[string]any{"number": n}
		if strings.HasPrefix(n, "pilot:") {
			vals = map[string]any{"number": n[6:], "is-pilot": true}
		}
		if num, cfa, ok := strings.Cut(n, ">"); ok {
			vals = map[string]any{"number": num, "cfa": cfa}
		}
		out = append(out, f.rec(f.ids[owner], vals))
	}
	return out
}

func (f *fixture) route(owner string, vals map[string]any) resource.Record {
	return f.rec(f.ids[owner], vals)
}

// driver answers per account and counts calls for concurrent limits.
type driver struct {
	routing.Simulation
	limited map[string]bool
}

func (d *driver) AtLimit(a *routing.Account) bool { return d.limited[a.Username] }

func decide(f *fixture, from, dial string, d *driver) routing.Trace {
	if d == nil {
		d = &driver{}
	}
	if d.Registered == nil {
		d.Registered = func(*routing.Account) bool { return true }
	}
	return f.v.Decide(call(from, dial), d)
}

// call is a call the fixtures' tests decide, at a fixed time.
func call(from, dial string) routing.Call {
	return routing.Call{From: from, Dialed: dial, At: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
}

func TestRuleTypes(t *testing.T) {
	f := newFixture()
	for _, n := range []string{"org.test", "a@org.test", "b@org.test", "c@org.test", "d@org.test", "e@org.test", "grp@org.test", "blast@org.test", "off@org.test"} {
		f.ids[n] = resource.NewGUID()
	}
	f.account("org.test", "", map[string]any{"area_code": "9", "pickup_group": "Alpha"}, routing.Rules{
		Numbers: f.numbers("org.test", "pilot:6491110000"),
		CallRules: []resource.Record{
			f.route("org.test", map[string]any{"order": int64(-2), "prefix_raw": "601", "username": "a@org.test", "destination": ":601"}),
			f.route("org.test", map[string]any{"order": int64(-2), "prefix_raw": "602", "username": "b@org.test", "destination": ":602"}),
			f.route("org.test", map[string]any{"order": int64(-3), "prefix_raw": "55", "destination": "6491110001"}),      // speed dial to a number
			f.route("org.test", map[string]any{"order": int64(-3), "prefix_raw": "56", "destination": "c@org.test"}),      // to a username
			f.route("org.test", map[string]any{"order": int64(-3), "prefix_raw": "8", "destination": "09%"}),              // 8xxxxxxx → 09xxxxxxx
			f.route("org.test", map[string]any{"order": int64(-4), "prefix": "64900", "destination": "drop:403:premium"}), // E.164 prefix
			f.route("org.test", map[string]any{"order": int64(-2), "prefix_raw": "14", "destination": "*%", "early_rule": true}),
		},
	})
	f.account("a@org.test", "org.test", nil, routing.Rules{Numbers: f.numbers("a@org.test", "6491110001")})
	f.account("b@org.test", "org.test", map[string]any{"private": true}, routing.Rules{Numbers: f.numbers("b@org.test", "6491110002>6491110001")})
	f.account("c@org.test", "org.test", map[string]any{"cfna_active": true, "cfna_dest": "6441000000", "concurrent_limit": int64(1)},
		routing.Rules{
			Numbers:   f.numbers("c@org.test", "6491110003"),
			CallRules: []resource.Record{f.route("c@org.test", map[string]any{"order": int64(-14), "location": "<CallRule-Mobile>", "destination": "drop:404:destination blocked"})},
		})
	f.account("d@org.test", "org.test", nil, routing.Rules{
		Numbers: f.numbers("d@org.test", "6491110004"),
		Routes: []resource.Record{
			f.route("d@org.test", map[string]any{"order": int64(-9), "time_definition": "closed", "destination": "drop:480:closed today"}),
			f.route("d@org.test", map[string]any{"order": int64(50), "destination": "conference:6491110004"}),
		},
	})
	f.account("e@org.test", "org.test", map[string]any{"enabled": false}, routing.Rules{Numbers: f.numbers("e@org.test", "6491110005")})
	f.account("grp@org.test", "org.test", nil, routing.Rules{
		Numbers: f.numbers("grp@org.test", "6491110009"),
		Routes: []resource.Record{
			f.route("grp@org.test", map[string]any{"order": int64(10), "username": "a@org.test", "hunt_user": true, "ring_seconds": int64(5)}),
			f.route("grp@org.test", map[string]any{"order": int64(20), "username": "c@org.test", "hunt_user": true}),
			f.route("grp@org.test", map[string]any{"order": int64(30), "destination": "email:grp@org.test"}),
		},
	})
	f.account("blast@org.test", "org.test", nil, routing.Rules{
		Numbers: f.numbers("blast@org.test", "6491110008"),
		Forks: []resource.Record{
			f.route("blast@org.test", map[string]any{"destination": "6491110001"}),
			f.route("blast@org.test", map[string]any{"destination": "d@org.test"}),
			f.route("blast@org.test", map[string]any{"destination": "6421999999"}),
		},
	})
	noGroupPhones := func(a *routing.Account) bool {
		return !strings.HasPrefix(a.Username, "grp@") && !strings.HasPrefix(a.Username, "blast@")
	}

	tests := []struct {
		name, from, dial string
		d                *driver
		want             string // outcome summary
	}{
		{"prefix_raw + username (extension)", "a@org.test", "602", nil, "answered b@org.test"},
		{"destination number (speed dial)", "b@org.test", "55", nil, "answered a@org.test"},
		{"destination username", "a@org.test", "56", nil, "answered c@org.test"},
		{"destination pattern with %", "a@org.test", "81110004", nil, "answered d@org.test"},
		{"prefix on the e.164 number", "a@org.test", "0900123456", nil, "dropped 403 premium"},
		{"location", "c@org.test", "0211234567", nil, "dropped 404 destination blocked"},
		{"location does not match other numbers", "c@org.test", "041234567", nil, "external 6441234567"},
		{"local number with the inherited area code", "a@org.test", "1110004", nil, "answered d@org.test"},
		{"international", "a@org.test", "0061212345678", nil, "external 61212345678"},
		{"cfa on the number", "org.test", "6491110002", nil, "answered a@org.test"},
		{"unknown extension", "a@org.test", "603", nil, "dropped 404 Not Found"},
		{"cfna forwards", "a@org.test", "6491110003", &driver{Simulation: routing.Simulation{NoAnswer: routing.ParseSet("c@org.test")}},
			"external 6441000000"},
		{"concurrent_limit makes the callee busy", "a@org.test", "6491110003", &driver{limited: map[string]bool{"c@org.test": true}},
			"external 6441000000"},
		{"concurrent_limit stops the caller", "c@org.test", "601", &driver{limited: map[string]bool{"c@org.test": true}}, "busy"},
		{"route after order 0: conference", "a@org.test", "6491110004", &driver{Simulation: routing.Simulation{NoAnswer: routing.ParseSet("*")}}, "conference 6491110004"},
		{"unregistered skips order 0", "a@org.test", "6491110004", &driver{Simulation: routing.Simulation{Registered: func(*routing.Account) bool { return false }}},
			"conference 6491110004"},
		{"hunt with ring_seconds, then the next member", "6421555000", "6491110009",
			&driver{Simulation: routing.Simulation{Registered: noGroupPhones, NoAnswer: routing.ParseSet("a@org.test")}},
			"answered c@org.test"},
		{"hunt exhausted goes on to email", "6421555000", "6491110009",
			&driver{Simulation: routing.Simulation{Registered: noGroupPhones, NoAnswer: routing.ParseSet("*")}},
			"email grp@org.test"},
		{"hunt ignores the member's routes (cfna)", "6421555000", "6491110009",
			&driver{Simulation: routing.Simulation{Registered: noGroupPhones, Busy: routing.ParseSet("*")}},
			"email grp@org.test"},
		{"blast group rings all forks at once", "6421555000", "6491110008",
			&driver{Simulation: routing.Simulation{Registered: noGroupPhones, NoAnswer: routing.ParseSet("a@org.test")}},
			"answered d@org.test"},
		{"blast group: the external leg when nobody on-net answers", "6421555000", "6491110008",
			&driver{Simulation: routing.Simulation{Registered: noGroupPhones, NoAnswer: routing.ParseSet("*")}},
			"external 6421999999"},
		{"disabled callee", "a@org.test", "6491110005", nil, "dropped 480 Temporarily Unavailable"},
		{"disabled caller", "e@org.test", "601", nil, "dropped 403 Forbidden"},
		{"private caller presentation", "b@org.test", "601", nil, "answered a@org.test"},
		{"pilot number presented without an own number", "org.test", "601", nil, "answered a@org.test"},
		{"own number presented", "a@org.test", "602", nil, "answered b@org.test"},
		{"early rule without a prompt code", "a@org.test", "14999", nil, "dropped 404 Not Found"},
	}
	g := golden(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := decide(f, tt.from, tt.dial, tt.d)
			g.check(t, tt.name, render(call(tt.from, tt.dial), tr))
			if got := summary(tr.Outcome); got != tt.want {
				t.Errorf("outcome %q, want %q\n%s", got, tt.want, steps(tr))
			}
		})
	}
	// Closed days: the time set applies in the account's time zone.
	christmas := &driver{}
	christmas.Registered = func(*routing.Account) bool { return true }
	tr := f.v.Decide(routing.Call{From: "a@org.test", Dialed: "6491110004", At: time.Date(2026, 12, 25, 9, 0, 0, 0, time.UTC)}, christmas)
	if summary(tr.Outcome) != "dropped 480 closed today" {
		t.Errorf("on a date of the time set: %s", summary(tr.Outcome))
	}
	if g := f.v.PickupGroup(f.v.Account("b@org.test")); g != "Alpha" {
		t.Errorf("inherited pickup group %q, want Alpha", g)
	}
}

func summary(o routing.Outcome) string {
	switch o.Outcome {
	case routing.Answered:
		return "answered " + o.By
	case routing.Dropped:
		return "dropped " + itoa(o.Code) + " " + o.Reason
	case routing.External:
		return "external " + o.Number
	case routing.Email:
		return "email " + o.To
	case routing.Conference:
		return "conference " + o.Room
	}
	return o.Outcome
}

func itoa(n int) string { return strconv.Itoa(n) }

func steps(tr routing.Trace) string {
	var b strings.Builder
	for _, s := range tr.Steps {
		b.WriteString(s.Kind + " " + s.Account + ": " + s.Text + "\n")
	}
	return b.String()
}
