package sipserver

import (
	"net/url"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/poll"
)

// TestJoinTwoAnsweredCalls: reception answered two calls (a
// carrier's caller, and sales calling 600) and joins them with a REFER
// with Replaces naming its dialog of sales' call: the caller and sales
// talk, nobody but reception is hung up, everything is freed at the end.
func TestJoinTwoAnsweredCalls(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, sep := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	sout := sal.dial("600")
	sin := a.rec.next(5 * time.Second)
	if err := sin.answer(); err != nil {
		t.Fatal(err)
	}
	sres := sout.answered(5 * time.Second)
	d := sin.dlg
	xc5Tag, _ := d.InviteRequest.From().Params.Get("tag")
	recTag, _ := d.InviteResponse.To().Params.Get("tag")
	replaces := url.QueryEscape(d.InviteRequest.CallID().Value() + ";to-tag=" + recTag + ";from-tag=" + xc5Tag)
	res := a.in.referTo(t, "<sip:sales@"+x.srv.addr+"?Replaces="+replaces+">")
	if res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER with Replaces: %d %s", res.StatusCode, res.Reason)
	}
	a.rec.notified(t, "SIP/2.0 200", 5*time.Second)
	toSales := sdpAddr(t, sres.Body())
	select {
	case r := <-sal.reinvites:
		toSales = sdpAddr(t, r.Body())
	case <-time.After(5 * time.Second):
		t.Fatal("sales was not re-INVITEd to the kept call")
	}
	poll.Until(t, 5*time.Second, "reception's two dialogs hung up", func() bool { return a.rec.count("BYE") == 2 })
	time.Sleep(500 * time.Millisecond)
	if sal.count("BYE") != 0 || a.car.count("BYE") != 0 {
		t.Fatalf("a party of the joined call was hung up: sales %d, caller %d BYE", sal.count("BYE"), a.car.count("BYE"))
	}
	toCaller := a.toCaller
	select {
	case r := <-a.car.reinvites: // the caller's media anchored for the join
		toCaller = sdpAddr(t, r.Body())
	default:
	}
	hearEachOther(t, "after the join", a.cep, toCaller, 1000, sep, toSales, 600)
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	if !sal.saw("BYE", 3*time.Second) {
		t.Error("the caller's BYE did not reach sales")
	}
	x.released("join")
}
