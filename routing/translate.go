package routing

import (
	"strconv"
	"strings"
)

// Dialed number kinds: what a dialed string really is after translation.
const (
	// NotNumber has no telephone-number form: an extension, a feature
	// code, a username. Only callrules on the raw string (prefix_raw) can
	// route it.
	NotNumber = iota
	// E164 is a valid international number: digits only, no leading 0,
	// country code first.
	E164
	// ShortCode is a short service number dialed as it stands (111,
	// 112, 105, 1737): three or four digits starting with 1. Translate
	// only recognises the shape; the engine lets out only the codes the
	// provider lists (View.translate, docs/routing.md "Short codes").
	ShortCode
	// Invalid looks like a number but is not one (+0061…, 0000…, too
	// short or too long); it never leaves over a carrier.
	Invalid
)

// Shortest and longest E.164 numbers accepted. E.164 allows 15 digits;
// the shortest real numbers are 7 (Niue +683 xxxx, St Helena +290 xxxx).
// Numbers in the caller's own country need the country code and at least
// 7 more digits (a New Zealand number has 8 or more after 64).
const (
	minE164Digits     = 7
	maxE164Digits     = 15
	minNationalDigits = 7
)

// Translation is a dialed string translated with a country and area code.
type Translation struct {
	Kind   int
	Number string // E164: the digits; ShortCode: the code
	Code   int    // Invalid: the SIP status to refuse with (404, 484)
	Reason string // Invalid: the SIP reason phrase
	Why    string // Invalid: what is wrong, for the trace
}

// IsNumber reports whether the translation names a number that can be
// dialed (E.164 or a short code).
func (t Translation) IsNumber() bool { return t.Kind == E164 || t.Kind == ShortCode }

// e164 is what the engine matches and dials: the number, or "" when the
// string is not a valid number.
func (t Translation) e164() string {
	if t.IsNumber() {
		return t.Number
	}
	return ""
}

// Translate turns a dialed string into what it really is, with the
// country code cc and area code ac of the caller:
//
//	+CC…     E.164 as written
//	00CC…    international (New Zealand's international prefix)
//	0…       national: cc + the rest
//	CC…      9 or more digits starting with the country code: E.164 already
//	xxxxxxx  7 digits with an area code: local
//	1xx 1xxx a short code (111, 112, 105, 1737), as it stands
//
// Visual separators (spaces, -, ., brackets: RFC 3966) are ignored, so
// "00 1 415 555 0123" is 0014155550123. Anything after + or 00 must be a valid E.164 number (no leading 0,
// 7 to 15 digits), a national number must give cc and 7 or more digits:
// so +0061…, 0000061… and +021… are Invalid, never a different spelling
// of an international number that location rules would not see. Nor is
// cc followed by 0 (+64 0…, 640…): no national number of cc starts with
// its trunk prefix 0, and a carrier that turns 64+NSN into 0+NSN would
// dial 00… abroad.
func Translate(dialed, cc, ac string) Translation {
	s, plus := strings.CutPrefix(withoutSeparators(dialed), "+")
	if !allDigits(s) || s == "" {
		if plus {
			return invalid(404, "Invalid Number", dialed+" has characters other than digits after +")
		}
		return Translation{Kind: NotNumber}
	}
	switch {
	case plus:
		return checkE164(dialed, cc, s)
	case strings.HasPrefix(s, "00"):
		return checkE164(dialed, cc, s[2:])
	case strings.HasPrefix(s, "0"):
		return checkNational(dialed, cc, s[1:])
	case strings.HasPrefix(s, cc) && len(s) >= len(cc)+minNationalDigits:
		return checkE164(dialed, cc, s)
	case ac != "" && len(s) == 7:
		return checkNational(dialed, cc, ac+s)
	case IsShortCodeShape(s):
		return Translation{Kind: ShortCode, Number: s}
	}
	return Translation{Kind: NotNumber}
}

// IsShortCodeShape reports whether digits have the shape of a short
// code: three or four digits starting with 1 (111, 105, 1737).
func IsShortCodeShape(s string) bool {
	return (len(s) == 3 || len(s) == 4) && s[0] == '1' && allDigits(s)
}

// keepsTrunkZero are country codes whose national numbers keep their
// leading 0 in E.164 (Italy's +39 06…, San Marino, Vatican City): for
// them cc followed by 0 is a real number.
var keepsTrunkZero = map[string]bool{"39": true, "378": true, "379": true}

// TrunkZero reports whether E.164 digits s are country code cc followed
// by its trunk prefix 0 (640…), which no number of cc is (Italy and its
// neighbours aside): a carrier that turns cc+NSN into 0+NSN would dial
// 00… abroad. cc "" never matches.
func TrunkZero(s, cc string) bool {
	return cc != "" && !keepsTrunkZero[cc] && strings.HasPrefix(s, cc+"0")
}

// checkE164 accepts digits that are a valid E.164 number; cc is the
// caller's own country code ("" for none), whose numbers never continue
// with 0.
func checkE164(dialed, cc, s string) Translation {
	switch {
	case TrunkZero(s, cc):
		return invalid(404, "Invalid Number", dialed+" is not a valid number: no number of country code "+cc+" continues with 0 (the trunk prefix)")
	case s == "":
		return invalid(484, "Address Incomplete", dialed+" has no number after the international prefix")
	case s[0] == '0':
		return invalid(404, "Invalid Number", dialed+" is not a valid number: a country code never starts with 0")
	case len(s) < minE164Digits:
		return invalid(484, "Address Incomplete", dialed+" is too short for an international number ("+strconv.Itoa(len(s))+" digits)")
	case len(s) > maxE164Digits:
		return invalid(404, "Invalid Number", dialed+" is too long for a telephone number ("+strconv.Itoa(len(s))+" digits, at most 15)")
	}
	return Translation{Kind: E164, Number: s}
}

// checkNational accepts a national significant number in country cc.
func checkNational(dialed, cc, nsn string) Translation {
	if len(nsn) < minNationalDigits {
		return invalid(484, "Address Incomplete", dialed+" is too short for a national number")
	}
	return checkE164(dialed, cc, cc+nsn)
}

func invalid(code int, reason, why string) Translation {
	return Translation{Kind: Invalid, Code: code, Reason: reason, Why: why}
}

// Matches reports whether a translated number is in the location: an
// E.164 number when it starts with one of the prefixes and none of the
// exclusions, a short code only when a prefix is the whole code. A short
// code is not an international number because it starts with 1.
func (l *Location) Matches(t Translation) bool {
	switch t.Kind {
	case E164:
		return l.Contains(t.Number)
	case ShortCode:
		for _, p := range l.Prefixes {
			if p == t.Number {
				return true
			}
		}
	}
	return false
}

// separators are RFC 3966's visual separators, and a space.
var separators = strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "")

// withoutSeparators drops visual separators from a string that is a
// number with them; anything else (a username with a dot) is returned as
// it is.
func withoutSeparators(s string) string {
	if !strings.ContainsAny(s, " -.()") {
		return s
	}
	t := separators.Replace(s)
	if allDigits(strings.TrimPrefix(t, "+")) {
		return t
	}
	return s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
