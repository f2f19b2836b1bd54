package routing

import (
	"context"
	"log/slog"
	"sort"
	"strings"

	"xc5"
	"xc5/resource"
)

// Load fills the view from the store: every account with its rules,
// locations and time sets. It is run once at start-up, before decisions
// are allowed (see Loading), so it may build accounts in place; records
// stream through one batch at a time, so the peak is the view itself.
func (v *View) Load(ctx context.Context, store resource.Store) error {
	if err := v.loadAccounts(ctx, store); err != nil {
		return err
	}
	for _, r := range tables {
		if err := v.reloadTable(ctx, store, r); err != nil {
			return err
		}
	}
	for {
		v.pmu.Lock()
		pending := v.pending
		v.pending = nil
		if len(pending) == 0 {
			// Marked loaded under the same lock that found nothing
			// pending: a change arriving now is applied directly.
			if v.ready != closedChan {
				close(v.ready)
				v.ready = closedChan
			}
			v.pmu.Unlock()
			return nil
		}
		v.pmu.Unlock()
		// The store has the truth now: reload what the changes touched.
		var t touchSet
		for _, c := range pending {
			t.add(c)
		}
		v.reread(ctx, store, t) // a failed read leaves that part as loaded
	}
}

// touchSet is what changes touched, to be read again from the store: the
// shared tables, and accounts, each once however many changes it had.
type touchSet struct {
	tables   bool
	accounts map[string]bool
}

func (t *touchSet) add(c resource.Change) {
	switch {
	case c.Resource == nil || c.Resource.Routing == resource.RoutingTable:
		t.tables = true
	case c.Account != "":
		if t.accounts == nil {
			t.accounts = map[string]bool{}
		}
		t.accounts[c.Account] = true
	}
}

// reread reads again everything t names, and returns the first error.
func (v *View) reread(ctx context.Context, store resource.Store, t touchSet) error {
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	if t.tables {
		for _, r := range tables {
			keep(v.reloadTable(ctx, store, r))
		}
	}
	for guid := range t.accounts {
		keep(v.ReloadAccount(ctx, store, guid))
	}
	return first
}

// Reload rebuilds the whole view from the store, after a node lost its
// change feed and may have missed changes.
//
// Changes applied while it loads go to the current copy as usual; the
// fresh copy may have been read before them, so once it is swapped in,
// what they touched is read again.
func (v *View) Reload(ctx context.Context, store resource.Store) error {
	v.pmu.Lock()
	v.reloading++
	v.pmu.Unlock()
	fresh := NewView(v.defaults)
	err := fresh.Load(ctx, store)
	if err == nil {
		fresh.mu.RLock()
		v.mu.Lock()
		v.accounts, v.byName, v.numbers, v.prompts, v.promptsOf = fresh.accounts, fresh.byName, fresh.numbers, fresh.prompts, fresh.promptsOf
		v.promptAcc = fresh.promptAcc
		v.locations, v.timeSets = fresh.locations, fresh.timeSets
		v.mu.Unlock()
		fresh.mu.RUnlock()
	}
	v.pmu.Lock()
	v.reloading--
	touched := v.touched
	v.touched = touchSet{}
	v.pmu.Unlock()
	if err != nil {
		return err
	}
	return v.reread(ctx, store, touched)
}

// Follow keeps the view current: every committed write reloads what it
// touched before the write is acknowledged.
func (v *View) Follow(store resource.Store) {
	store.OnChange(func(c resource.Change) {
		if err := v.Apply(context.Background(), store, c); err != nil {
			slog.Error("routing view reload failed", "change", c, "err", err)
		}
	})
}

// Apply reloads what a change touched.
func (v *View) Apply(ctx context.Context, store resource.Store, c resource.Change) error {
	v.pmu.Lock()
	if v.ready != closedChan {
		v.pending = append(v.pending, c)
		v.pmu.Unlock()
		return nil
	}
	if v.reloading > 0 {
		v.touched.add(c)
	}
	v.pmu.Unlock()
	if c.Resource == nil {
		return v.Reload(ctx, store)
	}
	switch c.Resource.Routing {
	case resource.RoutingTable:
		if set := setRecord[c.Resource]; set != nil && c.Record != nil && !c.Deleted {
			set(v, *c.Record)
			return nil
		}
		return v.reloadTable(ctx, store, c.Resource)
	case resource.RoutingNone:
		return nil
	}
	if v.applyChange(c) {
		return nil
	}
	if c.Account == "" {
		return nil
	}
	return v.ReloadAccount(ctx, store, c.Account) // RoutingReload: api_access=user marks a company root
}

