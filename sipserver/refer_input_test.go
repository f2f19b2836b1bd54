package sipserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestReferSpellingsOfBlockedNumber: every spelling of an
// international number reception's -14 callrule blocks must be refused on
// the REFER (4xx, never a call to the carrier), as the plain 0061… is.
func TestReferSpellingsOfBlockedNumber(t *testing.T) {
	for i, referTo := range []string{
		"<sip:0061298765432@other.example>",
		"sip:0061298765432@other.example",
		"<sip:+61298765432@other.example>",
		"<tel:+61298765432>",
		"<tel:0061298765432>",
		"<sip:0061298765432@other.example;user=phone>",
		"<sip:+61298765432;phone-context=+64@other.example;user=phone>",
		"<sip:%30%30%361298765432@other.example>",
		"<sips:0061298765432@other.example>",
		"<sip:0061298765432%23@other.example>",
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			x := newMediaPBX(t, Config{})
			dest := x.carrier("")
			x.trunk(dest.addr, "", "")
			a := x.answeredCall()
			res := a.in.referTo(t, referTo)
			if res.StatusCode < 400 || res.StatusCode > 499 {
				t.Errorf("REFER to %s: %d %s, want a 4xx refusal", referTo, res.StatusCode, res.Reason)
			}
			select {
			case in := <-dest.calls:
				t.Errorf("REFER to %s placed a call to the carrier: %s", referTo, in.req.Recipient.String())
				in.reject(486, "Busy Here")
			case <-time.After(2 * time.Second):
			}
			a.out.hangup()
			x.idle()
		})
	}
}

// TestReferBadInput: REFERs that cannot be carried out are refused
// with a 4xx (never 5xx, never a hang), and the call goes on as it was.
func TestReferBadInput(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	a := x.answeredCall()
	cases := []struct{ name, referTo string }{
		{"empty", ""},
		{"mailto", "<mailto:boss@acmebrick.x.co.nz>"},
		{"http", "<http://example.com/>"},
		{"no user", "<sip:" + x.srv.addr + ">"},
		{"unknown Replaces", "<sip:608@" + x.srv.addr + "?Replaces=nosuchcall%3Bto-tag%3Da%3Bfrom-tag%3Db>"},
		{"bad Replaces escape", "<sip:608@" + x.srv.addr + "?Replaces=%zz>"},
		{"Replaces of its own dialog", ""},
	}
	xc5Tag, _ := a.in.req.From().Params.Get("tag")
	recTag, _ := a.in.dlg.InviteResponse.To().Params.Get("tag")
	own := a.in.req.CallID().Value() + "%3Bto-tag%3D" + recTag + "%3Bfrom-tag%3D" + xc5Tag
	cases[len(cases)-1].referTo = "<sip:608@" + x.srv.addr + "?Replaces=" + own + ">"
	for _, c := range cases {
		t.Logf("REFER %s", c.name)
		res := a.in.referTo(t, c.referTo)
		if res.StatusCode < 400 || res.StatusCode > 499 {
			t.Errorf("REFER %s (%q): %d %s, want 4xx", c.name, c.referTo, res.StatusCode, res.Reason)
		}
	}
	// No Refer-To header at all.
	req := sip.NewRequest(sip.REFER, a.in.dlg.InviteRequest.Contact().Address)
	res := doInDialog(t, a.in, req)
	if res.StatusCode < 400 || res.StatusCode > 499 {
		t.Errorf("REFER without Refer-To: %d %s", res.StatusCode, res.Reason)
	}
	hearEachOther(t, "after the refused REFERs", a.cep, a.toCaller, 1000, a.rep, a.toAnswerer, 400)
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
}

// doInDialog sends req in the callee's dialog and returns xc5's answer.
func doInDialog(t testing.TB, in *inbound, req *sip.Request) *sip.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := in.dlg.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// TestReferUnparseableReferTo: a REFER whose Refer-To cannot be parsed
// at all is answered 400 at once (sipgo's own parser would drop the whole
// message, leaving the phone to retransmit until its transaction times
// out; lenientHeaders keeps Refer-To unparsed for referTarget).
func TestReferUnparseableReferTo(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	a := x.answeredCall()
	req := sip.NewRequest(sip.REFER, a.in.dlg.InviteRequest.Contact().Address)
	req.AppendHeader(sip.NewHeader("Refer-To", "<<<>>>"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := a.in.dlg.Do(ctx, req)
	if err != nil {
		t.Errorf("REFER with Refer-To <<<>>>: no answer within 5 s (%v), want 400", err)
	} else if res.StatusCode != sip.StatusBadRequest {
		t.Errorf("REFER with Refer-To <<<>>>: %d %s, want 400", res.StatusCode, res.Reason)
	}
	a.out.hangup()
	x.idle()
}
