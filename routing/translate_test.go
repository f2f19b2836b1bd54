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
		"0211234567", "091234567", "0800123456", "00114155550123", "+14155550123", "1234567", "600", "*8", "", "+", "00", "0", "+64014155550123", "64014155550123", "1737"} {
		f.Add(s)
	}
	fx := newFixture()
	shippedLocations(fx)
	f.Fuzz(func(t *testing.T, dialed string) {
		tr := routing.Translate(dialed, "64", "9")
		switch tr.Kind {
		case routing.E164:
			n := tr.Number
			if n == "" || n[0] == '0' || len(n) < 7 || len(n) > 15 || strings.Trim(n, "0123456789") != "" || strings.HasPrefix(n, "640") {
				t.Fatalf("%q: %q is no valid E.164 number", dialed, n)
			}
			if !strings.HasPrefix(n, "64") && !fx.v.LocationMatches("<CallRule-International>", tr) {
				t.Fatalf("%q: %s is outside New Zealand but not in <CallRule-International>", dialed, n)
			}
			if strings.HasPrefix(n, "64") && fx.v.LocationMatches("<CallRule-International>", tr) {
				t.Fatalf("%q: %s is a New Zealand number in <CallRule-International>", dialed, n)
			}
		case routing.ShortCode:
			if (len(tr.Number) != 3 && len(tr.Number) != 4) || tr.Number[0] != '1' || strings.Trim(tr.Number, "0123456789") != "" {
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

// FuzzBlockedCaller: whatever an account under its company's
// international block dials (rec@co.test, and t@co.test, whose own
// earlier rule tries to lift the block), a call that leaves over a carrier
// is an emergency call (111, 112), a short code the shipped
// <CallRule-ShortCodes> lists (105, 1737: the company's prefix_raw 1 block
// is on the raw string, which " 105" passes, as docs/routing.md says) or
// a New Zealand number: 64 followed by a national number, which never
// starts with 0.
func FuzzBlockedCaller(f *testing.F) {
	for _, s := range []string{"111", "+0061299998888", "0000061299998888", "+021555111", "77", "78299998888", "0014155550123", "6493330002",
		"+64014155550123", "64014155550123", "0061299998888", "105"} {
		f.Add(s)
	}
	fx := restrictFixture()
	f.Fuzz(func(t *testing.T, dialed string) {
		for _, from := range []string{"rec@co.test", "t@co.test"} {
			tr := decide(fx, from, dialed, &driver{})
			if tr.Outcome.Outcome != routing.External {
				continue
			}
			if last := tr.Steps[len(tr.Steps)-1]; !strings.HasSuffix(last.Account, "@co.test") {
				continue // a call to another company's DDI that it forwards: its own rules
			}
			n := tr.Outcome.Number
			if n == "111" || n == "112" || n == "105" || n == "1737" {
				continue
			}
			x := routing.Translate("+"+n, "64", "")
			if x.Kind != routing.E164 || x.Number != n || !strings.HasPrefix(n, "64") || strings.HasPrefix(n, "640") {
				t.Fatalf("%s dialed %q: left for %q\n%s", from, dialed, n, steps(tr))
			}
		}
	})
}
