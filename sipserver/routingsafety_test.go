package sipserver

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/resource"
)

// TestCarrierCallerIsNoAccount: an INVITE from the trunk whose From user
// names one of our accounts (the company's username, a GUID, a POTS
// line's numeric username under _tel) is a
// carrier's call: it is not run as that account, so it cannot transit to
// an international number (404, as the no-transit rule says), and the
// carrier never receives it back.
func TestCarrierCallerIsNoAccount(t *testing.T) {
	x := newPBX(t, Config{})
	got := carrierTrunk(x)
	const co = "acmebrick.x.co.nz"
	x.put(resource.Hydra, "", "6499000111", `{"password":"Hydra-line-111"}`, resource.Upsert) // a _tel line: username 6499000111
	for _, from := range []string{co, x.ids[co], x.ids[sales], "6499000111"} {
		out := x.carrier(from).dial("0061299998888")
		if res := out.result(3 * time.Second); res.StatusCode != 404 {
			t.Errorf("From %s: %d %s, want 404", from, res.StatusCode, res.Reason)
			if res.StatusCode == 200 {
				out.hangup()
				<-got // the transit call the carrier received
			}
		}
		x.idle()
	}
	nothingReceived(t, got)
}

// TestEmergencyDialForms: 111 dialed as a phone may send it reaches the
// carrier as 111 with Priority: emergency, past a company's prefix_raw 1
// block: with a phone-context, as a tel: URI, and with the en-bloc
// sending key # after it (raw and escaped).
func TestEmergencyDialForms(t *testing.T) {
	x := newPBX(t, Config{})
	got := carrierTrunk(x)
	x.put(resource.CallRule, "acmebrick.x.co.nz", "", `{"order":-3,"prefix_raw":"1","destination":"drop:403:no short codes"}`, resource.Create)
	sal := x.phone(sales, salesPassword, "UDP")
	h, p, _ := net.SplitHostPort(x.srv.addr)
	port, _ := strconv.Atoi(p)
	var tel sip.Uri
	if err := sip.ParseUri("tel:111", &tel); err != nil {
		t.Fatal(err)
	}
	userPhone := sip.NewParams()
	userPhone.Add("user", "phone")
	for _, tt := range []struct {
		name string
		uri  sip.Uri
	}{
		{"phone-context", sip.Uri{Scheme: "sip", User: "111;phone-context=+64", Host: h, Port: port, UriParams: userPhone}},
		{"tel: URI", tel},
		{"trailing #", sip.Uri{Scheme: "sip", User: "111#", Host: h, Port: port}},
		{"trailing %23", sip.Uri{Scheme: "sip", User: "111%23", Host: h, Port: port}},
	} {
		out := sal.dialURI(tt.uri)
		out.answered(5 * time.Second)
		if in := received(t, got); in.req.Recipient.User != "111" || in.header("Priority") != "emergency" {
			t.Errorf("%s: the carrier received %s with Priority %q, want 111, emergency", tt.name, in.req.Recipient.String(), in.header("Priority"))
		}
		out.hangup()
		x.idle()
	}
	if res := sal.dial("105#").result(3 * time.Second); res.StatusCode != 403 {
		t.Errorf("105# under the prefix_raw 1 block: %d %s, want 403", res.StatusCode, res.Reason)
	}
	x.idle()
	nothingReceived(t, got)
}

// TestRestrictionsOverSIP: real calls for the review's defects: a
// company's block holds against its user's own earlier rule, and for that
// user's forward; a forward leg a company rule would send to its operator
// is refused; +640… is no number; only listed short codes leave.
func TestRestrictionsOverSIP(t *testing.T) {
	x := newPBX(t, Config{})
	got := carrierTrunk(x)
	const co = "acmebrick.x.co.nz"
	x.put(resource.CallRule, co, "", `{"order":-14,"location":"<CallRule-International>","destination":"drop:404:destination blocked"}`, resource.Create)
	x.put(resource.CallRule, sales, "", `{"order":-100,"location":"<CallRule-International>","destination":"%"}`, resource.Create)
	x.patch(sales, `{"cfna_active":true,"cfna_dest":"61299998888"}`)
	x.account("", `{"username":"soft.test"}`)
	x.account("soft.test", `{"username":"op@soft.test"}`)
	x.account("soft.test", `{"username":"nf@soft.test","cfna_active":true,"cfna_dest":"61299998888"}`)
	x.put(resource.Number, "nf@soft.test", "", `{"number":"6499290070"}`, resource.Create)
	x.put(resource.CallRule, "soft.test", "", `{"order":-10,"location":"<CallRule-International>","username":"op@soft.test"}`, resource.Create)
	sal := x.phone(sales, salesPassword, "UDP")
	caller := x.carrier("6421555000")
	for _, tt := range []struct {
		name, dial string
		from       *uaPhone
		code       int
		reason     string
	}{
		{"own earlier rule", "0061299998888", sal, 404, "destination blocked"},
		{"own forward", "6499290089", caller, 404, "destination blocked"},
		{"forward the company routes to its operator", "6499290070", caller, 403, "Forbidden"},
		{"+640…", "+64014155550123", sal, 404, "Invalid Number"},
		{"640…", "64014155550123", sal, 404, "Invalid Number"},
		{"unlisted short code", "100", sal, 404, "Not Found"},
	} {
		if res := tt.from.dial(tt.dial).result(6 * time.Second); res.StatusCode != tt.code || res.Reason != tt.reason {
			t.Errorf("%s (%s): %d %s, want %d %s", tt.name, tt.dial, res.StatusCode, res.Reason, tt.code, tt.reason)
		}
		x.idle()
	}
	nothingReceived(t, got)
	out := sal.dial("105")
	out.answered(5 * time.Second)
	if in := received(t, got); in.req.Recipient.User != "105" || in.header("Priority") != "" {
		t.Errorf("105: the carrier received %s with Priority %q, want 105 without", in.req.Recipient.String(), in.header("Priority"))
	}
	out.hangup()
	x.idle()
}

// TestBlastLegNeverDialsEmergency: a blast group holding 111 as a fork
// (stored before the API refused it) rings its phones only: the carrier
// never receives an INVITE to 111 with the phones, on every call.
func TestBlastLegNeverDialsEmergency(t *testing.T) {
	x := newPBX(t, Config{})
	got := carrierTrunk(x)
	// Straight into the store, as data written before the check: the API
	// (resource.Decode) refuses it.
	if _, _, err := x.store.Put(context.Background(), "", resource.Fork, "blast@acmebrick.x.co.nz", "", resource.Input{"destination": "111"}, resource.Create); err != nil {
		t.Fatal(err)
	}
	rec := x.phone(reception, password, "UDP")
	out := x.carrier("6421555000").dial("6499290088")
	in := rec.next(2 * time.Second)
	in.answer()
	out.answered(5 * time.Second)
	out.hangup()
	x.idle()
	nothingReceived(t, got)
}
