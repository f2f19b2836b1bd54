package resource

import (
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve on machines without a zoneinfo database
	"unicode"
)

var (
	usernameRE = regexp.MustCompile(`^(?:[a-z0-9_][a-z0-9._+\-]*@)?[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9])?)*$`)
	e164RE     = regexp.MustCompile(`^[1-9][0-9]{2,14}$`)
	digitsRE   = regexp.MustCompile(`^[0-9]+$`)
	nameRE     = regexp.MustCompile(`^[a-z0-9_][a-z0-9_.\-]*$`)
	guidRE     = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
)

// IsGUID reports whether s has the 8-4-4-4-12 hex shape of a GUID.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// NormalizeUsername lowercases and validates an account username: a
// domain ("acmebrick.x.co.nz", "admin") or local@domain
// ("reception@acmebrick.x.co.nz"). A leading "_" marks system accounts.
// Usernames double as SIP user names and realms, where case does not
// distinguish accounts, so they are kept in lower case.
func NormalizeUsername(s string) (string, error) {
	u := strings.ToLower(strings.TrimSpace(s))
	if u == "" {
		return "", invalid("username must not be empty")
	}
	if len(u) > 255 || !usernameRE.MatchString(u) {
		return "", invalid("username %q is not a domain or local@domain", s)
	}
	domain := u[strings.LastIndexByte(u, '@')+1:]
	for _, label := range strings.Split(domain, ".") {
		if len(label) > 63 {
			return "", invalid("username %q has a domain label longer than 63 characters", s)
		}
	}
	return u, nil
}

func checkUsername(v any) (any, error) { return NormalizeUsername(v.(string)) }

// checkNumber validates an E.164 number as digits without "+", optionally
// prefixed "a:" (a shared number that outgoing calls may present).
func checkNumber(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	digits := strings.TrimPrefix(s, "a:")
	if !e164RE.MatchString(digits) {
		return nil, invalid("number %q is not an E.164 number (3 to 15 digits, no leading 0 or +, optionally prefixed a:)", v)
	}
	return s, nil
}

// optional returns a check for optional text (spaces trimmed) that, when
// given, must match re; format gets the value as it was sent.
func optional(re *regexp.Regexp, format string) func(any) (any, error) {
	return func(v any) (any, error) {
		s := strings.TrimSpace(v.(string))
		if s != "" && !re.MatchString(s) {
			return nil, invalid(format, v)
		}
		return s, nil
	}
}

// checkE164OrEmpty validates optional E.164 destinations such as cfa.
var checkE164OrEmpty = optional(e164RE, "%q is not an E.164 number (3 to 15 digits, no leading 0 or +)")

// checkDestinationOrEmpty validates a forward target: an E.164 number or
// an account username.
func checkDestinationOrEmpty(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	if s == "" || e164RE.MatchString(s) {
		return s, nil
	}
	if u, err := NormalizeUsername(s); err == nil {
		return u, nil
	}
	return nil, invalid("%q is neither an E.164 number nor an account username", v)
}

func checkTimezone(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	if s == "" {
		return s, nil
	}
	if _, err := time.LoadLocation(s); err != nil || s == "Local" {
		return nil, invalid("timezone %q is not an IANA time zone name such as Pacific/Auckland", v)
	}
	return s, nil
}

// digits returns a check for optional digit strings of a length range.
func digits(what string, min, max int) func(any) (any, error) {
	return func(v any) (any, error) {
		s := strings.TrimSpace(v.(string))
		if s == "" {
			return s, nil
		}
		if !digitsRE.MatchString(s) || len(s) < min || len(s) > max {
			return nil, invalid("%s %q must be %d to %d digits", what, v, min, max)
		}
		return s, nil
	}
}

// code returns a check for an optional country or area code: digits of
// a length range, never starting with 0 (0 is the trunk prefix, not part
// of a code: an area code 09 would make 1234567 the number 64091234567).
func code(what string, min, max int) func(any) (any, error) {
	check := digits(what, min, max)
	return func(v any) (any, error) {
		out, err := check(v)
		if err == nil && strings.HasPrefix(out.(string), "0") {
			return nil, invalid("%s %q must not start with 0: write it without the trunk prefix (9 for Auckland, 64 for New Zealand)", what, v)
		}
		return out, err
	}
}

// CheckNumbering validates a default country code (required) and area
// code (optional) as the account fields take them, for the serve flags.
func CheckNumbering(countryCode, areaCode string) error {
	if countryCode == "" {
		return invalid("country code must not be empty (64 for New Zealand)")
	}
	if _, err := code("country code", 1, 3)(countryCode); err != nil {
		return err
	}
	_, err := code("area code", 1, 5)(areaCode)
	return err
}

// text returns a check for free text of bounded length without control
// characters (values end up in SIP headers and logs).
func text(what string, max int) func(any) (any, error) {
	return func(v any) (any, error) {
		s := v.(string)
		if len(s) > max {
			return nil, invalid("%s is longer than %d bytes", what, max)
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				return nil, invalid("%s must not contain control characters", what)
			}
		}
		return s, nil
	}
}

func checkName(v any) (any, error) {
	s := strings.ToLower(strings.TrimSpace(v.(string)))
	if !nameRE.MatchString(s) || len(s) > 64 {
		return nil, invalid("name %q must be 1 to 64 of a-z 0-9 _ . -", v)
	}
	return s, nil
}
