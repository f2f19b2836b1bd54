package sipserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/poll"
	"xc5/resource"
)

// TestTransferReleasesTransferorCount: after a blind transfer the
// transferor (reception) has left the call; it must no longer count as
// active against its concurrent_limit while the caller talks to sales.
func TestTransferReleasesTransferorCount(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, _ := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	if n := x.srv.ActiveCalls(x.ids[reception]); n != 1 {
		t.Fatalf("reception active before the transfer: %d", n)
	}
	if res := a.in.refer(t, "608"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	a.car.reinvited(t, 5*time.Second)
	sin := sal.next(5 * time.Second)
	if err := sin.answer(); err != nil {
		t.Fatal(err)
	}
	a.rec.notified(t, "SIP/2.0 200", 5*time.Second)
	if !a.rec.saw("BYE", 5*time.Second) {
		t.Fatal("reception was not hung up after the transfer")
	}
	time.Sleep(500 * time.Millisecond)
	if n := x.srv.ActiveCalls(x.ids[reception]); n != 0 {
		t.Errorf("reception left the call but still counts %d active call(s) (concurrent_limit)", n)
	}
	if n := x.srv.ActiveCalls(x.ids[sales]); n != 1 {
		t.Errorf("sales talks to the caller but counts %d active call(s)", n)
	}
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
}

// TestParkReleasesParkerCount: a parked call is not the parker's
// call any more; while it waits in its slot the parker must not count it.
func TestParkReleasesParkerCount(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	a := x.answeredCall()
	if res := a.in.refer(t, "*70"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER *70: %d %s", res.StatusCode, res.Reason)
	}
	a.car.reinvited(t, 5*time.Second)
	a.rec.notified(t, "SIP/2.0 200 Parked *701", 10*time.Second)
	if !a.rec.saw("BYE", 5*time.Second) {
		t.Fatal("the parker was not hung up")
	}
	time.Sleep(500 * time.Millisecond)
	if n := x.srv.ActiveCalls(x.ids[reception]); n != 0 {
		t.Errorf("reception parked the call and left but still counts %d active call(s)", n)
	}
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
	poll.Until(t, 5*time.Second, "relay sessions freed", func() bool { return x.srv.cfg.Relay.Stats().Sessions == 0 })
}

// TestTransferToExternalBilledToTransferor: reception blind
// transfers a carrier's caller to an external number (allowed by its
// rules). The issue: the call continues "as if it had dialed it from the
// transferor's account", so reception must be charged: an "out" CDR to
// the external number on reception's account.
func TestTransferToExternalBilledToTransferor(t *testing.T) {
	x := newMediaPBX(t, Config{})
	dest, _ := x.mediaPhone("", "")
	x.trunk(dest.addr, "", "")
	a := x.answeredCall()
	if res := a.in.refer(t, "0211234567"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	a.car.reinvited(t, 5*time.Second)
	din := dest.next(5 * time.Second)
	if err := din.answer(); err != nil {
		t.Fatal(err)
	}
	a.rec.notified(t, "SIP/2.0 200", 5*time.Second)
	time.Sleep(1100 * time.Millisecond)
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
	time.Sleep(500 * time.Millisecond)
	recs := x.cdrsQuiet(reception)
	var out map[string]any
	for _, r := range recs {
		if r["direction"] == "out" && strings.Contains(r["to"].(string), "0211234567") {
			out = r
		}
	}
	if out == nil {
		t.Errorf("no 'out' CDR to 0211234567 on the transferor's account; reception's CDRs: %v", recs)
	}
}

// cdrsQuiet lists an account's CDRs now, without waiting for a count.
func (x *pbx) cdrsQuiet(username string) []map[string]any {
	var out []map[string]any
	err := x.store.List(context.Background(), "", resource.CDR, resource.Query{Parent: x.ids[username]}, func(r resource.Record) error {
		out = append(out, r.Values)
		return nil
	})
	if err != nil {
		x.t.Fatal(err)
	}
	return out
}

// TestTransferOfColleagueToExternalBilledToTransferor: sales calls
// reception on 600 and reception blind transfers sales to an external
// number. The external call is reception's doing, on reception's rules:
// it must be charged to reception, not to sales (the transferee).
func TestTransferOfColleagueToExternalBilledToTransferor(t *testing.T) {
	x := newMediaPBX(t, Config{})
	dest, _ := x.mediaPhone("", "")
	x.trunk(dest.addr, "", "")
	rec, _ := x.mediaPhone(reception, password)
	sal, _ := x.mediaPhone(sales, salesPassword)
	out := sal.dial("600")
	in := rec.next(5 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	out.answered(5 * time.Second)
	if res := in.refer(t, "0211234567"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	din := dest.next(5 * time.Second)
	if err := din.answer(); err != nil {
		t.Fatal(err)
	}
	rec.notified(t, "SIP/2.0 200", 5*time.Second)
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
	time.Sleep(500 * time.Millisecond)
	for _, r := range x.cdrsQuiet(sales) {
		if r["direction"] == "out" && r["answered_by"] != nil && strings.Contains(r["answered_by"].(string), "211234567") {
			t.Errorf("the external leg reception set up is charged to sales (the transferee): %v", r)
		}
	}
	found := false
	for _, r := range x.cdrsQuiet(reception) {
		if r["direction"] == "out" && strings.Contains(r["to"].(string), "0211234567") {
			found = true
		}
	}
	if !found {
		t.Errorf("no 'out' CDR to 0211234567 on reception's account: %v", x.cdrsQuiet(reception))
	}
}

// TestReceptionFreeAfterTransfer: reception has concurrent_limit 1.
// Once it has transferred its caller to sales and left, a new call to
// reception's DDI must ring reception again.
func TestReceptionFreeAfterTransfer(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	x.patch(reception, `{"concurrent_limit":1}`)
	poll.Until(t, 5*time.Second, "reception's concurrent_limit in the view", func() bool {
		return x.view.Account(reception).ConcurrentLimit == 1
	})
	sal, _ := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	if res := a.in.refer(t, "608"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	sin := sal.next(5 * time.Second)
	if err := sin.answer(); err != nil {
		t.Fatal(err)
	}
	a.rec.notified(t, "SIP/2.0 200", 5*time.Second)
	if !a.rec.saw("BYE", 5*time.Second) {
		t.Fatal("reception was not hung up after the transfer")
	}
	car2, _ := x.mediaPhone("", "")
	car2.number = "6421555002"
	out2 := car2.dial("6491231234")
	select {
	case in := <-a.rec.calls:
		in.answer()
	case <-time.After(4 * time.Second):
		res := out2.result(5 * time.Second)
		t.Errorf("a new call to reception (idle since its transfer) did not ring it: caller got %d %s", res.StatusCode, res.Reason)
	}
	out2.hangup()
	a.out.hangup()
}
