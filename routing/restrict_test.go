package routing_test

import (
	"testing"
	"time"

	"xc5/resource"
	"xc5/routing"
)

// restrictFixture is safetyFixture with the accounts of the review of
// the routing-safety work:
//
//	co.test                    (international block at -14, prefix_raw 1 refused)
//	├── blast111@co.test       6493330010, forks 6493330001 and 111 (stored before the API refused it)
//	├── t@co.test              6493330011, cfna → 61299998888; own rule -100 International → %
//	└── dest@co.test           6493330013, route order -1 → 3330099
//	free.test                  (prefix_raw 1 refused)
//	├── zero@free.test         6493330012, cfna → 64014155550123
//	└── local@free.test        6493330014 (cfa → 3330099), route order -1 → 3330099; area code 9
//	soft.test                  International → op@soft.test at -10
//	├── op@soft.test           the operator
//	└── nf@soft.test           6493330021, cfna → 61299998888
//	open.test                  only a speed dial 999 → 111 (for visitors)
//	lab.test                   the provider's <CallRule-Emergency> → 6493330001 (a test desk), speed dial 999 → 111
func restrictFixture() *fixture {
	f := safetyFixture()
	for _, n := range []string{"blast111@co.test", "t@co.test", "dest@co.test", "zero@free.test", "local@free.test", "soft.test", "op@soft.test", "nf@soft.test", "open.test", "lab.test"} {
		f.ids[n] = resource.NewGUID()
	}
	f.account("blast111@co.test", "co.test", nil, routing.Rules{
		Numbers: f.numbers("blast111@co.test", "6493330010"),
		Forks: []resource.Record{
			f.route("blast111@co.test", map[string]any{"destination": "6493330001"}),
			f.route("blast111@co.test", map[string]any{"destination": "111"}),
		},
	})
	f.account("t@co.test", "co.test", map[string]any{"cfna_active": true, "cfna_dest": "61299998888"}, routing.Rules{
		Numbers:   f.numbers("t@co.test", "6493330011"),
		CallRules: []resource.Record{f.route("t@co.test", map[string]any{"order": int64(-100), "location": "<CallRule-International>", "destination": "%"})},
	})
	f.account("dest@co.test", "co.test", nil, routing.Rules{
		Numbers: f.numbers("dest@co.test", "6493330013"),
		Routes:  []resource.Record{f.route("dest@co.test", map[string]any{"order": int64(-1), "destination": "3330099"})},
	})
	f.account("zero@free.test", "free.test", map[string]any{"cfna_active": true, "cfna_dest": "64014155550123"}, routing.Rules{Numbers: f.numbers("zero@free.test", "6493330012")})
	f.account("local@free.test", "free.test", map[string]any{"area_code": "9"}, routing.Rules{
		Numbers:   f.numbers("local@free.test", "6493330014>3330099", "6493330015"),
		Routes:    []resource.Record{f.route("local@free.test", map[string]any{"order": int64(-1), "destination": "3330099"})},
		CallRules: []resource.Record{f.route("local@free.test", map[string]any{"order": int64(-5), "prefix_raw": "76", "destination": "3330099"})},
	})
	f.account("soft.test", "", nil, routing.Rules{CallRules: []resource.Record{
		f.route("soft.test", map[string]any{"order": int64(-10), "location": "<CallRule-International>", "username": "op@soft.test"}),
	}})
	f.account("op@soft.test", "soft.test", nil, routing.Rules{})
	f.account("nf@soft.test", "soft.test", map[string]any{"cfna_active": true, "cfna_dest": "61299998888"}, routing.Rules{Numbers: f.numbers("nf@soft.test", "6493330021")})
	f.account("open.test", "", nil, routing.Rules{CallRules: []resource.Record{
		f.route("open.test", map[string]any{"order": int64(-1), "prefix_raw": "999", "destination": "111"}),
	}})
	f.account("lab.test", "", nil, routing.Rules{CallRules: []resource.Record{
		f.route("lab.test", map[string]any{"order": int64(-10), "location": "<CallRule-Emergency>", "destination": "6493330001"}),
		f.route("lab.test", map[string]any{"order": int64(-1), "prefix_raw": "999", "destination": "111"}),
	}})
	return f
}

