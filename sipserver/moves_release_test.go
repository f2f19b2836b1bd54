package sipserver

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/poll"
)

// released checks that nothing of the calls is left: no call, no relay
// session, no account counted active.
func (x *pbx) released(what string) {
	x.t.Helper()
	x.idle()
	poll.Until(x.t, 5*time.Second, what+": relay sessions freed", func() bool { return x.srv.cfg.Relay.Stats().Sessions == 0 })
	for _, u := range []string{reception, sales, "acmebrick.x.co.nz"} {
		if n := x.srv.ActiveCalls(x.ids[u]); n != 0 {
			x.t.Errorf("%s: %s still counts %d active call(s)", what, u, n)
		}
	}
}

// TestHangupsDuringMoves: the caller hangs up while a transfer's
// target rings, while parked, and the holder hangs up during hold: each
// time the target stops ringing, the slot empties, and everything is freed.
func TestHangupsDuringMoves(t *testing.T) {
	t.Run("caller hangs up while the target rings", func(t *testing.T) {
		x := newMediaPBX(t, Config{})
		x.trunk("", "", "")
		sal, _ := x.mediaPhone(sales, salesPassword)
		a := x.answeredCall()
		if res := a.in.refer(t, "608"); res.StatusCode != sip.StatusAccepted {
			t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
		}
		a.car.reinvited(t, 5*time.Second)
		sin := sal.next(5 * time.Second)
		if err := a.out.hangup(); err != nil {
			t.Fatal(err)
		}
		if !sin.cancelled(5 * time.Second) {
			t.Error("sales still rings after the caller hung up")
		}
		if !a.rec.saw("BYE", 5*time.Second) {
			t.Error("the transferor's dialog was not ended")
		}
		x.released("transfer")
	})
	t.Run("caller hangs up while parked", func(t *testing.T) {
		x := newMediaPBX(t, Config{ParkTimeout: 3 * time.Second})
		x.trunk("", "", "")
		sal, _ := x.mediaPhone(sales, salesPassword)
		a := x.answeredCall()
		if res := a.in.refer(t, "*70"); res.StatusCode != sip.StatusAccepted {
			t.Fatalf("REFER *70: %d %s", res.StatusCode, res.Reason)
		}
		a.car.reinvited(t, 5*time.Second)
		a.rec.notified(t, "SIP/2.0 200 Parked *701", 10*time.Second)
		if err := a.out.hangup(); err != nil {
			t.Fatal(err)
		}
		x.released("park")
		if res := sal.dial("*701").result(5 * time.Second); res.StatusCode != sip.StatusNotFound {
			t.Errorf("*701 after the parked caller hung up: %d %s", res.StatusCode, res.Reason)
		}
		n := a.rec.count("INVITE")
		time.Sleep(4 * time.Second) // past ParkTimeout: no ring back for a call that is over
		if a.rec.count("INVITE") != n {
			t.Error("the parker was rung back for a call that had ended")
		}
	})
	t.Run("holder hangs up during hold", func(t *testing.T) {
		x := newMediaPBX(t, Config{})
		x.trunk("", "", "")
		a := x.answeredCall()
		if res := a.in.reinvite(t, a.rec.sdp[:0]+replaceDir(a.rec.sdp, "sendonly")); res.StatusCode != 200 {
			t.Fatalf("hold: %d", res.StatusCode)
		}
		a.car.reinvited(t, 5*time.Second)
		if err := a.in.hangup(); err != nil {
			t.Fatal(err)
		}
		if !a.car.saw("BYE", 5*time.Second) {
			t.Error("the held caller was not hung up")
		}
		x.released("hold")
	})
}

func replaceDir(sdp, dir string) string { return strings.Replace(sdp, "sendrecv", dir, 1) }
