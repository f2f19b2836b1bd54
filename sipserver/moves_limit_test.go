package sipserver

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/poll"
)

// salesBusyAtLimit gives sales concurrent_limit 1 and one call in
// progress (a carrier's caller on sales' DDI), and returns that call.
func (x *pbx) salesBusyAtLimit(sal *uaPhone) *outbound {
	x.t.Helper()
	x.patch(sales, `{"concurrent_limit":1}`)
	poll.Until(x.t, 5*time.Second, "sales' concurrent_limit in the view", func() bool {
		return x.view.Account(sales).ConcurrentLimit == 1
	})
	car2, _ := x.mediaPhone("", "")
	car2.number = "6421555001"
	out2 := car2.dial("6499290089")
	sin := sal.next(5 * time.Second)
	if err := sin.answer(); err != nil {
		x.t.Fatal(err)
	}
	out2.answered(5 * time.Second)
	if n := x.srv.ActiveCalls(x.ids[sales]); n != 1 {
		x.t.Fatalf("sales active: %d", n)
	}
	return out2
}

// TestRetrieveRespectsConcurrentLimit: sales, at its
// concurrent_limit of 1, dials *701: a retrieval is a call of sales like
// any other and must be refused, not take sales to 2 active calls.
func TestRetrieveRespectsConcurrentLimit(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, _ := x.mediaPhone(sales, salesPassword)
	busy := x.salesBusyAtLimit(sal)
	a := x.answeredCall()
	if res := a.in.refer(t, "*70"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER *70: %d %s", res.StatusCode, res.Reason)
	}
	a.car.reinvited(t, 5*time.Second)
	a.rec.notified(t, "SIP/2.0 200 Parked *701", 10*time.Second)
	res := sal.dial("*701").result(5 * time.Second)
	if res.StatusCode < 400 {
		t.Errorf("sales at its concurrent_limit retrieved a parked call: %d %s; sales active: %d",
			res.StatusCode, res.Reason, x.srv.ActiveCalls(x.ids[sales]))
	}
	a.out.hangup()
	busy.hangup()
	x.idle()
}

// TestReplacesRespectsConcurrentLimit: likewise for an INVITE with
// Replaces taking over reception's call.
func TestReplacesRespectsConcurrentLimit(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, _ := x.mediaPhone(sales, salesPassword)
	busy := x.salesBusyAtLimit(sal)
	a := x.answeredCall()
	xc5Tag, _ := a.in.req.From().Params.Get("tag")
	recTag, _ := a.in.dlg.InviteResponse.To().Params.Get("tag")
	replaces := a.in.req.CallID().Value() + ";to-tag=" + recTag + ";from-tag=" + xc5Tag
	res := sal.dial("6491231234", sip.NewHeader("Replaces", replaces)).result(5 * time.Second)
	if res.StatusCode < 400 {
		t.Errorf("sales at its concurrent_limit took over a call with Replaces: %d %s; sales active: %d",
			res.StatusCode, res.Reason, x.srv.ActiveCalls(x.ids[sales]))
	}
	a.out.hangup()
	busy.hangup()
	x.idle()
}
