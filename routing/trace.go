package routing

import (
	"time"

	"xc5/dialplan"
)

// Call is a call to decide.
type Call struct {
	// From is the calling account (username or GUID), or an external
	// number arriving from a carrier.
	From string
	// Dialed is the dialed string as typed (or the called number from a
	// carrier).
	Dialed string
	// At is when the call is made.
	At time.Time
	// Presents are the numbers the caller's phone offers to present
	// (P-Asserted-Identity, P-Preferred-Identity, the From user), best
	// first; see View.Presentation.
	Presents []string
	// External marks a call from a carrier (a trunk): From is only the
	// number the carrier sent and is never looked up as an account, so a
	// carrier cannot place a call as one of ours by naming its username,
	// GUID or a numeric username in From. A user-level trace sets it too
	// when From is an account outside the caller's partition, which is
	// then answered as for any unknown caller.
	External bool
}

// Step is one thing the engine did, in the order it did it.
type Step struct {
	Kind     string
	Account  string
	Text     string
	GUID     string
	Order    int
	HasOrder bool
}

// Outcome kinds.
const (
	Answered     = "answered"
	Email        = "email"
	Dropped      = "dropped"
	Conference   = "conference"
	External     = "external"
	RecordPrompt = "record-prompt"
	Voicemail    = "voicemail"
	Mailbox      = "mailbox" // the caller dials in to its own mailbox (MailboxCode)
	Unanswered   = "unanswered"
	Busy         = "busy"
)

// Outcome is how a call ends. Only the fields of its kind are set.
type Outcome struct {
	Outcome string
	By      string // answered: the username (or external number) that answered
	To      string // email: the address
	Prompt  string // email, record-prompt: the prompt GUID
	Code    int    // dropped: the SIP status
	Reason  string // dropped: the reason phrase
	Room    string // conference
	Number  string // external: the E.164 number or short code
	// Emergency is set on an external outcome to an emergency number, so
	// that the carrier leg can say so (Priority: emergency).
	Emergency bool
	Mailbox   string // voicemail, mailbox: the mailbox's account
	Setting   string // setting: which setting a feature code changes (featurecodes.go)
	Record    []string
}

// Trace is a decided call: the steps and the outcome.
type Trace struct {
	Steps   []Step
	Outcome Outcome
}

// Target is one party a ring alerts: an account's phones, or an external
// number over a carrier.
type Target struct {
	Account  *Account
	External string
}

// Ring asks the driver to alert targets at once.
type Ring struct {
	// Account is the account whose rule rings (for CDRs and pickup).
	Account *Account
	Targets []Target
	Seconds int
	// Hunt is true for a hunt member (its routes are not applied).
	Hunt bool
	// AlertInfo is the distinctive ring of the number called, if any.
	AlertInfo string
	// Emergency marks the external leg of an emergency call.
	Emergency bool
}

// RingStatus is what happened to a ring.
type RingStatus int

// Ring results.
const (
	RingAnswered RingStatus = iota
	RingNoAnswer
	RingBusy
	RingNoPhones // nothing could be alerted (no registration)
)

// RingResult reports a ring: who answered (an index into Targets) or why
// nobody did.
type RingResult struct {
	Status RingStatus
	Index  int
}

// Driver carries out what the engine decides: the call trace simulates
// it, the SIP service does it for real.
type Driver interface {
	// Ring alerts the targets at once for up to Seconds.
	Ring(r Ring) RingResult
	// Menu plays prompt and returns the digits pressed at the call's n-th
	// menu (0-based), "" for a timeout.
	Menu(n int, prompt string, dm dialplan.DigitMap) string
	// AtLimit reports whether an account is at its concurrent_limit.
	AtLimit(a *Account) bool
}
