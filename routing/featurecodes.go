package routing

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
