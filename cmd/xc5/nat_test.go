package main_test

import (
	"testing"
	"time"

	"xc5/internal/rtptest"
)

// TestPhoneBehindNATHasAudio: reception's phone is behind NAT: its
// Contact and SDP name a private address its packets do not come from. With the default
// --media-anchor auto, xc5 relays the call's RTP and sends to where the
// phone's packets come from, so a carrier's caller and reception hear
// each other.
func TestPhoneBehindNATHasAudio(t *testing.T) {
	t.Parallel()
	s := mediaServe(t, t.TempDir(), "")
	const recep = "reception@acmebrick.x.co.nz"
	s.provision(t, carrierTrunk,
		[2]string{"/api-sys/account/", `{"username":"acmebrick.x.co.nz"}`},
		[2]string{"/api-sys/account/acmebrick.x.co.nz/child", `{"username":"` + recep + `","password":"Recep-pw-1234"}`},
		[2]string{"/api-sys/account/" + recep + "/number", `{"number":"6491231234"}`})
	sip := s.sipAddr(t)
	rec := newUA(t, sip, recep, "Recep-pw-1234")
	rec.behindNAT("10.9.9.9")
	rec.register()
	car := carrier(t, sip, caller)
	c := car.dial("6491231234")
	toRec := rec.answer(10 * time.Second)
	toCaller := c.answered()
	if toCaller.Addr().String() == "10.9.9.9" {
		t.Fatalf("the caller is told to send to the phone's private address %v", toCaller)
	}
	stopR := rec.ep.StartTone(toRec, rtptest.PCMU, 600)
	defer stopR()
	stopC := car.ep.StartTone(toCaller, rtptest.PCMU, 1000)
	defer stopC()
	if _, ok := hears(rec.ep, 0, 1000, 5*time.Second); !ok {
		t.Error("the phone behind NAT does not hear the caller")
	}
	if _, ok := hears(car.ep, 0, 600, 5*time.Second); !ok {
		t.Error("the caller does not hear the phone behind NAT")
	}
}
