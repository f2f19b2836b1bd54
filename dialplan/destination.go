package dialplan

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind tells the call router what to do with a destination; each kind is
// handled by a different part of the PBX, so the router switches on it.
type Kind int

// The destination kinds. The zero value is deliberately not a valid kind, so
// a Destination that was never parsed cannot be mistaken for a real one.
const (
	KindInvalid    Kind = iota
	KindNumber          // an E.164 number, digits only: 6499290088
	KindUsername        // a user or account: reception@acmebrick.x.co.nz, acmebrick.x.co.nz
	KindExtension       // an extension of the same account: :600
	KindEmail           // send the caller to voicemail-to-email: email:reception@example.co.nz
	KindDrop            // reject the call with a SIP status: drop:404:destination blocked
	KindConference      // join a conference room: conference:6499290085
	KindPattern         // dialed digits rewritten around the rest of the digits: *%, 09%
)

var kindNames = [...]string{"invalid", "number", "username", "extension", "email", "drop", "conference", "pattern"}

// String names the kind in lower case, for logs and error messages.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Destination is where a route sends a call. Only the fields that belong to
// Kind are set; all fields are plain values so Destinations compare with ==.
type Destination struct {
	Kind Kind
	// Value is the kind's operand without its scheme: the digits of a
	// number, the lower-cased username, the extension digits (without the
	// colon), the e-mail address, the conference room, or the pattern text
	// including its "%". Empty for KindDrop.
	Value string
	// Code is the SIP status code (400-699) of a KindDrop destination.
	Code int
	// Reason is the SIP reason phrase of a KindDrop destination; may be empty.
	Reason string
}

// MaxNumberDigits is the longest number E.164 allows; longer digit strings
// are typing mistakes, not numbers.
const MaxNumberDigits = 15

// ParseDestination validates and decodes the text of a destination, so that
// a bad destination is rejected when the rule is stored rather than when a
// caller is routed to it. Surrounding white space is ignored; usernames and
// schemes are case-insensitive and come back lower-cased.
func ParseDestination(s string) (Destination, error) {
	counted(s)
	in := s
	s = strings.TrimSpace(s)
	fail := func(format string, args ...any) (Destination, error) {
		return Destination{}, syntaxErr("destination", in, format, args...)
	}
	if s == "" {
		return fail("empty destination")
	}
	if scheme, rest, ok := strings.Cut(s, ":"); ok {
		switch strings.ToLower(scheme) {
		case "":
			if rest == "" {
				return fail("extension missing after \":\"")
			}
			if !isDialString(rest) {
				return fail("extension %q may only contain digits, * and #", rest)
			}
			return Destination{Kind: KindExtension, Value: rest}, nil
		case "email":
			if msg := checkEmail(rest); msg != "" {
				return fail("%s", msg)
			}
			return Destination{Kind: KindEmail, Value: rest}, nil
		case "drop":
			return parseDrop(rest, fail)
		case "conference":
			if rest == "" {
				return fail("conference room missing")
			}
			for _, r := range rest {
				if !isAlnum(r) && r != '_' && r != '.' && r != '-' {
					return fail("conference room %q may only contain letters, digits, _ . and -", rest)
				}
			}
			return Destination{Kind: KindConference, Value: rest}, nil
		default:
			return fail("unknown scheme %q (want email:, drop:, conference: or :EXTENSION)", scheme)
		}
	}
	if strings.Contains(s, "%") {
		if strings.Count(s, "%") != 1 {
			return fail("a pattern has exactly one %%")
		}
		if rest := strings.Replace(s, "%", "", 1); rest != "" && !isDialString(rest) {
			return fail("a pattern may only contain digits, *, # and one %%")
		}
		return Destination{Kind: KindPattern, Value: s}, nil
	}
	if isDigits(s) {
		if len(s) > MaxNumberDigits {
			return fail("a number has at most %d digits, this has %d", MaxNumberDigits, len(s))
		}
		return Destination{Kind: KindNumber, Value: s}, nil
	}
	if s[0] == '+' && isDigits(s[1:]) {
		return fail("write numbers as E.164 digits without the leading +")
	}
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return fail("username may not contain %q", r)
		}
	}
	if msg := checkUsername(strings.ToLower(s)); msg != "" {
		return fail("%s", msg)
	}
	return Destination{Kind: KindUsername, Value: strings.ToLower(s)}, nil
}

