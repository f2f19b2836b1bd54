package sipserver

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestSessionTimerUnsupportedCaller: a caller whose INVITE carries
// Session-Expires (inserted by a proxy on its path, RFC 4028 §8) but no
// Supported: timer does not do session timers. RFC 4028 §9: the UAS then
// sets refresher=uas, sends no Require: timer, and refreshes itself: the
// healthy call is not hung up for want of refreshes the caller never
// knew it owed.
func TestSessionTimerUnsupportedCaller(t *testing.T) {
	x := newPBX(t, Config{MinSE: time.Second})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.answer() })
	out := rec.dial("608", sip.NewHeader("Session-Expires", "2"))
	res := out.answered(5 * time.Second)
	h := res.GetHeader("Session-Expires")
	if h == nil || h.Value() != "2;refresher=uas" {
		t.Errorf("2xx to a caller without Supported: timer: Session-Expires %v, want 2;refresher=uas", h)
	}
	if r := res.GetHeader("Require"); r != nil {
		t.Errorf("2xx to a caller without Supported: timer has Require: %s", r.Value())
	}
	time.Sleep(3 * time.Second)
	if rec.count("BYE") != 0 || x.srv.Calls() != 1 {
		t.Errorf("the call of a caller without timer support was hung up by the session timer: %d BYEs, %d calls", rec.count("BYE"), x.srv.Calls())
	}
	out.hangup()
	x.idle()
}

// TestSessionIntervalTooSmall: RFC 4028 §9: a caller that supports
// timers and asks for less than Min-SE gets 422 with Min-SE (it retries
// with at least that); one whose Session-Expires a proxy put in (no
// Supported: timer) gets its call with the interval raised, as a proxy
// would raise it (§8.1).
func TestSessionIntervalTooSmall(t *testing.T) {
	x := newPBX(t, Config{}) // MinSE: 90 s
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.answer() })
	res := rec.dial("608", sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "30")).result(5 * time.Second)
	if h := res.GetHeader("Min-SE"); res.StatusCode != 422 || h == nil || h.Value() != "90" {
		t.Errorf("Session-Expires 30 with Supported: timer: %d %s, Min-SE %v; want 422 with Min-SE 90", res.StatusCode, res.Reason, h)
	}
	x.idle()
	out := rec.dial("608", sip.NewHeader("Session-Expires", "30"))
	res = out.answered(5 * time.Second)
	if h := res.GetHeader("Session-Expires"); h == nil || h.Value() != "90;refresher=uas" {
		t.Errorf("Session-Expires 30 without Supported: timer: %v, want 90;refresher=uas", h)
	}
	out.hangup()
	x.idle()
}
