package routing

import "strings"

// ExtensionOf is an account's extension in its organisation's extension
// plan (the first callrule of the account's ancestors, nearest first,
// whose prefix_raw dials it by username), "" when it has none. The busy
// lamps name it in the directed pickup code (**EXT) of a ringing line.
func (v *View) ExtensionOf(a *Account) string {
	for _, x := range v.ancestors(a) {
		for _, r := range x.CallRules {
			if r.Username == a.Username && r.PrefixRaw != "" && !r.EarlyRule {
				return r.PrefixRaw
			}
		}
	}
	return ""
}

// Setting is the outcome of a feature code that changes the caller's own
// settings by phone (do-not-disturb, call forwards): the SIP service
// writes the change through the store, as the API would, and plays the
// confirmation. Outcome.Setting says which change, Outcome.Number the
// destination a forward is set to.
const Setting = "setting"

// The settings the feature codes change (Outcome.Setting), and the codes.
const (
	SettingDNDOn   = "dnd-on"   // *78: account dnd true
	SettingDNDOff  = "dnd-off"  // *79: account dnd false
	SettingCFAOn   = "cfa-on"   // *72NUMBER: cfa of the account's own numbers
	SettingCFAOff  = "cfa-off"  // *73: cfa of the account's own numbers cleared
	SettingCFNAOn  = "cfna-on"  // *52[NUMBER]: cfna_dest (when given), cfna_active true
	SettingCFNAOff = "cfna-off" // *53: cfna_active false
)

// settingCodes maps each code to its setting and whether a destination
// may follow it.
var settingCodes = []struct {
	code, setting string
	dest          bool
}{
	{"*78", SettingDNDOn, false},
	{"*79", SettingDNDOff, false},
	{"*72", SettingCFAOn, true},
	{"*73", SettingCFAOff, false},
	{"*52", SettingCFNAOn, true},
	{"*53", SettingCFNAOff, false},
}

// settingCode reads a settings feature code dialed by account a. A
// destination is what a caller of a would reach with it: an extension of
// a's organisation becomes its username (cfna_dest accepts one), a number
// its E.164 form with a's inherited numbering; anything else is passed on
// as dialed, and the store refuses it as the API would.
func (w *walker) settingCode(a *Account, chain []*Account, code string) (Outcome, bool) {
	for _, s := range settingCodes {
		rest, ok := strings.CutPrefix(code, s.code)
		rest = strings.TrimSpace(rest) // "*52 ": bare *52, not a blank destination
		if !ok || (rest != "" && !s.dest) {
			continue
		}
		o := Outcome{Outcome: Setting, Setting: s.setting}
		if rest != "" {
			o.Number = rest
			if s.setting == SettingCFNAOn {
				if x := w.v.Extension(a, rest); x != nil {
					o.Number = x.Username
				}
			}
			cc, ac := w.v.inheritedNumbering(chain)
			if t := w.v.translate(rest, cc, ac); t.Kind == E164 && o.Number == rest {
				o.Number = t.Number
			}
		}
		what := code + " sets " + s.setting
		if o.Number != "" {
			what += " to " + o.Number
		}
		w.step("feature", a, what)
		return o, true
	}
	return Outcome{}, false
}
