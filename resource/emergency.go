package resource

import (
	"strings"

	"xc5/dialplan"
)

// EmergencyLocation is the location of emergency numbers; only
// system-level API access writes callrules naming it.
const EmergencyLocation = "<CallRule-Emergency>"

// ShortCodesLocation lists, whole, the short codes other than emergency
// numbers that may leave over a carrier (105, 1737); any other short code
// is refused.
const ShortCodesLocation = "<CallRule-ShortCodes>"

// emergencyNumbers are emergency numbers whatever the locations say:
// 111, and 112, which mobile phones and NZ networks treat as emergency too.
var emergencyNumbers = [...]string{"111", "112"}

// IsEmergencyNumber reports whether s is 111 or 112.
func IsEmergencyNumber(s string) bool {
	for _, n := range emergencyNumbers {
		if s == n {
			return true
		}
	}
	return false
}

// checkNotForwardToEmergency refuses an emergency number as where a call
// is forwarded or forked to (docs/routing.md, "Emergency calls"): a
// forward would call 111 on behalf of whoever rang, without them knowing,
// and a blast leg would dial it on every call and cancel it when a phone
// answers. field names the field in the message.
func checkNotForwardToEmergency(field, s string) error {
	if IsEmergencyNumber(s) {
		return invalid("%s: %s is an emergency number; calls are never forwarded or forked to emergency services (phones dial it themselves)", field, s)
	}
	return nil
}

// checkNumberDestination refuses, for a number destination, a leading 0:
// destinations are E.164 digits (6493330099, 61299998888), never a
// national or international spelling that would depend on who dials it.
func checkNumberDestination(field string, d dialplan.Destination) error {
	if d.Kind == dialplan.KindNumber && strings.HasPrefix(d.Value, "0") {
		return invalid("%s: %s is not an E.164 number: write destinations with the country code and without 0 or 00 (6493330099, 61299998888)", field, d.Value)
	}
	return nil
}

// parseForwardDestination validates a route destination: any destination
// (parseDestinationField), where a number is E.164 and not an emergency
// number.
func parseForwardDestination(s string) (string, any, error) {
	return parseNumberIn(s, true)
}

// parseCallRuleDestination validates a callrule destination: a number is
// E.164. An emergency number is allowed: a callrule rewrites what the
// caller itself dials (a speed dial, 999 → 111), and such a call goes out
// as the caller's own emergency call.
func parseCallRuleDestination(s string) (string, any, error) {
	return parseNumberIn(s, false)
}

// parseNumberIn checks a destination and, when it is a number, that the
// number is E.164 and (forward) not an emergency number; it returns the
// canonical text and the parsed dialplan.Destination.
func parseNumberIn(s string, forward bool) (string, any, error) {
	out, d, err := parseDestinationField(s)
	if err != nil {
		return "", nil, err
	}
	if out == "" {
		return out, nil, nil
	}
	if err := checkNumberTarget("destination", d, forward); err != nil {
		return "", nil, err
	}
	return out, d, nil
}

// checkNumberTarget checks a parsed destination d of field: a number is
// E.164 and, when the call is forwarded to it, not an emergency number.
func checkNumberTarget(field string, d dialplan.Destination, forward bool) error {
	if err := checkNumberDestination(field, d); err != nil {
		return err
	}
	if forward && d.Kind == dialplan.KindNumber {
		return checkNotForwardToEmergency(field, d.Value)
	}
	return nil
}

// parseMenuDigitMap validates a digit_map whose number actions are E.164
// and not emergency numbers (a menu key forwards the caller); it returns
// the text and the parsed dialplan.DigitMap.
func parseMenuDigitMap(s string) (string, any, error) {
	out, m, err := parseDigitMapField(s)
	if err != nil {
		return "", nil, err
	}
	if out == "" {
		return out, nil, nil
	}
	for _, e := range m.Entries {
		if e.Action.IsMenuJump() {
			continue
		}
		if err := checkNumberTarget("digit_map", e.Action.Destination, true); err != nil {
			return "", nil, err
		}
	}
	return out, m, nil
}

// checkCFA validates a number's cfa: E.164, not an emergency number.
func checkCFA(v any) (any, error) {
	out, err := checkE164OrEmpty(v)
	if err != nil {
		return nil, err
	}
	if err := checkNotForwardToEmergency("cfa", out.(string)); err != nil {
		return nil, err
	}
	return out, nil
}

// checkCfnaDest validates a cfna_dest: E.164 or a username, not an
// emergency number.
func checkCfnaDest(v any) (any, error) {
	out, err := checkDestinationOrEmpty(v)
	if err != nil {
		return nil, err
	}
	if err := checkNotForwardToEmergency("cfna_dest", out.(string)); err != nil {
		return nil, err
	}
	return out, nil
}
