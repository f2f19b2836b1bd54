package routing

import (
	"sort"
	"strings"

	"xc5/resource"
)

// applyChange updates the view from a change that carries the written
// record (or names the deleted one), without reading the store: a number
// created in an account with thousands of them must not reload them all.
// It reports false when the change needs a reload instead.
func (v *View) applyChange(c resource.Change) bool {
	if c.Record == nil && !c.Deleted {
		return false
	}
	switch c.Resource.Routing {
	case resource.RoutingAccount:
		if c.Deleted {
			v.RemoveAccount(c.GUID)
			return true
		}
		if c.Record.Values["username"] == resource.SystemPool {
			return true
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		old := v.accounts[c.Record.GUID]
		a := AccountFromRecord(*c.Record)
		if old != nil {
			a.Routes, a.CallRules, a.Forks, a.Numbers = old.Routes, old.CallRules, old.Forks, old.Numbers
			a.Partition = old.Partition
			if v.byName[old.Username] == old {
				delete(v.byName, old.Username)
			}
		}
		v.accounts[a.GUID] = a
		v.byName[a.Username] = a
		return true
	case resource.RoutingRecord:
	default:
		return false
	}
	guid := c.GUID
	if c.Record != nil {
		guid = c.Record.GUID
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	// Numbers move only between an account and the pool (which the view
	// does not hold), so a number is only ever in the account named.
	old := v.accounts[c.Account]
	if old == nil {
		return true // the pool, or an account this view does not hold
	}
	var rec *resource.Record
	if !c.Deleted {
		rec = c.Record
	}
	return v.replaceLocked(old, c.Resource, guid, rec)
}

// replaceLocked publishes a copy of a with the record guid of kind r
// replaced by rec (removed when rec is nil). Accounts are never changed in
// place, since decisions read them without the lock. It reports false,
// changing nothing, for a kind of record it does not know (described as
// RoutingRecord but not in recordKinds): the caller reloads the account.
func (v *View) replaceLocked(old *Account, r *resource.Resource, guid string, rec *resource.Record) bool {
	replace := recordKinds[r]
	if replace == nil {
		return false
	}
	a := *old
	replace(v, &a, guid, rec)
	v.accounts[a.GUID] = &a
	if v.byName[a.Username] == old {
		v.byName[a.Username] = &a
	}
	return true
}

// recordKinds says, for each kind of record the view applies alone
// (resource.RoutingRecord), how one record replaces its predecessor in a
// (a copy, with the view's lock held): the view keeps each kind in a list
// and index of its own.
var recordKinds = map[*resource.Resource]func(v *View, a *Account, guid string, rec *resource.Record){
	resource.Number:   (*View).replaceNumber,
	resource.Route:    (*View).replaceRoute,
	resource.CallRule: (*View).replaceCallRule,
	resource.Fork:     (*View).replaceFork,
	resource.Prompt:   (*View).replacePrompt,
}

// replaceNumber replaces a number in a's list and in the index of
// numbers (a shared a: number is not indexed).
func (v *View) replaceNumber(a *Account, guid string, rec *resource.Record) {
	var nums []*Number
	for _, n := range a.Numbers {
		if n.GUID == guid {
			if v.numbers[n.Number] == n {
				delete(v.numbers, n.Number)
			}
			continue
		}
		nums = append(nums, n)
	}
	if rec != nil {
		n := NumberFromRecord(*rec)
		nums = append(nums, n)
		if !strings.HasPrefix(n.Number, "a:") {
			v.numbers[n.Number] = n
		}
	}
	a.Numbers = nums
}

// replaceRoute replaces a route, keeping the routes in order.
func (v *View) replaceRoute(a *Account, guid string, rec *resource.Record) {
	var routes []*Route
	for _, x := range a.Routes {
		if x.GUID != guid {
			routes = append(routes, x)
		}
	}
	if rec != nil {
		routes = append(routes, routeOf(*rec))
	}
	sort.SliceStable(routes, func(i, j int) bool {
		if routes[i].Order != routes[j].Order {
			return routes[i].Order < routes[j].Order
		}
		return routes[i].seq < routes[j].seq
	})
	a.Routes = routes
}

// replaceCallRule replaces a callrule, keeping the rules in order.
func (v *View) replaceCallRule(a *Account, guid string, rec *resource.Record) {
	var rules []*CallRule
	for _, x := range a.CallRules {
		if x.GUID != guid {
			rules = append(rules, x)
		}
	}
	if rec != nil {
		rules = append(rules, callRuleOf(*rec))
	}
	sort.SliceStable(rules, func(i, j int) bool {
		if rules[i].Order != rules[j].Order {
			return rules[i].Order < rules[j].Order
		}
		return rules[i].seq < rules[j].seq
	})
	a.CallRules = rules
}

// replaceFork replaces a fork and the destinations a call rings.
func (v *View) replaceFork(a *Account, guid string, rec *resource.Record) {
	var forks []fork
	for _, f := range a.forkList {
		if f.guid != guid {
			forks = append(forks, f)
		}
	}
	if rec != nil {
		forks = append(forks, fork{guid: rec.GUID, dest: str(rec.Values, "destination")})
	}
	a.forkList = forks
	a.Forks = nil
	for _, f := range forks {
		a.Forks = append(a.Forks, f.dest)
	}
}

// replacePrompt replaces a prompt in the indexes by recording code and
// by GUID.
func (v *View) replacePrompt(a *Account, guid string, rec *resource.Record) {
	for _, code := range v.promptsOf[a.GUID] {
		if p := v.prompts[code]; p != nil && p.GUID == guid {
			delete(v.prompts, code)
		}
	}
	delete(v.promptAcc, guid)
	if rec != nil {
		p := &Prompt{GUID: rec.GUID, Account: a.GUID, GroupAccess: str(rec.Values, "group_access")}
		v.promptAcc[p.GUID] = a.GUID
		v.prompts[p.GroupAccess] = p
		v.promptsOf[a.GUID] = append(v.promptsOf[a.GUID], p.GroupAccess)
	}
}
