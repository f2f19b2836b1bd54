package sipserver

import (
	"strings"
	"testing"
	"time"
)

// TestHeldPartyReinvite: while reception holds the caller, the
// caller's side sends a re-INVITE of its own (a carrier's session
// refresh, or the caller putting reception on hold too: "double hold").
// It must be answered 2xx, not refused 491 for as long as the hold lasts
// (a carrier that sees its refreshes fail ends the call).
func TestHeldPartyReinvite(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	a := x.answeredCall()
	if res := a.in.reinvite(t, strings.Replace(a.rec.sdp, "sendrecv", "sendonly", 1)); res.StatusCode != 200 {
		t.Fatalf("hold: %d", res.StatusCode)
	}
	a.car.reinvited(t, 5*time.Second)
	for _, dir := range []string{"sendrecv", "sendonly"} {
		res := a.out.reinvite(strings.Replace(a.car.sdp, "sendrecv", dir, 1))
		if res == nil || res.StatusCode != 200 {
			code, reason := 0, ""
			if res != nil {
				code, reason = res.StatusCode, res.Reason
			}
			t.Errorf("the held caller's re-INVITE (%s) during hold: %d %s, want 200", dir, code, reason)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.out.hangup()
	x.idle()
}
