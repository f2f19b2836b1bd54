package main_test

import (
	"testing"
	"time"

	"xc5/internal/rtptest"
)

// TestPickupByFeatureCode: the document's pickup group Alpha on the
// company; a carrier's call rings reception, and sales picks it up by
// dialing *8, or 148 through the document's early rule (14 for *); the
// caller and sales then hear each other.
func TestPickupByFeatureCode(t *testing.T) {
	t.Parallel()
	s := mediaServe(t, t.TempDir(), "")
	const co, recep, sales = "acmebrick.x.co.nz", "reception@acmebrick.x.co.nz", "sales@acmebrick.x.co.nz"
	s.provision(t, carrierTrunk,
		[2]string{"/api-sys/account/", `{"username":"` + co + `","pickup_group":"Alpha"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"` + recep + `","password":"Recep-pw-1234","cfna_duration":30}`},
		[2]string{"/api-sys/account/" + recep + "/number", `{"number":"6491231234"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"` + sales + `","password":"` + salesPassword + `"}`},
		[2]string{"/api-sys/account/" + co + "/callrule", `{"order":-2,"prefix_raw":"14","destination":"*%","early_rule":true}`})
	sip := s.sipAddr(t)
	rec := newUA(t, sip, recep, "Recep-pw-1234")
	rec.register()
	for _, code := range []string{"*8", "148"} {
		t.Run(code, func(t *testing.T) {
			car := carrier(t, sip, caller)
			c := car.dial("6491231234")
			select {
			case <-rec.invites: // ringing, never answered
			case <-time.After(10 * time.Second):
				t.Fatal("reception's phone was not rung")
			}
			picker := newUA(t, sip, sales, salesPassword)
			toCaller := picker.dial(code).answered()
			toPicker := c.answered()
			stopC := car.ep.StartTone(toPicker, rtptest.PCMU, 1000)
			defer stopC()
			stopP := picker.ep.StartTone(toCaller, rtptest.PCMU, 600)
			defer stopP()
			if _, ok := hears(picker.ep, 0, 1000, 5*time.Second); !ok {
				t.Error("sales does not hear the caller after picking up")
			}
			if _, ok := hears(car.ep, 0, 600, 5*time.Second); !ok {
				t.Error("the caller does not hear sales after the pickup")
			}
		})
	}
}
