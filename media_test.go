package xc5_test

import (
	"strings"
	"testing"
	"time"

	"xc5"
)

// TestMailTexts: the voicemail and recording mails name the caller, the
// called number, the account, the time (UTC) and the length, and carry
// the WAV under a dated name.
func TestMailTexts(t *testing.T) {
	at := time.Date(2026, 12, 3, 23, 15, 0, 0, time.FixedZone("NZDT", 13*3600)) // 10:15 UTC
	wav := []byte("RIFF…")
	v := xc5.Voicemail{From: "6499290085", To: "reception@acme.test", Received: at, Duration: 83400 * time.Millisecond, Audio: wav}
	tests := []struct {
		name     string
		m        xc5.Mail
		subject  []string
		body     []string
		filename string
	}{
		{"voicemail", xc5.VoicemailMail(v, "boss@acme.test", "acme.test"),
			[]string{"Voicemail", "6499290085", "reception@acme.test", "1:23"},
			[]string{"6499290085", "reception@acme.test", "acme.test", "2026-12-03 10:15:00 UTC", "1:23"},
			"voicemail-20261203-101500.wav"},
		{"recording", xc5.RecordingMail(v, "boss@acme.test", "acme.test"),
			[]string{"recording", "6499290085", "reception@acme.test", "1:23"},
			[]string{"recorded", "6499290085", "Account:  acme.test", "Started:  2026-12-03 10:15:00 UTC", "1:23"},
			"recording-20261203-101500.wav"},
	}
	for _, tt := range tests {
		if tt.m.To != "boss@acme.test" || string(tt.m.Attachment) != string(wav) || tt.m.AttachmentName != tt.filename {
			t.Errorf("%s: to %q, attachment %q", tt.name, tt.m.To, tt.m.AttachmentName)
		}
		for _, w := range tt.subject {
			if !strings.Contains(tt.m.Subject, w) {
				t.Errorf("%s: subject %q lacks %q", tt.name, tt.m.Subject, w)
			}
		}
		for _, w := range tt.body {
			if !strings.Contains(tt.m.Body, w) {
				t.Errorf("%s: body %q lacks %q", tt.name, tt.m.Body, w)
			}
		}
	}
	if m := xc5.VoicemailMail(xc5.Voicemail{Duration: 59600 * time.Millisecond}, "a@b", ""); !strings.Contains(m.Subject, "(1:00)") {
		t.Errorf("59.6 s reads %q, want 1:00", m.Subject)
	}
}
