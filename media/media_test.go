package media

import (
	"reflect"
	"testing"
	"time"
)

func TestRequestRoundTrip(t *testing.T) {
	for _, r := range []Request{
		{App: AppMenu, Prompt: "ECB3B334-5F1D-4CD7-8446-675FC7476E31", Keys: []string{"1", "5", "5666", "#"}},
		{App: AppVoicemail, Mailbox: "A1", Email: "reception@acmebrick.x.co.nz", Account: "reception@acmebrick.x.co.nz", From: "+6421555000", To: "6491231234", MaxRecord: 180 * time.Second},
		{App: AppRecordPrompt, Prompt: "ECB3B334-5F1D-4CD7-8446-675FC7476E31", From: "reception@acmebrick.x.co.nz"},
		{App: AppPlay},
		{App: AppConference, Room: "6499290085", From: "+6421555000"},
		{App: AppMailbox, Mailbox: "A1", Account: "reception@acmebrick.x.co.nz"},
	} {
		got, err := Decode(r.App, r.Encode())
		if err != nil {
			t.Fatalf("%s: %v", r.App, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip of %+v gave %+v", r, got)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, tc := range []struct{ app, args string }{
		{"conference-x", ""},
		{AppMenu, ""},
		{AppConference, ""},
		{AppVoicemail, "max=-1"},
		{AppVoicemail, "max=99999"},
		{AppVoicemail, "%zz"},
	} {
		if _, err := Decode(tc.app, tc.args); err == nil {
			t.Errorf("Decode(%q, %q) accepted", tc.app, tc.args)
		}
	}
}

func TestResultRoundTrip(t *testing.T) {
	for _, r := range []Result{{}, {Key: "5666"}, {Key: "#"}, {Saved: true}} {
		got, err := DecodeResult(r.Encode())
		if err != nil || got != r {
			t.Fatalf("round trip of %+v gave %+v, %v", r, got, err)
		}
	}
}
