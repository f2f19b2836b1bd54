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
