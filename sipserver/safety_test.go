package sipserver

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/resource"
)

// carrierTrunk starts a carrier that receives xc5's external calls over
// the trunk, answering each, and returns the INVITEs it receives.
func carrierTrunk(x *pbx) <-chan *inbound {
	car := newUAPhone(x.t, x.srv.addr, "UDP", "", "")
	x.trunk(car.addr, "", "")
	got := make(chan *inbound, 8)
	car.behave(func(in *inbound) {
		got <- in
		in.answer()
	})
	return got
}

// received waits for the carrier's next INVITE.
func received(t *testing.T, got <-chan *inbound) *inbound {
	t.Helper()
	select {
	case in := <-got:
		return in
	case <-time.After(5 * time.Second):
		t.Fatal("the carrier received no INVITE")
		return nil
	}
}

// nothingReceived fails when the carrier received an INVITE.
func nothingReceived(t *testing.T, got <-chan *inbound) {
	t.Helper()
	select {
	case in := <-got:
		t.Fatalf("the carrier received %s", in.req.Recipient.String())
	default:
	}
}

// TestEmergencyPassesBlocks: reception, under the document's
// <CallRule-International> block and at its concurrent_limit of 1 (a 111
// call up), dials 112 and the carrier receives both; another call is busy,
// and an international number is refused and never reaches the carrier.
func TestEmergencyPassesBlocks(t *testing.T) {
	x := newPBX(t, Config{})
	got := carrierTrunk(x)
	x.patch(reception, `{"concurrent_limit":1}`)
	rec := x.phone(reception, password, "UDP")
	var up []*outbound
	for _, num := range []string{"111", "112"} {
		out := rec.dial(num)
		out.answered(5 * time.Second)
		if in := received(t, got); in.req.Recipient.User != num || in.header("Priority") != "emergency" {
			t.Errorf("the carrier received %s with Priority %q, want %s, emergency", in.req.Recipient.String(), in.header("Priority"), num)
		}
		up = append(up, out)
	}
	if res := rec.dial("091234567").result(3 * time.Second); res.StatusCode != 486 {
		t.Errorf("a national call at the concurrent_limit: %d %s, want 486", res.StatusCode, res.Reason)
	}
	for _, out := range up {
		out.hangup()
	}
	x.idle()
	if res := rec.dial("0061298765432").result(3 * time.Second); res.StatusCode != 404 || res.Reason != "destination blocked" {
		t.Errorf("international: %d %s, want 404 destination blocked", res.StatusCode, res.Reason)
	}
	x.idle()
	nothingReceived(t, got)
}

// TestTollFraudSpellings: spellings that are no valid number are refused
// with 404 or 484 and never leave over the carrier, from an account that
// may call abroad.
func TestTollFraudSpellings(t *testing.T) {
	x := newPBX(t, Config{})
	got := carrierTrunk(x)
	sal := x.phone(sales, salesPassword, "UDP")
	for _, tt := range []struct {
		dial   string
		code   int
		reason string
	}{
		{"+0061299998888", 404, "Invalid Number"},
		{"0000061299998888", 404, "Invalid Number"},
		{"+021555111", 404, "Invalid Number"},
		{"+64111", 484, "Address Incomplete"},
	} {
		if res := sal.dial(tt.dial).result(3 * time.Second); res.StatusCode != tt.code || res.Reason != tt.reason {
			t.Errorf("%s: %d %s, want %d %s", tt.dial, res.StatusCode, res.Reason, tt.code, tt.reason)
		}
	}
	x.idle()
	nothingReceived(t, got)
}

