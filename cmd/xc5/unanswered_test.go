package main_test

import (
	"strings"
	"testing"
	"time"

	"xc5/internal/rtptest"
	"xc5/internal/smtptest"
)

// TestUnansweredCallReachesVoicemail: the document's stages one and
// three: reception's phone rings unanswered for cfna_duration, then its
// route 200 takes the call to voicemail with the system greeting; the
// hunt group rings reception and sales in turn, unanswered, then its
// route 200 plays the uploaded greeting and takes the message. Each
// message is mailed to reception.
func TestUnansweredCallReachesVoicemail(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, "127.0.0.1:0", nil, false)
	s := mediaServe(t, t.TempDir(), sink.Addr)
	const co, main = "acmebrick.x.co.nz", "main_entry@acmebrick.x.co.nz"
	s.provision(t, carrierTrunk,
		[2]string{"/api-sys/account/", `{"username":"` + co + `"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"reception@acmebrick.x.co.nz","password":"Recep-pw-1234","cfna_duration":2}`},
		[2]string{"/api-sys/account/reception@acmebrick.x.co.nz/number", `{"number":"6491231234"}`},
		[2]string{"/api-sys/account/reception@acmebrick.x.co.nz/route", `{"order":200,"destination":"email:reception@acmebrick.x.co.nz"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"sales@acmebrick.x.co.nz","password":"` + salesPassword + `"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"` + main + `"}`},
		[2]string{"/api-sys/account/" + main + "/number", `{"number":"6499290087"}`},
		[2]string{"/api-sys/account/" + main + "/route", `{"order":100,"username":"reception@acmebrick.x.co.nz","hunt_user":true,"ring_seconds":1}`},
		[2]string{"/api-sys/account/" + main + "/route", `{"order":101,"username":"sales@acmebrick.x.co.nz","hunt_user":true,"ring_seconds":1}`})
	s.uploadTone(t, main, greetingPrompt, greetingTone)
	s.provision(t, [2]string{"/api-sys/account/" + main + "/route", `{"order":200,"destination":"email:reception@acmebrick.x.co.nz","promptguid":"` + greetingPrompt + `"}`})
	sip := s.sipAddr(t)
	ringing := map[string]*goUA{}
	for _, u := range []string{"reception@acmebrick.x.co.nz", "sales@acmebrick.x.co.nz"} {
		pw := salesPassword
		if u == "reception@acmebrick.x.co.nz" {
			pw = "Recep-pw-1234"
		}
		ringing[u] = newUA(t, sip, u, pw)
		ringing[u].register()
	}
	for _, tc := range []struct {
		name, from, ddi string
		greeting        float64 // the uploaded greeting's tone; 0 for the system greeting
		rung            []string
	}{
		{"reception after cfna", "6421000011", "6491231234", 0, []string{"reception@acmebrick.x.co.nz"}},
		{"hunt group", "6421000012", "6499290087", greetingTone, []string{"reception@acmebrick.x.co.nz", "sales@acmebrick.x.co.nz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			car := carrier(t, sip, tc.from)
			to := car.dial(tc.ddi).answered()
			for _, u := range tc.rung {
				select {
				case <-ringing[u].invites:
				default:
					t.Errorf("%s's phone was not rung before voicemail", u)
				}
			}
			if tc.greeting != 0 {
				if _, ok := hears(car.ep, 0, tc.greeting, 10*time.Second); !ok {
					t.Error("the uploaded greeting was not heard")
				}
			}
			if _, ok := hears(car.ep, 0, 1000, 30*time.Second); !ok {
				t.Fatalf("no beep\nxc5 log:\n%s", s.stderr)
			}
			time.Sleep(400 * time.Millisecond)
			car.ep.SendTone(to, rtptest.PCMU, 1000, 2*time.Second)
			car.ep.SendDigits(to, "#", rtptest.TelephoneEvent)
			if !car.hungUp(15 * time.Second) {
				t.Fatal("xc5 did not hang up after the message")
			}
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				for _, m := range sink.Messages() {
					if d := decodeMail(t, m); d.Subject != "" && strings.Contains(d.Subject, tc.from) {
						checkVoicemail(t, d, "reception@acmebrick.x.co.nz", tc.from, 1000, 2*time.Second)
						return
					}
				}
			}
			t.Fatalf("no mail from %s", tc.from)
		})
	}
}
