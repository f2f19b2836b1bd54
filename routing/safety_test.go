package routing_test

import (
	"strings"
	"testing"

	"xc5/resource"
	"xc5/routing"
)

// shippedLocations loads the locations xc5 ships at first start.
func shippedLocations(f *fixture) {
	var recs []resource.Record
	for _, l := range resource.DefaultLocations {
		recs = append(recs, resource.Record{Values: l})
	}
	f.v.SetLocations(recs)
}

// safetyFixture is a company whose block on <CallRule-International> (the
// document's reception block, set on the company so its users cannot
// delete it) covers:
//
//	co.test                 blocks international at order -14
//	├── rec@co.test         6493330001, a:6493330099; concurrent_limit 1
//	├── fwd@co.test         6493330002 (cfa → 61299998888)
//	├── na@co.test          6493330003, cfna → 61299998888
//	├── route@co.test       6493330004, route order -1 → 0061299998888
//	├── blast@co.test       6493330005, forks 6493330001 and 61299998888
//	├── sos@co.test         6493330006, cfna → 111 (stored before the API refused it)
//	├── it@co.test          6493330009, country_code 39, cfna → 64061299998888
//	└── free.test           (another company, no international block; prefix_raw 1 refused)
//	    ├── us@free.test    6493330007, cfna → 14155550123
//	    └── bad@free.test   6493330008, route order -1 → 000061299998888
func safetyFixture() *fixture {
	f := newFixture()
	shippedLocations(f)
	for _, n := range []string{"co.test", "rec@co.test", "fwd@co.test", "na@co.test", "route@co.test", "blast@co.test", "sos@co.test", "it@co.test", "free.test", "off@co.test", "us@free.test", "bad@free.test"} {
		f.ids[n] = resource.NewGUID()
	}
	f.account("co.test", "", map[string]any{"area_code": "9"}, routing.Rules{
		CallRules: []resource.Record{
			f.route("co.test", map[string]any{"order": int64(-14), "location": "<CallRule-International>", "destination": "drop:404:destination blocked"}),
			f.route("co.test", map[string]any{"order": int64(-3), "prefix_raw": "1", "destination": "drop:403:no short codes"}),
			f.route("co.test", map[string]any{"order": int64(-2), "prefix_raw": "77", "destination": "61299998888"}), // a speed dial
			f.route("co.test", map[string]any{"order": int64(-2), "prefix_raw": "78", "destination": "0061%"}),       // a rewrite
		},
	})
	f.account("rec@co.test", "co.test", map[string]any{"concurrent_limit": int64(1)}, routing.Rules{Numbers: f.numbers("rec@co.test", "6493330001", "a:6493330099")})
	f.account("fwd@co.test", "co.test", nil, routing.Rules{Numbers: f.numbers("fwd@co.test", "6493330002>61299998888")})
	f.account("na@co.test", "co.test", map[string]any{"cfna_active": true, "cfna_dest": "61299998888"}, routing.Rules{Numbers: f.numbers("na@co.test", "6493330003")})
	f.account("route@co.test", "co.test", nil, routing.Rules{
		Numbers: f.numbers("route@co.test", "6493330004"),
		Routes:  []resource.Record{f.route("route@co.test", map[string]any{"order": int64(-1), "destination": "0061299998888"})},
	})
	f.account("blast@co.test", "co.test", nil, routing.Rules{
		Numbers: f.numbers("blast@co.test", "6493330005"),
		Forks: []resource.Record{
			f.route("blast@co.test", map[string]any{"destination": "6493330001"}),
			f.route("blast@co.test", map[string]any{"destination": "61299998888"}),
		},
	})
	f.account("sos@co.test", "co.test", map[string]any{"cfna_active": true, "cfna_dest": "111"}, routing.Rules{Numbers: f.numbers("sos@co.test", "6493330006")})
	f.account("off@co.test", "co.test", map[string]any{"enabled": false}, routing.Rules{})
	f.account("it@co.test", "co.test", map[string]any{"country_code": "39", "cfna_active": true, "cfna_dest": "64061299998888"}, routing.Rules{Numbers: f.numbers("it@co.test", "6493330009")})
	f.account("free.test", "", nil, routing.Rules{
		Numbers:   f.numbers("free.test", "111"), // a number nobody should hold
		CallRules: []resource.Record{f.route("free.test", map[string]any{"order": int64(-3), "prefix_raw": "1", "destination": "drop:403:no short codes"})},
	})
	f.account("bad@free.test", "free.test", nil, routing.Rules{
		Numbers: f.numbers("bad@free.test", "6493330008"),
		Routes:  []resource.Record{f.route("bad@free.test", map[string]any{"order": int64(-1), "destination": "000061299998888"})},
	})
	f.account("us@free.test", "free.test", map[string]any{"cfna_active": true, "cfna_dest": "14155550123"}, routing.Rules{Numbers: f.numbers("us@free.test", "6493330007")})
	return f
}