// TestRestrictions: each defect of the review as a call; every row but
// the "as before" and "E.164" ones failed before its fix.
func TestRestrictions(t *testing.T) {
	f := restrictFixture()
	noAnswer := func() *driver { return &driver{Simulation: routing.Simulation{NoAnswer: routing.ParseSet("*")}} }
	tests := []struct {
		name, from, dial string
		d                *driver
		want             string
	}{
		// 1. An emergency number is never a blast leg, nor forwarded to.
		{"blast leg to 111 is skipped", "free.test", "6493330010", noAnswer(), "unanswered"},
		{"blast group still rings its phones", "free.test", "6493330010", nil, "answered blast111@co.test"},
		{"stored cfna to 111 is refused", "free.test", "6493330006", noAnswer(), "dropped 403 Forbidden"},
		// 2. Own country code followed by 0 is no number.
		{"+640… is no number", "free.test", "+64014155550123", nil, "dropped 404 Invalid Number"},
		{"640… is no number", "free.test", "64014155550123", nil, "dropped 404 Invalid Number"},
		{"00640… is no number", "free.test", "0064014155550123", nil, "dropped 404 Invalid Number"},
		{"cfna to 640… is no number", "free.test", "6493330012", noAnswer(), "dropped 404 Invalid Number"},
		// 3. A company's block holds whatever the account's own rules say.
		{"own earlier rule does not lift the company's block", "t@co.test", "0061299998888", nil, "dropped 404 destination blocked"},
		{"nor for its forward", "free.test", "6493330011", noAnswer(), "dropped 404 destination blocked"},
		{"the account's own rules still run otherwise", "t@co.test", "091234567", nil, "external 6491234567"},
		// 4. A forward leg matched by a rule that routes elsewhere is refused.
		{"a dial is routed by the rule, as before", "nf@soft.test", "0061299998888", nil, "answered op@soft.test"},
		{"a forward leg the rule would route elsewhere is refused", "free.test", "6493330021", noAnswer(), "dropped 403 Forbidden"},
		// 6. Destinations are E.164 wherever they are written.
		{"route destination 3330099 is E.164, under the block", "free.test", "6493330013", nil, "dropped 404 destination blocked"},
		{"route destination 3330099 is E.164", "free.test", "6493330015", nil, "external 3330099"},
		{"cfa 3330099 is E.164", "free.test", "6493330014", nil, "external 3330099"},
		{"speed dial 3330099 is E.164", "local@free.test", "76", nil, "external 3330099"},
		{"dialed 3330099 is local", "local@free.test", "3330099", nil, "external 6493330099"},
		// 9. Only the short codes the provider lists leave.
		{"105 is listed", "open.test", "105", nil, "external 105"},
		{"1737 is listed", "open.test", "1737", nil, "external 1737"},
		{"100 is not", "open.test", "100", nil, "dropped 404 Not Found"},
		{"199 is not", "open.test", "199", nil, "dropped 404 Not Found"},
		{"111 always is", "open.test", "111", nil, "external 111"},
		{"a speed dial to 111 is the caller's emergency call", "open.test", "999", nil, "external 111"},
		{"the lab's 111 goes to its test desk", "lab.test", "111", nil, "answered rec@co.test"},
		{"so does its speed dial to 111", "lab.test", "999", nil, "answered rec@co.test"},
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
}

// TestExternalCallerIsNoAccount: a call from a carrier whose From names
// an account (its username or GUID) is an external call: it is never run
// as that account, so it cannot transit to an international number.
func TestExternalCallerIsNoAccount(t *testing.T) {
	f := restrictFixture()
	d := &driver{}
	d.Registered = func(*routing.Account) bool { return true }
	for _, from := range []string{"free.test", f.ids["free.test"], "open.test"} {
		tr := f.v.Decide(routing.Call{From: from, Dialed: "0061299998888", External: true, At: time.Now()}, d)
		if got := summary(tr.Outcome); got != "dropped 404 Not Found" {
			t.Errorf("external caller %s: %q, want dropped 404 Not Found\n%s", from, got, steps(tr))
		}
		if tr := f.v.Decide(routing.Call{From: from, Dialed: "6493330001", External: true, At: time.Now()}, d); tr.Outcome.Outcome != routing.Answered {
			t.Errorf("external caller %s to a DDI: %q, want answered\n%s", from, summary(tr.Outcome), steps(tr))
		}
	}
}