func parseDrop(rest string, fail func(string, ...any) (Destination, error)) (Destination, error) {
	codeText, reason, _ := strings.Cut(rest, ":")
	if len(codeText) != 3 || !isDigits(codeText) {
		return fail("drop needs a three-digit SIP status code, as in drop:404:reason")
	}
	code, _ := strconv.Atoi(codeText)
	if code < 400 || code > 699 {
		return fail("drop code %d is not a SIP failure code (400-699)", code)
	}
	reason = strings.TrimSpace(reason)
	if !utf8.ValidString(reason) {
		return fail("drop reason is not valid UTF-8")
	}
	for _, r := range reason {
		if r == ',' || !unicode.IsPrint(r) {
			return fail("drop reason may not contain %q", r)
		}
	}
	return Destination{Kind: KindDrop, Code: code, Reason: reason}, nil
}

// String returns the canonical text of the destination, which
// ParseDestination accepts and decodes to an equal Destination.
func (d Destination) String() string {
	switch d.Kind {
	case KindExtension:
		return ":" + d.Value
	case KindEmail:
		return "email:" + d.Value
	case KindConference:
		return "conference:" + d.Value
	case KindDrop:
		s := "drop:" + strconv.Itoa(d.Code)
		if d.Reason != "" {
			s += ":" + d.Reason
		}
		return s
	default:
		return d.Value
	}
}

// Expand substitutes the digits the caller dialed after the matched prefix
// for the "%" of a KindPattern destination, giving the digits to dial on.
// Other kinds do not depend on the dialed digits and return String().
func (d Destination) Expand(rest string) string {
	if d.Kind != KindPattern {
		return d.String()
	}
	return strings.Replace(d.Value, "%", rest, 1)
}

func checkEmail(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" {
		return "an e-mail destination needs an address like name@example.co.nz"
	}
	for _, r := range local {
		if !isAlnum(r) && !strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", r) {
			return "e-mail address may not contain " + strconv.QuoteRune(r)
		}
	}
	if msg := checkDomain(domain); msg != "" {
		return "e-mail " + msg
	}
	if !strings.Contains(domain, ".") {
		return "e-mail domain " + strconv.Quote(domain) + " has no dot"
	}
	return ""
}

// checkUsername takes the lower-cased text.
func checkUsername(s string) string {
	const want = "not a number, extension, pattern or username (usernames look like name@domain or a.domain.name)"
	local, domain, hasAt := strings.Cut(s, "@")
	if !hasAt {
		if !strings.Contains(s, ".") {
			return want
		}
		if msg := checkDomain(s); msg != "" {
			return "username " + msg
		}
		if !strings.ContainsFunc(s, unicode.IsLetter) {
			return want
		}
		return ""
	}
	if local == "" || domain == "" {
		return "username needs text on both sides of @"
	}
	for _, r := range local {
		if !isAlnum(r) && !strings.ContainsRune("._+-", r) {
			return "username may not contain " + strconv.QuoteRune(r)
		}
	}
	if msg := checkDomain(domain); msg != "" {
		return "username " + msg
	}
	return ""
}

// checkDomain accepts dot-separated labels of letters, digits, _ and -.
func checkDomain(d string) string {
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return "domain " + strconv.Quote(d) + " has an empty label"
		}
		for _, r := range label {
			if !isAlnum(r) && r != '-' && r != '_' {
				return "domain " + strconv.Quote(d) + " may not contain " + strconv.QuoteRune(r)
			}
		}
	}
	return ""
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDialString reports whether s is non-empty DTMF: digits, * and #.
func isDialString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && c != '*' && c != '#' {
			return false
		}
	}
	return true
}
