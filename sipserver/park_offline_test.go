package sipserver

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestParkTimeoutParkerOffline: the parker goes offline; at
// ParkTimeout the ring back finds no phone, the caller hears goodbye and
// is hung up, and everything is freed.
func TestParkTimeoutParkerOffline(t *testing.T) {
	x := newMediaPBX(t, Config{ParkTimeout: 2 * time.Second})
	x.trunk("", "", "")
	a := x.answeredCall()
	if res := a.in.refer(t, "*70"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER *70: %d %s", res.StatusCode, res.Reason)
	}
	a.car.reinvited(t, 5*time.Second)
	a.rec.notified(t, "SIP/2.0 200 Parked *701", 10*time.Second)
	a.rec.unregister()
	if !a.car.saw("BYE", 15*time.Second) {
		t.Fatal("the parked caller was not hung up after the ring back found nobody")
	}
	x.released("park timeout")
	var s map[string]any
	for _, c := range x.cdrs(reception, 2) {
		if c["outcome"] != "parked" {
			s = c
		}
	}
	if tr, _ := s["transfers"].(string); !strings.Contains(tr, "nobody retrieved the call from *701") {
		t.Errorf("the call's record: %v", s)
	}
}
