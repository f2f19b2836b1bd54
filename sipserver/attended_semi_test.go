package sipserver

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestSemiAttendedTransfer: reception holds the caller, dials sales
// (608) and, while sales still rings, completes the transfer (REFER with
// Replaces naming the ringing consultation: the "semi-attended" transfer
// of Yealink, Polycom, Snom phones, RFC 5589 §7.3). The caller must end
// up with sales when sales answers; refusing it leaves the caller on hold.
// xc5 ends the consultation (487) and blind transfers the caller to what
// reception dialed in it.
func TestSemiAttendedTransfer(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, _ := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	if res := a.in.reinvite(t, strings.Replace(a.rec.sdp, "sendrecv", "sendonly", 1)); res.StatusCode != 200 {
		t.Fatalf("hold: %d", res.StatusCode)
	}
	a.car.reinvited(t, 5*time.Second)
	consult := a.rec.dial("608")
	sin := sal.next(5 * time.Second)
	sin.ring()
	prov := consult.ringing(t)
	fromTag, _ := consult.dlg.InviteRequest.From().Params.Get("tag")
	toTag, _ := prov.To().Params.Get("tag")
	replaces := url.QueryEscape(consult.dlg.InviteRequest.CallID().Value() + ";to-tag=" + toTag + ";from-tag=" + fromTag + ";early-only")
	res := a.in.referTo(t, "<sip:608@"+x.srv.addr+"?Replaces="+replaces+">")
	if res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER with Replaces of a ringing consultation: %d %s, want 202", res.StatusCode, res.Reason)
	}
	// The consultation ends and sales rings again, for the caller.
	if !sin.cancelled(5 * time.Second) {
		t.Error("the consultation still rings sales")
	}
	if r := consult.result(5 * time.Second); r == nil || r.StatusCode != sip.StatusRequestTerminated {
		t.Errorf("reception's consultation: %v, want 487", r)
	}
	in := sal.next(5 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	a.rec.notified(t, "SIP/2.0 200", 5*time.Second)
	if !a.rec.saw("BYE", 5*time.Second) {
		t.Error("reception was not hung up after the transfer")
	}
	if a.car.count("BYE") != 0 {
		t.Error("the caller was hung up")
	}
	a.out.hangup()
	if !sal.saw("BYE", 5*time.Second) {
		t.Error("the caller's BYE did not reach sales: they were not bridged")
	}
	x.released("semi-attended transfer")
}
