package routing

import (
	"strings"
	"time"

	"xc5/dialplan"
	"xc5/resource"
)

// lookupAccount finds an account by username or GUID.
func (v *View) lookupAccount(id string) *Account {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if a := v.byName[id]; a != nil { // usernames are stored lower case, and usually asked so
		return a
	}
	if a := v.accounts[id]; a != nil {
		return a
	}
	if lower := strings.ToLower(id); lower != id {
		if a := v.byName[lower]; a != nil {
			return a
		}
	}
	if len(id) == 36 && resource.IsGUID(id) {
		return v.accounts[strings.ToUpper(id)]
	}
	return nil
}

func (v *View) accountByGUID(guid string) *Account {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.accounts[guid]
}

func (v *View) lookupNumber(e164 string) *Number {
	if e164 == "" {
		return nil
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.numbers[e164]
}

func (v *View) lookupPrompt(code string) *Prompt {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.prompts[code]
}

func (v *View) lookupLocation(name string) *Location {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.locations[name]
}

// timeSet resolves a named time set for dialplan.
func (v *View) timeSet(name string) dialplan.TimeSet {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.timeSets[name]
}

// ancestors returns the account and its ancestors, nearest first.
func (v *View) ancestors(a *Account) []*Account {
	chain := make([]*Account, 0, 4)
	v.mu.RLock()
	defer v.mu.RUnlock()
	for a != nil && len(chain) < maxDepth {
		chain = append(chain, a)
		if a.Parent == "" {
			break
		}
		a = v.accounts[a.Parent]
	}
	return chain
}

// Zone returns the time zone an account's calls are decided in: its own
// or the nearest ancestor's timezone, else the system's (the company
// portal reads "at 21:00" in it).
func (v *View) Zone(a *Account) *time.Location { return v.zone(v.ancestors(a)) }

// Chain returns the account and its ancestors, nearest first.
func (v *View) Chain(a *Account) []*Account { return v.ancestors(a) }

// Enabled reports whether an account and all its ancestors are enabled:
// a provider disabling a company stops every account below it.
func (v *View) Enabled(a *Account) bool {
	for _, x := range v.ancestors(a) {
		if !x.Enabled {
			return false
		}
	}
	return true
}

// inheritedNumbering returns the country and area codes of an account
// chain, falling back to the system defaults.
func (v *View) inheritedNumbering(chain []*Account) (cc, ac string) {
	for _, a := range chain {
		if cc == "" {
			cc = a.CountryCode
		}
		if ac == "" {
			ac = a.AreaCode
		}
	}
	if cc == "" {
		cc = v.defaults.CountryCode
	}
	if ac == "" {
		ac = v.defaults.AreaCode
	}
	return cc, ac
}

// zone returns the inherited time zone of an account chain.
func (v *View) zone(chain []*Account) *time.Location {
	for _, a := range chain {
		if a.Timezone != "" {
			v.mu.RLock()
			loc := v.zones[a.Timezone]
			v.mu.RUnlock()
			if loc != nil {
				return loc
			}
			if loc, err := time.LoadLocation(a.Timezone); err == nil {
				v.mu.Lock()
				v.zones[a.Timezone] = loc
				v.mu.Unlock()
				return loc
			}
		}
	}
	return v.defaults.Location
}

// PickupGroup returns an account's inherited pickup group.
func (v *View) PickupGroup(a *Account) string {
	for _, x := range v.ancestors(a) {
		if x.PickupGroup != "" {
			return x.PickupGroup
		}
	}
	return ""
}

// HoldMusic is the prompt an account's held and parked callers hear: the
// hold_prompt of the nearest account of its chain that sets one, if that
// prompt belongs to that account or one of its ancestors (a company
// cannot play another's audio); "" for the system hold music.
func (v *View) HoldMusic(a *Account) string {
	chain := v.ancestors(a)
	v.mu.RLock()
	defer v.mu.RUnlock()
	for i, x := range chain {
		if x.HoldPrompt == "" {
			continue
		}
		owner := v.promptAcc[strings.ToUpper(x.HoldPrompt)]
		if owner == "" {
			owner = v.promptAcc[x.HoldPrompt]
		}
		for _, y := range chain[i:] {
			if owner != "" && y.GUID == owner {
				return x.HoldPrompt
			}
		}
	}
	return ""
}

// Company returns the root of an account's company: the nearest account
// of its chain (itself included) that holds api_access=user (a
// partition), else its top-level account. Everything meant by "the same
// company" (pickup, *22 prompt codes) compares these roots
// (docs/api.md, "What a partitioned user may do").
func (v *View) Company(a *Account) *Account {
	chain := v.ancestors(a)
	for _, x := range chain {
		if x.Partition {
			return x
		}
	}
	return chain[len(chain)-1]
}

// SameCompany reports whether two accounts have the same company root.
func (v *View) SameCompany(a, b *Account) bool {
	return a != nil && b != nil && v.Company(a).GUID == v.Company(b).GUID
}

// sameOrganisation reports whether account guid is of the caller's
// company: prompts are recorded from "any phone within the organisation".
func (v *View) sameOrganisation(a *Account, guid string) bool {
	return v.SameCompany(a, v.accountByGUID(guid))
}

// PresentedNumber is the number an account presents when its phone
// offers none of its own: its own first number that is not a pilot, else
// the nearest is-pilot number of the account or an ancestor, else its
// username. An "a:" number (one the account may present without owning
// it alone) is presented without the prefix. Whether it is withheld
// (private) is the caller's business.
func (v *View) PresentedNumber(a *Account) string {
	for _, n := range a.Numbers {
		if !n.IsPilot {
			return strings.TrimPrefix(n.Number, "a:")
		}
	}
	for _, x := range v.ancestors(a) {
		for _, n := range x.Numbers {
			if n.IsPilot {
				return strings.TrimPrefix(n.Number, "a:")
			}
		}
	}
	return a.Username
}

// Presentation is the number an account's call presents, given the
// numbers its phone offers (best first): the first offer that is one of
// the account's own numbers, its "a:" numbers included, compared after
// translation to E.164 with the account's numbering (so 09 929 0089,
// +6499290089 and 6499290089 are one number); otherwise, for a phone that
// offers nothing valid, the default PresentedNumber. A phone can never
// present a number its account does not hold.
func (v *View) Presentation(a *Account, offers []string) string {
	cc, ac := v.inheritedNumbering(v.ancestors(a))
	for _, o := range offers {
		t := Translate(o, cc, ac)
		if t.Kind != E164 {
			continue
		}
		for _, n := range a.Numbers {
			if strings.TrimPrefix(n.Number, "a:") == t.Number {
				return t.Number
			}
		}
	}
	return v.PresentedNumber(a)
}

// presented is the presentation shown in a trace.
func (v *View) presented(a *Account, offers []string) string {
	if a.Private {
		return "anonymous (private)"
	}
	return v.Presentation(a, offers)
}

// Extension resolves an extension through the extension plan of an
// account's organisation: the callrules of the account and its ancestors
// whose prefix_raw is the extension and which name a username.
func (v *View) Extension(a *Account, ext string) *Account {
	for _, x := range v.ancestors(a) {
		for _, r := range x.CallRules {
			if r.PrefixRaw == ext && r.Username != "" && !r.EarlyRule {
				return v.lookupAccount(r.Username)
			}
		}
	}
	return nil
}

// Account returns an account of the view by username or GUID, or nil.
func (v *View) Account(id string) *Account { return v.lookupAccount(id) }

// AccountRecord returns an account as the API shows it, from the view, and
// whether the view has it (not while loading, and never the pool). A
// single node answers account reads from here: the view is updated before
// a write is acknowledged, and it saves a second copy of every account.
func (v *View) AccountRecord(id string) (resource.Record, bool) {
	select {
	case <-v.Ready():
	default:
		return resource.Record{}, false
	}
	a := v.lookupAccount(id)
	if a == nil {
		return resource.Record{}, false
	}
	chain := v.ancestors(a)
	var path strings.Builder
	path.WriteByte('/')
	for i := len(chain) - 1; i >= 0; i-- {
		path.WriteString(chain[i].GUID)
		path.WriteByte('/')
	}
	if chain[len(chain)-1].Parent != "" {
		return resource.Record{}, false // an ancestor is missing (the pool, or a load in progress)
	}
	return resource.Record{GUID: a.GUID, Parent: a.Parent, Path: path.String(), Values: map[string]any{
		"guid": a.GUID, "username": a.Username, "parent": a.Parent, "enabled": a.Enabled,
		"cfna_duration": int64(a.CfnaDuration), "cfna_dest": a.CfnaDest, "cfna_active": a.CfnaActive, "dnd": a.DND,
		"pickup_group": a.PickupGroup, "ums_pin": a.UmsPin, "concurrent_limit": int64(a.ConcurrentLimit),
		"private": a.Private, "callerid": a.CallerID, "timezone": a.Timezone,
		"country_code": a.CountryCode, "area_code": a.AreaCode, "hold_prompt": a.HoldPrompt,
	}}, true
}