// TestForwardObeysBlock: reception cannot call abroad, so its call-forward
// no-answer to an international number is blocked when a carrier caller
// calls its DDI; the same forward to a national number goes out.
func TestForwardObeysBlock(t *testing.T) {
	x := newPBX(t, Config{})
	got := carrierTrunk(x)
	caller := x.carrier("6421555000")
	x.patch(reception, `{"cfna_active":true,"cfna_dest":"6441234567"}`)
	out := caller.dial("6491231234")
	out.answered(5 * time.Second)
	if in := received(t, got); in.req.Recipient.User != "6441234567" {
		t.Errorf("national forward reached the carrier as %s", in.req.Recipient.String())
	}
	out.hangup()
	x.idle()
	x.patch(reception, `{"cfna_dest":"61299998888"}`)
	if res := caller.dial("6491231234").result(5 * time.Second); res.StatusCode != 404 || res.Reason != "destination blocked" {
		t.Errorf("international forward: %d %s, want 404 destination blocked", res.StatusCode, res.Reason)
	}
	x.idle()
	nothingReceived(t, got)
}

// TestPresentsOwnNumber: a phone presenting one of its account's a:
// numbers (in P-Preferred-Identity, or as its From user) is shown to the
// carrier with it; a number the account does not hold is replaced by the
// account's own first number.
func TestPresentsOwnNumber(t *testing.T) {
	x := newPBX(t, Config{})
	got := carrierTrunk(x)
	x.put(resource.Number, sales, "", `{"number":"a:6499290099"}`, resource.Create)
	sal := x.phone(sales, salesPassword, "UDP")
	for _, tt := range []struct {
		name  string
		hdrs  []sip.Header
		shown string
	}{
		{"a: number in P-Preferred-Identity", []sip.Header{sip.NewHeader("P-Preferred-Identity", "<sip:+6499290099@acmebrick.x.co.nz>")}, "6499290099"},
		{"a: number nationally as tel:", []sip.Header{sip.NewHeader("P-Asserted-Identity", "<tel:09-929-0099>")}, "6499290099"},
		{"another company's number", []sip.Header{sip.NewHeader("P-Preferred-Identity", "<sip:6421555000@acmebrick.x.co.nz>")}, "6499290089"},
		{"a colleague's number", []sip.Header{sip.NewHeader("P-Asserted-Identity", "<sip:6491231234@acmebrick.x.co.nz>")}, "6499290089"},
		{"nothing offered", nil, "6499290089"},
	} {
		out := sal.dial("0211234567", tt.hdrs...)
		out.answered(5 * time.Second)
		in := received(t, got)
		if in.header("Priority") != "" {
			t.Errorf("%s: an ordinary call has Priority %q", tt.name, in.header("Priority"))
		}
		if in.req.From().Address.User != tt.shown || !strings.Contains(in.header("P-Asserted-Identity"), tt.shown) {
			t.Errorf("%s: carrier saw From %s PAI %q, want %s", tt.name, in.req.From().Value(), in.header("P-Asserted-Identity"), tt.shown)
		}
		out.hangup()
		x.idle()
	}
}

// TestBlastLegObeysBlock: a blast group's external leg is subject to the
// callrules of the account that owns the fork: under the company's
// international block the carrier never receives the international leg,
// while the national one rings there.
func TestBlastLegObeysBlock(t *testing.T) {
	x := newPBX(t, Config{})
	got := carrierTrunk(x)
	x.put(resource.CallRule, "acmebrick.x.co.nz", "", `{"order":-14,"location":"<CallRule-International>","destination":"drop:404:destination blocked"}`, resource.Create)
	x.put(resource.Fork, "blast@acmebrick.x.co.nz", "", `{"destination":"61299998888"}`, resource.Create)
	x.put(resource.Fork, "blast@acmebrick.x.co.nz", "", `{"destination":"6441234567"}`, resource.Create)
	caller := x.carrier("6421555000")
	out := caller.dial("6499290088")
	out.answered(5 * time.Second)
	if in := received(t, got); in.req.Recipient.User != "6441234567" {
		t.Errorf("the carrier received %s, want the national leg 6441234567", in.req.Recipient.String())
	}
	out.hangup()
	x.idle()
	nothingReceived(t, got)
}
