package main_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/internal/rtptest"
	"xc5/internal/smtptest"
)

// TestRecordedCallMailed: the document's record-only callrule on
// reception; a carrier's call that reception's phone answers, dialed to
// its DDI or reaching it through the hunt group, is mailed after the
// hang-up as a stereo WAV, the caller's 1 kHz on the left and reception's
// 600 Hz on the right; reception's CDR says that the call was recorded.
func TestRecordedCallMailed(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, "127.0.0.1:0", nil, false)
	s := mediaServe(t, t.TempDir(), sink.Addr)
	const co, main, recep = "acmebrick.x.co.nz", "main_entry@acmebrick.x.co.nz", "reception@acmebrick.x.co.nz"
	s.provision(t, carrierTrunk,
		[2]string{"/api-sys/account/", `{"username":"` + co + `"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"` + recep + `","password":"Recep-pw-1234"}`},
		[2]string{"/api-sys/account/" + recep + "/number", `{"number":"6491231234"}`},
		[2]string{"/api-sys/account/" + recep + "/callrule", `{"order":-12,"record_email":"boss@acmebrick.x.co.nz"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"` + main + `"}`},
		[2]string{"/api-sys/account/" + main + "/number", `{"number":"6499290087"}`},
		[2]string{"/api-sys/account/" + main + "/route", `{"order":100,"username":"` + recep + `","hunt_user":true,"ring_seconds":10}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"sales@acmebrick.x.co.nz","password":"` + salesPassword + `"}`},
		[2]string{"/api-sys/account/sales@acmebrick.x.co.nz/number", `{"number":"6499290089"}`})
	sip := s.sipAddr(t)
	rec := newUA(t, sip, recep, "Recep-pw-1234")
	rec.register()
	for _, tc := range []struct{ name, from, ddi string }{
		{"to its DDI", "6421000031", "6491231234"},
		{"through the hunt group", "6421000032", "6499290087"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			car := carrier(t, sip, tc.from)
			c := car.dial(tc.ddi)
			toRec := rec.answer(10 * time.Second)
			toCaller := c.answered()
			stopC := car.ep.StartTone(toCaller, rtptest.PCMU, 1000)
			stopR := rec.ep.StartTone(toRec, rtptest.PCMU, 600)
			_, heardC := hears(rec.ep, 0, 1000, 5*time.Second)
			_, heardR := hears(car.ep, 0, 600, 5*time.Second)
			time.Sleep(time.Second)
			stopC()
			stopR()
			if !heardC || !heardR {
				t.Errorf("audio both ways: reception hears 1 kHz %v, caller hears 600 Hz %v", heardC, heardR)
			}
			if err := c.hangup(); err != nil {
				t.Fatalf("BYE: %v", err)
			}
			m, ok := mailFrom(t, sink, tc.from, 20*time.Second)
			if !ok {
				t.Fatalf("no recording mailed for the call from %s\nxc5 log:\n%s", tc.from, s.stderr)
			}
			if m.To != "boss@acmebrick.x.co.nz" {
				t.Errorf("recording mailed to %q", m.To)
			}
			left, right := stereo(t, m.Attachment)
			if !audiotest.Has(left, 8000, 1000) || audiotest.Has(left, 8000, 600) {
				t.Error("the left channel is not the caller's 1 kHz alone")
			}
			if !audiotest.Has(right, 8000, 600) || audiotest.Has(right, 8000, 1000) {
				t.Error("the right channel is not reception's 600 Hz alone")
			}
			t.Run("cdr says recorded", func(t *testing.T) {
				cdr := waitCDR(t, s, recep, tc.from)
				if !strings.Contains(cdr, `"record`) {
					t.Errorf("reception's CDR of the recorded call does not say it was recorded: %s", cdr)
				}
			})
		})
	}
	t.Run("not its own outgoing calls", func(t *testing.T) {
		sales := newUA(t, sip, "sales@acmebrick.x.co.nz", salesPassword)
		sales.register()
		out := newUA(t, sip, recep, "Recep-pw-1234")
		c := out.dial("6499290089")
		sales.answer(10 * time.Second)
		to := c.answered()
		out.ep.SendTone(to, rtptest.PCMU, 1000, 1500*time.Millisecond)
		if err := c.hangup(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second) // the mail of a recording would be queued by now
		if n := len(sink.Messages()); n != 2 {
			t.Errorf("%d mails, want the 2 recordings above: reception's outgoing call was recorded", n)
		}
	})
}

// waitCDR returns the full CDR (GET by guid) of account's call from from.
func waitCDR(t *testing.T, s *server, account, from string) string {
	t.Helper()
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var code int
		code, body = s.do(t, "GET", "/api-sys/account/"+account+"/cdr", "admin", mediaAdmin, "")
		var list []map[string]any
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil {
			continue
		}
		for _, r := range list {
			if r["from"] == from {
				code, full := s.do(t, "GET", "/api-sys/account/"+account+"/cdr/"+r["guid"].(string), "admin", mediaAdmin, "")
				if code != 200 {
					t.Fatalf("GET CDR: %d %s", code, full)
				}
				return full
			}
		}
	}
	t.Fatalf("no CDR of %s from %s: %s", account, from, body)
	return ""
}
