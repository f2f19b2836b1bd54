package routing

import "xc5/resource"

// EmergencyLocation is the location of emergency numbers. It is shipped
// with 111 and 112 (New Zealand's emergency number, and the one mobile
// phones and NZ networks treat as emergency too); a provider sees and
// extends it through the API like any other location.
const EmergencyLocation = resource.EmergencyLocation

// ShortCodesLocation lists the other short codes that may leave.
const ShortCodesLocation = resource.ShortCodesLocation

// isVoicemailNumber reports one of the provider's voicemail access
// numbers (Defaults.VoicemailNumbers).
func (v *View) isVoicemailNumber(t Translation) bool {
	if !t.IsNumber() || t.Kind == ShortCode {
		return false
	}
	for _, n := range v.defaults.VoicemailNumbers {
		if n == t.Number {
			return true
		}
	}
	return false
}

// IsEmergency reports whether a translated number is an emergency number:
// 111, 112, or a number the <CallRule-Emergency> location lists whole.
// Never by prefix: an emergency call passes every block, so +1 11… (a
// North American number starting like 111) must not be one.
func (v *View) IsEmergency(t Translation) bool {
	if !t.IsNumber() {
		return false
	}
	// 111 and 112 are emergency numbers whatever the locations say, so
	// that deleting or editing a location never makes 111 unreachable.
	if t.Kind == ShortCode && resource.IsEmergencyNumber(t.Number) {
		return true
	}
	return v.listsWhole(EmergencyLocation, t.Number)
}

// listsWhole reports whether a location has number as one of its
// prefixes, whole.
func (v *View) listsWhole(location, number string) bool {
	if l := v.lookupLocation(location); l != nil {
		for _, p := range l.Prefixes {
			if p == number {
				return true
			}
		}
	}
	return false
}

// translate is Translate for the engine: a short code leaves only when
// the provider knows it (an emergency number, or one listed whole in
// <CallRule-ShortCodes>); any other is refused with 404 and the reason.
// The system's country code followed by 0 is refused whatever the
// caller's own numbering (a caller numbered +39, where 390… is real, must
// not reach 640… past the International block: it would leave as a
// National call that a carrier dials as 00…).
func (v *View) translate(dialed, cc, ac string) Translation {
	t := Translate(dialed, cc, ac)
	if sys := v.defaults.CountryCode; t.Kind == E164 && TrunkZero(t.Number, sys) {
		return invalid(404, "Invalid Number", dialed+" is not a valid number: no number of country code "+sys+" continues with 0 (the trunk prefix)")
	}
	if t.Kind == ShortCode && !v.IsEmergency(t) && !v.listsWhole(ShortCodesLocation, t.Number) {
		return invalid(404, "Not Found", t.Number+" is no short code this system knows (only emergency numbers and the codes "+ShortCodesLocation+" lists leave)")
	}
	return t
}

// emergencyCall sends an emergency call out from an account. No callrule
// applies except one naming <CallRule-Emergency> (blocks of other
// locations, prefixes and raw prefixes do not stop it), the
// concurrent_limit does not, and the number is never delivered on-net:
// it always leaves over a carrier.
func (w *walker) emergencyCall(a *Account, chain []*Account, dialed string, t Translation) {
	w.step("emergency", a, t.Number+" is an emergency number: only callrules naming "+EmergencyLocation+" apply, and no concurrent_limit")
	w.inEmergency = true
	if w.ancestorBlocks(a, chain, dialed, t, true) {
		return
	}
	emergencyRule := func(r *CallRule) bool { return r.Location == EmergencyLocation }
	if w.callRules(a, chain, dialed, t, emergencyRule) {
		return
	}
	w.leave(a, t.Number, true, "emergency call leaves over a carrier to ")
}

// DialsEmergency reports whether a dialed string is an emergency number
// with the system's numbering, before the caller is known: cheap enough
// to decide a call's admission (the SIP service's overload check).
func (v *View) DialsEmergency(dialed string) bool {
	return v.IsEmergency(Translate(dialed, v.defaults.CountryCode, v.defaults.AreaCode))
}

// IsTrunkZero reports whether E.164 digits are the system's country code
// followed by 0 (640…): no such number exists, and the API refuses it as a
// destination.
func (v *View) IsTrunkZero(number string) bool {
	return TrunkZero(number, v.defaults.CountryCode)
}

// LocationMatches reports whether a translated number is in the named
// location.
func (v *View) LocationMatches(name string, t Translation) bool {
	l := v.lookupLocation(name)
	return l != nil && l.Matches(t)
}
