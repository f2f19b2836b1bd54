package sipserver

import (
	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/routing"
)

// sipStatus is a SIP final status with its reason phrase.
type sipStatus struct {
	code   int
	reason string
}

// outcomeStatuses is the one place that maps how the routing engine ended
// a call nobody answered to the final response the caller gets, as
// api/hal.go's statusOf does for HTTP. Outcomes that need a media node
// (and a menu the engine reached, "menu") are answered by one; these 503s
// are for when no media node takes the call (docs/sip.md). A dropped call carries its callrule's own status; an answered
// or external call is bridged, and only its ring's result is answered.
var outcomeStatuses = map[string]sipStatus{
	routing.Busy:         {sip.StatusBusyHere, "Busy Here"},
	routing.Unanswered:   {sip.StatusTemporarilyUnavailable, "Temporarily Unavailable"},
	routing.Email:        {sip.StatusServiceUnavailable, mediaReason},
	routing.Voicemail:    {sip.StatusServiceUnavailable, mediaReason},
	routing.Conference:   {sip.StatusServiceUnavailable, mediaReason},
	routing.RecordPrompt: {sip.StatusServiceUnavailable, mediaReason},
	routing.Mailbox:      {sip.StatusServiceUnavailable, mediaReason},
	"menu":               {sip.StatusServiceUnavailable, mediaReason},
}

// outcomeStatus is the final response for an outcome (outcomeStatuses);
// any other outcome is 480, as for a call nobody answered.
func outcomeStatus(outcome string) (code int, reason string) {
	st, ok := outcomeStatuses[outcome]
	if !ok {
		st = outcomeStatuses[routing.Unanswered]
	}
	return st.code, st.reason
}

// errorStatuses is the one place that maps the domain's error codes to
// the answer of a request whose store work failed, as api/hal.go's
// statusOf does for HTTP. A store that cannot serve for now gets 503 (with
// a Retry-After, storeRetryHeader), so that phones and carriers retry or
// fail over rather than take the failure as final; any other failure is
// xc5's own.
var errorStatuses = map[string]sipStatus{
	xc5.EUNAVAILABLE: {sip.StatusServiceUnavailable, "Service Unavailable"},
}

// errorStatus is the answer for an error code (errorStatuses); any other
// code is 500.
func errorStatus(code string) (status int, reason string) {
	st, ok := errorStatuses[code]
	if !ok {
		st = sipStatus{sip.StatusInternalServerError, "Server Internal Error"}
	}
	return st.code, st.reason
}