// ReloadAccount reads one account and its rules again. Only ENOTFOUND
// means the account was deleted; any other store error (an unreachable
// database) is returned and the view keeps the account as it was, for the
// caller to decide (Follow logs it, Reload's caller retries).
func (v *View) ReloadAccount(ctx context.Context, store resource.Store, guid string) error {
	acct, err := store.Get(ctx, "", resource.Account, "", guid)
	if err != nil {
		if xc5.ErrorCode(err) == xc5.ENOTFOUND {
			v.RemoveAccount(guid)
			return nil
		}
		return err
	}
	if acct.Values["username"] == resource.SystemPool {
		return nil
	}
	var x Rules
	for _, sub := range []struct {
		r    *resource.Resource
		list *[]resource.Record
	}{
		{resource.Route, &x.Routes}, {resource.CallRule, &x.CallRules}, {resource.Fork, &x.Forks},
		{resource.Number, &x.Numbers}, {resource.Prompt, &x.Prompts},
	} {
		if err := store.List(ctx, "", sub.r, resource.Query{Parent: guid}, func(r resource.Record) error {
			*sub.list = append(*sub.list, r)
			return nil
		}); err != nil {
			return err
		}
	}
	if err := store.List(ctx, "", resource.AccountResource, resource.Query{Parent: guid}, func(r resource.Record) error {
		x.Partition = x.Partition || isPartition(r)
		return nil
	}); err != nil {
		return err
	}
	v.SetAccount(acct, x)
	return nil
}

func (v *View) reloadTable(ctx context.Context, store resource.Store, r *resource.Resource) error {
	var recs []resource.Record
	if err := store.List(ctx, "", r, resource.Query{}, func(rec resource.Record) error {
		recs = append(recs, rec)
		return nil
	}); err != nil {
		return err
	}
	if set := setTable[r]; set != nil {
		set(v, recs)
	}
	return nil
}

// setTable replaces one of the tables in the view.
var setTable = map[*resource.Resource]func(*View, []resource.Record){
	resource.Location:       (*View).SetLocations,
	resource.TimeDefinition: (*View).SetTimeSets,
}

// setRecord applies one written record to a table the view holds whole,
// for the tables whose records are parsed (time sets): reading the table
// again would parse every record for one write. Locations, which are not
// parsed, are read again whole.
var setRecord = map[*resource.Resource]func(*View, resource.Record){
	resource.TimeDefinition: (*View).setTimeSet,
}

// tables are the system-wide tables the view holds whole, as the resource
// descriptions say (resource.RoutingTable).
var tables = func() []*resource.Resource {
	var out []*resource.Resource
	for _, r := range resource.All {
		if r.Routing == resource.RoutingTable {
			out = append(out, r)
		}
	}
	return out
}()

// loadAccounts builds every account with its rules in place, under the
// lock: nothing decides on the view until Load is done.
func (v *View) loadAccounts(ctx context.Context, store resource.Store) error {
	accounts, byName := map[string]*Account{}, map[string]*Account{}
	numbers, prompts, promptsOf := map[string]*Number{}, map[string]*Prompt{}, map[string][]string{}
	promptAcc := map[string]string{}
	if err := store.ListAll(ctx, resource.Account, func(r resource.Record) error {
		if r.Values["username"] == resource.SystemPool {
			return nil // free numbers route nowhere
		}
		a := AccountFromRecord(r)
		accounts[a.GUID], byName[a.Username] = a, a
		return nil
	}); err != nil {
		return err
	}
	for _, sub := range []struct {
		r   *resource.Resource
		add func(*Account, resource.Record)
	}{
		{resource.Route, func(a *Account, r resource.Record) { a.Routes = append(a.Routes, routeOf(r)) }},
		{resource.CallRule, func(a *Account, r resource.Record) { a.CallRules = append(a.CallRules, callRuleOf(r)) }},
		{resource.Fork, func(a *Account, r resource.Record) {
			d := str(r.Values, "destination")
			a.Forks, a.forkList = append(a.Forks, d), append(a.forkList, fork{guid: r.GUID, dest: d})
		}},
		{resource.Number, func(a *Account, r resource.Record) {
			n := NumberFromRecord(r)
			n.Account = a.GUID // share the string
			a.Numbers = append(a.Numbers, n)
			if !strings.HasPrefix(n.Number, "a:") {
				numbers[n.Number] = n
			}
		}},
		{resource.Prompt, func(a *Account, r resource.Record) {
			p := &Prompt{GUID: r.GUID, Account: a.GUID, GroupAccess: str(r.Values, "group_access")}
			prompts[p.GroupAccess] = p
			promptsOf[a.GUID] = append(promptsOf[a.GUID], p.GroupAccess)
			promptAcc[p.GUID] = a.GUID
		}},
		{resource.AccountResource, func(a *Account, r resource.Record) { a.Partition = a.Partition || isPartition(r) }},
	} {
		if err := store.ListAll(ctx, sub.r, func(r resource.Record) error {
			if a := accounts[r.Parent]; a != nil {
				sub.add(a, r)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for _, a := range accounts {
		sort.SliceStable(a.Routes, func(i, j int) bool { return a.Routes[i].Order < a.Routes[j].Order })
		sort.SliceStable(a.CallRules, func(i, j int) bool { return a.CallRules[i].Order < a.CallRules[j].Order })
	}
	v.mu.Lock()
	v.accounts, v.byName, v.numbers, v.prompts, v.promptsOf = accounts, byName, numbers, prompts, promptsOf
	v.promptAcc = promptAcc
	v.mu.Unlock()
	return nil
}

// isPartition reports whether an accountresource is api_access=user, which
// makes its account a company root.
func isPartition(r resource.Record) bool {
	return r.Values["name"] == "api_access" && r.Values["value"] == resource.AccessUser
}
