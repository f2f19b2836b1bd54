package dialplan

import (
	"fmt"
	"strconv"
	"strings"
)

// TimeoutKey is the digit_map key taken when the caller dials nothing before
// the menu times out. Pass it to DigitMap.Lookup to find the timeout action.
const TimeoutKey = "T"

// maxLevelDigits bounds a menu level so that it always fits in an int.
const maxLevelDigits = 9

// Action is what an IVR menu does once the caller's digits match a key:
// either move to another menu level of the same route set, or leave the
// menu for a destination. Exactly one of MenuLevel and Destination is set.
type Action struct {
	// MenuLevel, when positive, is the menu level to jump to ("#3").
	MenuLevel int
	// Destination is where to send the call when MenuLevel is 0.
	Destination Destination
}

// IsMenuJump reports whether the action stays inside the IVR, which decides
// whether the router plays another prompt or transfers the call.
func (a Action) IsMenuJump() bool { return a.MenuLevel > 0 }

// String returns the canonical text of the action: "#N" or a destination.
func (a Action) String() string {
	if a.IsMenuJump() {
		return "#" + strconv.Itoa(a.MenuLevel)
	}
	return a.Destination.String()
}

// DigitMapEntry binds one key (a DTMF string or TimeoutKey) to an action.
type DigitMapEntry struct {
	Keys   string
	Action Action
}

// DigitMap is the parsed digit_map of an IVR route. Entries keep the order
// in which they were written, so that String reproduces the author's layout;
// matching never depends on the order because keys are unique and matched
// exactly.
type DigitMap struct {
	Entries []DigitMapEntry
}

// ParseDigitMap validates a digit_map such as "1=#3,5=#2,T=#3" so that a
// menu which could never work is refused when it is stored. An empty (or
// blank) text is a valid map with no entries. White space around entries,
// keys and actions is ignored.
func ParseDigitMap(s string) (DigitMap, error) {
	counted(s)
	var m DigitMap
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	seen := make(map[string]bool)
	for i, raw := range strings.Split(s, ",") {
		entry := strings.TrimSpace(raw)
		fail := func(format string, args ...any) (DigitMap, error) {
			return DigitMap{}, syntaxErr("digit_map", s, "entry %d (%q): %s", i+1, entry, fmt.Sprintf(format, args...))
		}
		if entry == "" {
			return fail("empty entry (stray comma?)")
		}
		keys, actionText, ok := strings.Cut(entry, "=")
		if !ok {
			return fail("want KEYS=ACTION")
		}
		keys, actionText = strings.TrimSpace(keys), strings.TrimSpace(actionText)
		switch {
		case keys == "":
			return fail("keys missing before \"=\"")
		case keys != TimeoutKey && !isDialString(keys):
			return fail("keys %q must be DTMF digits (0-9 * #) or T", keys)
		case seen[keys]:
			return fail("key %q is already mapped", keys)
		}
		seen[keys] = true
		action, msg := parseAction(actionText)
		if msg != "" {
			return fail("%s", msg)
		}
		m.Entries = append(m.Entries, DigitMapEntry{Keys: keys, Action: action})
	}
	return m, nil
}

// parseAction returns a non-empty message when text is not a valid action.
func parseAction(text string) (Action, string) {
	if text == "" {
		return Action{}, "action missing after \"=\""
	}
	// "#N" is a menu jump; "#%"-style patterns are destinations.
	if text[0] == '#' && !strings.Contains(text, "%") {
		n := text[1:]
		switch {
		case n == "":
			return Action{}, "menu level missing after \"#\""
		case !isDigits(n):
			return Action{}, "menu level " + strconv.Quote(n) + " is not a number"
		case n[0] == '0':
			return Action{}, "menu level must be a positive number without leading zeros"
		case len(n) > maxLevelDigits:
			return Action{}, "menu level " + n + " is too large"
		}
		level, _ := strconv.Atoi(n)
		return Action{MenuLevel: level}, ""
	}
	d, err := ParseDestination(text)
	if err != nil {
		return Action{}, err.Error()
	}
	return Action{Destination: d}, ""
}

// Lookup returns the action whose key equals digits exactly; an IVR calls it
// with the digits collected so far, or with TimeoutKey when the caller
// dialed nothing.
func (m DigitMap) Lookup(digits string) (Action, bool) {
	for _, e := range m.Entries {
		if e.Keys == digits {
			return e.Action, true
		}
	}
	return Action{}, false
}

// IsPrefix reports whether digits is a proper prefix of some DTMF key, which
// tells an IVR to keep collecting digits (possibly after a match for
// digits itself, when both "1" and "12" are keys) instead of acting now.
// The timeout key is never extended by digits.
func (m DigitMap) IsPrefix(digits string) bool {
	for _, e := range m.Entries {
		if e.Keys != TimeoutKey && len(e.Keys) > len(digits) && strings.HasPrefix(e.Keys, digits) {
			return true
		}
	}
	return false
}

// MaxKeyLen is the length of the longest DTMF key (the timeout key does not
// count), the most digits an IVR ever needs to collect for this menu.
func (m DigitMap) MaxKeyLen() int {
	n := 0
	for _, e := range m.Entries {
		if e.Keys != TimeoutKey && len(e.Keys) > n {
			n = len(e.Keys)
		}
	}
	return n
}

// String returns the canonical text: entries in their original order as
// KEYS=ACTION joined by commas, with no white space.
func (m DigitMap) String() string {
	var b strings.Builder
	for i, e := range m.Entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.Keys)
		b.WriteByte('=')
		b.WriteString(e.Action.String())
	}
	return b.String()
}
