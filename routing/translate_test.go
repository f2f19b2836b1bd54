package routing_test

import (
	"strings"
	"testing"

	"xc5/routing"
)

// FuzzTranslate: whatever is dialed, translation yields a valid E.164
// number, a 1xx short code, no number, or a refusal with a SIP status and
// a reason; and every E.164 number outside New Zealand is in the shipped
// <CallRule-International>, so no spelling gets past its block.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{"111", "112", "+0061299998888", "0000061299998888", "+021555111", "0061299998888",
		"0211234567", "091234567", "0800123456", "00114155550123", "+14155550123", "1234567", "600", "*8", "", "+", "00", "0"} {
		f.Add(s)
	}
	fx := newFixture()
	shippedLocations(fx)
	f.Fuzz(func(t *testing.T, dialed string) {
		tr := routing.Translate(dialed, "64", "9")
		switch tr.Kind {
		case routing.E164:
			n := tr.Number
			if n == "" || n[0] == '0' || len(n) < 7 || len(n) > 15 || strings.Trim(n, "0123456789") != "" {
				t.Fatalf("%q: %q is no valid E.164 number", dialed, n)
			}
			if !strings.HasPrefix(n, "64") && !fx.v.LocationMatches("<CallRule-International>", tr) {
				t.Fatalf("%q: %s is outside New Zealand but not in <CallRule-International>", dialed, n)
			}
			if strings.HasPrefix(n, "64") && fx.v.LocationMatches("<CallRule-International>", tr) {
				t.Fatalf("%q: %s is a New Zealand number in <CallRule-International>", dialed, n)
			}
		case routing.ShortCode:
			if len(tr.Number) != 3 || tr.Number[0] != '1' || strings.Trim(tr.Number, "0123456789") != "" {
				t.Fatalf("%q: %q is no known short code", dialed, tr.Number)
			}
		case routing.Invalid:
			if (tr.Code != 404 && tr.Code != 484) || tr.Reason == "" || tr.Why == "" {
				t.Fatalf("%q: refused without a status and reason: %+v", dialed, tr)
			}
		case routing.NotNumber:
			if tr.Number != "" {
				t.Fatalf("%q: no number but %q", dialed, tr.Number)
			}
		default:
			t.Fatalf("%q: unknown kind %d", dialed, tr.Kind)
		}
	})
}

// FuzzBlockedCaller: whatever an account under the international block
// dials, a call that leaves over a carrier never leaves for a number
// outside New Zealand, and is either E.164 or a short code.
func FuzzBlockedCaller(f *testing.F) {
	for _, s := range []string{"111", "+0061299998888", "0000061299998888", "+021555111", "77", "78299998888", "0014155550123", "6493330002"} {
		f.Add(s)
	}
	fx := safetyFixture()
	f.Fuzz(func(t *testing.T, dialed string) {
		tr := decide(fx, "rec@co.test", dialed, &driver{})
		if tr.Outcome.Outcome != routing.External {
			return
		}
		n := tr.Outcome.Number
		if len(n) == 3 && n[0] == '1' {
			return
		}
		x := routing.Translate("+"+n, "64", "")
		if x.Kind != routing.E164 || x.Number != n || !strings.HasPrefix(n, "64") {
			t.Fatalf("%q left for %q\n%s", dialed, n, steps(tr))
		}
	})
}
