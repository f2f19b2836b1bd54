package service

import (
	"slices"
	"strings"
	"testing"
	"time"

	"xc5/media/prompts"
)

// TestMailboxWords: what the mailbox says of numbers, callers and times,
// and that every word it composes from exists.
func TestMailboxWords(t *testing.T) {
	auckland, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Skip("no time zone data")
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC) // Thursday 23:00 in Auckland
	for _, tc := range []struct {
		name string
		got  []string
		want string
	}{
		{"0", numberWords(0), "0"},
		{"13", numberWords(13), "13"},
		{"40", numberWords(40), "40"},
		{"47", numberWords(47), "40 7"},
		{"100", numberWords(100), "1 hundred"},
		{"305", numberWords(305), "3 hundred 5"},
		{"999", numberWords(999), "9 hundred 90 9"},
		{"1024", numberWords(1024), "1 0 2 4"},
		{"no new", countWords(0, "new-message", "new-messages"), "no new-messages"},
		{"one saved", countWords(1, "saved-message", "saved-messages"), "1 saved-message"},
		{"21 new", countWords(21, "new-message", "new-messages"), "20 1 new-messages"},
		{"number", callerWords("+64 9"), ""},
		{"e164", callerWords("+6499"), "from 6 4 9 9"},
		{"anonymous", callerWords("anonymous"), ""},
		{"username", callerWords("a1@acme.test"), ""},
		{"today", whenWords(now.Add(-2*time.Hour), now, auckland), "received today at 9 pm"},
		{"today morning", whenWords(now.Add(-22*time.Hour+5*time.Minute), now, auckland), "received today at 1 oh 5 am"},
		{"yesterday", whenWords(now.Add(-24*time.Hour+17*time.Minute), now, auckland), "received yesterday at 11 17 pm"},
		{"this week", whenWords(now.Add(-3*24*time.Hour-12*time.Hour), now, auckland), "received monday at 11 am"},
		{"older", whenWords(time.Date(2026, 11, 1, 0, 30, 0, 0, time.UTC), now, auckland), "received november 1 at 1 30 pm"},
		{"UTC noon", whenWords(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), now.Add(3*time.Hour), time.UTC), "received today at 12 pm"},
		{"UTC midnight", whenWords(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), now, time.UTC), "received today at 12 am"},
	} {
		if got := strings.Join(tc.got, " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		for _, w := range tc.got {
			if prompts.Word(w) == nil {
				t.Errorf("%s: no word %q", tc.name, w)
			}
		}
	}
	for _, w := range slices.Concat(weekdays, months) {
		if prompts.Word(w) == nil {
			t.Errorf("no word %q", w)
		}
	}
	if len(countsAudio(2, 0)) == 0 || len(say("main-menu", "message-menu", "options-menu")) < 8000*5 {
		t.Error("the counts or menus are silent")
	}
}
