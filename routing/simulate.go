package routing

import (
	"strings"

	"xc5/dialplan"
)

// Set is a set of account usernames; All stands for "*".
type Set struct {
	All   bool
	Names map[string]bool
}

// ParseSet reads "a,b" or "*".
func ParseSet(s string) Set {
	set := Set{Names: map[string]bool{}}
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch p {
		case "":
		case "*":
			set.All = true
		default:
			set.Names[p] = true
		}
	}
	return set
}

// Has reports whether the set holds the account.
func (s Set) Has(a *Account) bool {
	return s.All || s.Names[a.Username] || s.Names[strings.ToLower(a.GUID)]
}

// Simulation is the Driver of the call trace: phones ring only where an
// account is registered, and they answer at once unless told otherwise.
type Simulation struct {
	// Registered says whether an account has a registered phone.
	Registered func(a *Account) bool
	// NoAnswer and Busy list the accounts whose phones do not answer or
	// answer busy.
	NoAnswer, Busy Set
	// DTMF are the digits pressed at successive menus ("" = timeout).
	DTMF []string
}

// Ring implements Driver: the first on-net target that is registered and
// answers wins; otherwise an external leg is taken to answer, since the
// trace cannot know what happens beyond the carrier.
func (s *Simulation) Ring(r Ring) RingResult {
	alerted, busy := 0, 0
	external := -1
	for i, t := range r.Targets {
		if t.Account == nil {
			if external < 0 {
				external = i
			}
			continue
		}
		if s.Registered == nil || !s.Registered(t.Account) {
			continue
		}
		alerted++
		switch {
		case s.Busy.Has(t.Account):
			busy++
		case s.NoAnswer.Has(t.Account):
		default:
			return RingResult{Status: RingAnswered, Index: i}
		}
	}
	switch {
	case external >= 0:
		return RingResult{Status: RingAnswered, Index: external}
	case alerted == 0:
		return RingResult{Status: RingNoPhones}
	case busy == alerted:
		return RingResult{Status: RingBusy}
	}
	return RingResult{Status: RingNoAnswer}
}

// Menu implements Driver with the digits given for the trace.
func (s *Simulation) Menu(n int, prompt string, dm dialplan.DigitMap) string {
	if n < len(s.DTMF) {
		return strings.TrimSpace(s.DTMF[n])
	}
	return ""
}

// AtLimit implements Driver: the trace has no live calls.
func (s *Simulation) AtLimit(a *Account) bool { return false }
