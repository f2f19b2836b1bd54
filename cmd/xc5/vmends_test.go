package main_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/audiotest"
	"xc5/internal/rtptest"
	"xc5/internal/smtptest"
	"xc5/media/wav"
)

// TestVoicemailEnds: a message ends with '#', with the caller hanging up,
// or after 5 s of silence, and is mailed each way; one under a second
// (the caller presses '#' at once) is dropped, no mail.
func TestVoicemailEnds(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, "127.0.0.1:0", nil, false)
	s := mediaServe(t, t.TempDir(), sink.Addr)
	s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
	sip := s.sipAddr(t)
	for _, tc := range []struct {
		name, from string
		tone       time.Duration // of 1 kHz after the beep
		end        string        // "#", "hangup" or "silence"
		mailed     bool
	}{
		{"hash", "6421000021", 2 * time.Second, "#", true},
		{"caller hangs up", "6421000022", 2 * time.Second, "hangup", true},
		{"5 s of silence", "6421000023", 2 * time.Second, "silence", true},
		{"under a second is dropped", "6421000024", 0, "#", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			car := carrier(t, sip, tc.from)
			c := car.dial("6491231234")
			to := c.answered()
			if _, ok := hears(car.ep, 0, 1000, 30*time.Second); !ok {
				t.Fatalf("no beep\nxc5 log:\n%s", s.stderr)
			}
			time.Sleep(400 * time.Millisecond)
			if tc.tone > 0 {
				car.ep.SendTone(to, rtptest.PCMU, 1000, tc.tone)
			}
			switch tc.end {
			case "#":
				car.ep.SendDigits(to, "#", rtptest.TelephoneEvent)
			case "hangup":
				if err := c.hangup(); err != nil {
					t.Fatal(err)
				}
			case "silence":
				stop := car.ep.StartTone(to, rtptest.PCMU, 0)
				defer stop()
			}
			if tc.end != "hangup" && !car.hungUp(20*time.Second) {
				t.Fatal("xc5 did not hang up after the message")
			}
			m, ok := mailFrom(t, sink, tc.from, 6*time.Second)
			if ok != tc.mailed {
				t.Fatalf("mailed %v, want %v", ok, tc.mailed)
			}
			if ok {
				checkVoicemail(t, m, "reception@acmebrick.x.co.nz", tc.from, 1000, 0)
			}
		})
	}
}

// mailFrom waits for the mail whose subject names from.
func mailFrom(t *testing.T, sink *smtptest.Server, from string, within time.Duration) (mailed, bool) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, m := range sink.Messages() {
			if d := decodeMail(t, m); strings.Contains(d.Subject, from) {
				return d, true
			}
		}
	}
	return mailed{}, false
}

// TestVoicemailMailbox: reception has a mailbox (ums_pin); the message
// left is also kept there: listed at …/voicemail with the caller and
// status new, its audio (Accept: audio/wav) holds the tone, PATCH marks
// it saved and DELETE removes it.
func TestVoicemailMailbox(t *testing.T) {
	t.Parallel()
	s := mediaServe(t, t.TempDir(), "")
	s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
	s.provision(t, [2]string{"/api-sys/account/reception@acmebrick.x.co.nz?patch=true", `{"ums_pin":"1234"}`})
	leaveVoicemail(t, s, "6491231234", 2*time.Second)
	const box = "/api-sys/account/reception@acmebrick.x.co.nz/voicemail"
	code, body := s.do(t, "GET", box, "admin", mediaAdmin, "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", box, code, body)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 1 {
		t.Fatalf("mailbox %s (%v), want one message", body, err)
	}
	v := list[0]
	if !strings.Contains(v["from"].(string), caller) || v["status"] != "new" {
		t.Errorf("message %v, want from %s, status new", v, caller)
	}
	item := box + "/" + v["guid"].(string)
	code, audio := s.raw(t, "GET", item, "", "audio/wav", nil)
	a, err := wav.Parse(audio)
	if code != 200 || err != nil || !audiotest.Has(a.To8kHz(), 8000, 1000) {
		t.Errorf("message audio: %d %v, or no 1 kHz", code, err)
	}
	if code, b := s.raw(t, "PATCH", item, "application/json", "", []byte(`{"status":"saved"}`)); code != 200 || !bytes.Contains(b, []byte(`"saved"`)) {
		t.Errorf("PATCH saved: %d %s", code, b)
	}
	if code, b := s.raw(t, "DELETE", item, "", "", nil); code != 200 && code != 204 {
		t.Errorf("DELETE: %d %s", code, b)
	}
	if code, b := s.do(t, "GET", box, "admin", mediaAdmin, ""); code != 200 || strings.Contains(b, v["guid"].(string)) {
		t.Errorf("after DELETE: %d %s", code, b)
	}
}

// TestWithheldCallerVoicemail: a carrier caller who withholds the number
// (Privacy: id) leaves a message; the mail to the customer says
// anonymous and does not show the number.
func TestWithheldCallerVoicemail(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, "127.0.0.1:0", nil, false)
	s := mediaServe(t, t.TempDir(), sink.Addr)
	s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
	const secret = "6421000026"
	car := carrier(t, s.sipAddr(t), secret)
	car.extra = []sip.Header{sip.NewHeader("Privacy", "id")}
	to := car.dial("6491231234").answered()
	if _, ok := hears(car.ep, 0, 1000, 30*time.Second); !ok {
		t.Fatal("no beep")
	}
	time.Sleep(400 * time.Millisecond)
	car.ep.SendTone(to, rtptest.PCMU, 1000, 1500*time.Millisecond)
	car.ep.SendDigits(to, "#", rtptest.TelephoneEvent)
	m := decodeMail(t, sink.WaitMessages(t, 1, 20*time.Second, time.Second)[0])
	if !strings.Contains(m.Subject, "anonymous") || strings.Contains(m.Subject+m.Body, secret) {
		t.Errorf("mail of a withheld caller: subject %q, body:\n%s", m.Subject, m.Body)
	}
}