// TestShippedLocations matches every shipped location against numbers as
// dialed in New Zealand: a short code is in no location but Emergency,
// whatever prefix the dialed digits start with.
func TestShippedLocations(t *testing.T) {
	const (
		intl = "<CallRule-International>"
		nat  = "<CallRule-National>"
		mob  = "<CallRule-Mobile>"
		prem = "<CallRule-Premium>"
		sos  = "<CallRule-Emergency>"
		free = "<CallRule-Freephone>"
	)
	tests := []struct {
		dialed string
		in     []string
	}{
		{"111", []string{sos}},
		{"112", []string{sos}},
		{"0800123456", []string{nat, free}},
		{"0211234567", []string{mob}},
		{"091234567", []string{nat}},
		{"0900123456", []string{prem}},
		{"00114155550123", []string{intl}}, // 00 then +1 1…: North America
		{"0014155550123", []string{intl}},
		{"00 1 415 555 0123", []string{intl}},
		{"09 929-0089", []string{nat}},
		{"+14155550123", []string{intl}},
		{"0061299998888", []string{intl}},
		{"+6491234567", []string{nat}},
		{"6491234567", []string{nat}},
		{"1234567", []string{nat}}, // local, with area code 9
	}
	f := newFixture()
	shippedLocations(f)
	for _, tt := range tests {
		tr := routing.Translate(tt.dialed, "64", "9")
		if !tr.IsNumber() {
			t.Errorf("%s: translated to %+v, want a number", tt.dialed, tr)
			continue
		}
		var got []string
		for _, l := range resource.DefaultLocations {
			name := l["name"].(string)
			if f.v.LocationMatches(name, tr) {
				got = append(got, name)
			}
		}
		if strings.Join(got, " ") != strings.Join(tt.in, " ") {
			t.Errorf("%s (%s) is in %v, want %v", tt.dialed, tr.Number, got, tt.in)
		}
	}
}

// TestEmergencyAndBlocks: with the company's international block (and a
// raw-prefix block on 1…), reception reaches 111 and 112 but no
// international number; the emergency call ignores the concurrent_limit
// and never rings an on-net holder of 111.
func TestEmergencyAndBlocks(t *testing.T) {
	f := safetyFixture()
	atLimit := &driver{limited: map[string]bool{"rec@co.test": true}}
	tests := []struct {
		name, from, dial string
		d                *driver
		want             string
	}{
		{"111 goes out", "rec@co.test", "111", nil, "external 111"},
		{"112 goes out", "rec@co.test", "112", nil, "external 112"},
		{"emergency at the concurrent_limit", "rec@co.test", "111", atLimit, "external 111"},
		{"other calls at the limit are busy", "rec@co.test", "091234567", atLimit, "busy"},
		{"emergency is never delivered on-net", "free.test", "111", nil, "external 111"},
		{"disabled account is refused, emergency too", "off@co.test", "111", nil, "dropped 403 Forbidden"},
		{"0011… is international", "rec@co.test", "00114155550123", nil, "dropped 404 destination blocked"},
		{"001… is international", "rec@co.test", "0014155550123", nil, "dropped 404 destination blocked"},
		{"00 1… is international", "rec@co.test", "00 1 415 555 0123", nil, "dropped 404 destination blocked"},
		{"+1… is international", "rec@co.test", "+14155550123", nil, "dropped 404 destination blocked"},
		{"00 61 is international", "rec@co.test", "0061299998888", nil, "dropped 404 destination blocked"},
		{"0800 goes out", "rec@co.test", "0800123456", nil, "external 64800123456"},
		{"021 goes out", "rec@co.test", "0211234567", nil, "external 64211234567"},
		{"09 goes out", "rec@co.test", "091234567", nil, "external 6491234567"},
		{"other short codes follow the rules", "rec@co.test", "105", nil, "dropped 403 no short codes"},
		{"unblocked company reaches international", "free.test", "0061299998888", nil, "external 61299998888"},
		// Toll fraud: spellings that are no number never leave.
		{"+00 is no number", "rec@co.test", "+0061299998888", nil, "dropped 404 Invalid Number"},
		{"0000 is no number", "rec@co.test", "0000061299998888", nil, "dropped 404 Invalid Number"},
		{"+021 is no number", "rec@co.test", "+021555111", nil, "dropped 404 Invalid Number"},
		{"+00 from an unblocked company", "free.test", "+0061299998888", nil, "dropped 404 Invalid Number"},
		{"too long", "free.test", "+6112345678901234", nil, "dropped 404 Invalid Number"},
		{"too short", "free.test", "+64111", nil, "dropped 484 Address Incomplete"},
		{"national too short", "free.test", "021555", nil, "dropped 484 Address Incomplete"},
		// The system's country code then 0 is no number whatever the
		// caller's own numbering: a caller numbered +39 (where 390… is real)
		// must not reach 640… as a National call past the block.
		{"+640 from a caller numbered +39", "it@co.test", "+64061299998888", nil, "dropped 404 Invalid Number"},
		{"00640 from a caller numbered +39", "it@co.test", "0064061299998888", nil, "dropped 404 Invalid Number"},
		{"640 from a caller numbered +39 is no number", "it@co.test", "64061299998888", nil, "dropped 404 Not Found"},
		{"+390 is a real number for a caller numbered +39", "it@co.test", "+390612345678", nil, "dropped 404 destination blocked"},
		{"cfna to 640… from a forwarder numbered +39", "free.test", "6493330009", &driver{Simulation: routing.Simulation{NoAnswer: routing.ParseSet("*")}},
			"dropped 404 Invalid Number"},
		// Forwards, routes, blasts and speed dials are dialed by their owner.
		{"cfa to international", "free.test", "6493330002", nil, "dropped 404 destination blocked"},
		{"cfna to international", "free.test", "6493330003", &driver{Simulation: routing.Simulation{NoAnswer: routing.ParseSet("*")}},
			"dropped 404 destination blocked"},
		{"route destination to international", "free.test", "6493330004", nil, "dropped 404 destination blocked"},
		{"blast leg to international", "free.test", "6493330005", &driver{Simulation: routing.Simulation{NoAnswer: routing.ParseSet("*")}},
			"unanswered"},
		{"speed dial to international", "rec@co.test", "77", nil, "dropped 404 destination blocked"},
		{"rewrite to international", "rec@co.test", "78299998888", nil, "dropped 404 destination blocked"},
		{"prefix_raw rules see what is typed, not a forward's E.164 number", "6421555000", "6493330007", &driver{Simulation: routing.Simulation{NoAnswer: routing.ParseSet("*")}},
			"external 14155550123"},
		{"route destination that is no number", "free.test", "6493330008", nil, "dropped 404 Invalid Number"},
		{"cfna to 111 is refused", "free.test", "6493330006", &driver{Simulation: routing.Simulation{NoAnswer: routing.ParseSet("*")}},
			"dropped 403 Forbidden"},
	}
	g := golden(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := decide(f, tt.from, tt.dial, tt.d)
			g.check(t, tt.name, render(call(tt.from, tt.dial), tr))
			if got := summary(tr.Outcome); got != tt.want {
				t.Errorf("outcome %q, want %q\n%s", got, tt.want, steps(tr))
			}
			if emergency := strings.HasPrefix(tt.want, "external 11"); tr.Outcome.Emergency != emergency {
				t.Errorf("outcome marked emergency %v, want %v", tr.Outcome.Emergency, emergency)
			}
		})
	}
}

