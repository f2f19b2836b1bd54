package sipserver

import (
	"testing"

	"xc5"
	"xc5/routing"
)

// TestOutcomeStatus pins the final response a caller gets for each way
// the engine can end a call nobody answered.
func TestOutcomeStatus(t *testing.T) {
	for _, tc := range []struct {
		outcome string
		code    int
		reason  string
	}{
		{routing.Busy, 486, "Busy Here"},
		{routing.Unanswered, 480, "Temporarily Unavailable"},
		{routing.Email, 503, "Media services not available yet"},
		{routing.Voicemail, 503, "Media services not available yet"},
		{routing.Conference, 503, "Media services not available yet"},
		{routing.RecordPrompt, 503, "Media services not available yet"},
		{"menu", 503, "Media services not available yet"},
		{"", 480, "Temporarily Unavailable"},
		{"something-new", 480, "Temporarily Unavailable"},
	} {
		code, reason := outcomeStatus(tc.outcome)
		if code != tc.code || reason != tc.reason {
			t.Errorf("outcomeStatus(%q) = %d %q, want %d %q", tc.outcome, code, reason, tc.code, tc.reason)
		}
	}
}

// TestOutcomeStatusMedia checks that every outcome needsMedia refuses is
// refused in the table as needing media, and no other engine outcome is.
func TestOutcomeStatusMedia(t *testing.T) {
	for _, o := range []string{routing.Answered, routing.Email, routing.Dropped, routing.Conference,
		routing.External, routing.RecordPrompt, routing.Voicemail, routing.Unanswered, routing.Busy} {
		_, reason := outcomeStatus(o)
		if got := reason == mediaReason; got != needsMedia(o) {
			t.Errorf("%s: table says needs media %v, needsMedia says %v", o, got, needsMedia(o))
		}
	}
}

// TestErrorStatus pins the answer of a request whose store work failed,
// by the error's code.
func TestErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		code   string
		status int
		reason string
	}{
		{xc5.EUNAVAILABLE, 503, "Service Unavailable"},
		{xc5.EINTERNAL, 500, "Server Internal Error"},
		{xc5.ECONFLICT, 500, "Server Internal Error"},
		{xc5.ENOTFOUND, 500, "Server Internal Error"},
		{"", 500, "Server Internal Error"},
	} {
		status, reason := errorStatus(tc.code)
		if status != tc.status || reason != tc.reason {
			t.Errorf("errorStatus(%q) = %d %q, want %d %q", tc.code, status, reason, tc.status, tc.reason)
		}
	}
}
