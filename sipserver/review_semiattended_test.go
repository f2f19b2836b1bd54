package sipserver

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestReviewSemiAttendedTransfer: reception holds the caller, dials sales
// (608) and, while sales still rings, completes the transfer (REFER with
// Replaces naming the ringing consultation: the "semi-attended" transfer
// of Yealink, Polycom, Snom phones, RFC 5589 §7.3). The caller must end
// up with sales when sales answers; refusing it leaves the caller on hold.
func TestReviewSemiAttendedTransfer(t *testing.T) {
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
		t.Errorf("REFER with Replaces of a ringing consultation: %d %s, want 202", res.StatusCode, res.Reason)
	}
	sin.answer()
	time.Sleep(time.Second)
	a.out.hangup()
	consult.hangup()
	x.idle()
}