// TestEmergencyRule: a callrule naming <CallRule-Emergency> is the one
// rule that applies to an emergency call (a provider's lab sends 111 to a
// test desk).
func TestEmergencyRule(t *testing.T) {
	f := safetyFixture()
	f.ids["lab.test"] = resource.NewGUID()
	f.account("lab.test", "", nil, routing.Rules{CallRules: []resource.Record{
		f.route("lab.test", map[string]any{"order": int64(-20), "prefix_raw": "11", "destination": "drop:403:raw"}),
		f.route("lab.test", map[string]any{"order": int64(-10), "location": "<CallRule-Emergency>", "destination": "drop:403:no emergency from the lab"}),
	}})
	tr := decide(f, "lab.test", "112", nil)
	if got := summary(tr.Outcome); got != "dropped 403 no emergency from the lab" {
		t.Errorf("outcome %q, want the Emergency rule's drop\n%s", got, steps(tr))
	}
}

// TestPresentation: a phone presents one of its account's own numbers
// (an a: number too, in any spelling that translates to it); a number the
// account does not hold is replaced by the default.
func TestPresentationOffers(t *testing.T) {
	f := safetyFixture()
	rec := f.v.Account("rec@co.test")
	tests := []struct {
		offers []string
		want   string
	}{
		{nil, "6493330001"},
		{[]string{"6493330099"}, "6493330099"},
		{[]string{"+6493330099"}, "6493330099"},
		{[]string{"093330099"}, "6493330099"},
		{[]string{"3330099"}, "6493330099"},    // local, area code 9
		{[]string{"6493330002"}, "6493330001"}, // a colleague's
		{[]string{"rec", "6499999999", "6493330099"}, "6493330099"},
		{[]string{"+0064933300999"}, "6493330001"},
	}
	for _, tt := range tests {
		if got := f.v.Presentation(rec, tt.offers); got != tt.want {
			t.Errorf("offers %v: presented %s, want %s", tt.offers, got, tt.want)
		}
	}
	tr := f.v.Decide(routing.Call{From: "rec@co.test", Dialed: "091234567", Presents: []string{"6493330099"}}, &driver{})
	if !strings.Contains(steps(tr), "presented as 6493330099") {
		t.Errorf("trace does not show the presented a: number\n%s", steps(tr))
	}
}
