package routing

import (
	"context"
	"log/slog"

	"xc5/resource"
)

// Load fills the view from the store: every account with its rules,
// locations and time sets. It is run once at start-up.
func (v *View) Load(ctx context.Context, store resource.Store) error {
	rules := map[string]*Rules{}
	var accounts []resource.Record
	if err := store.ListAll(ctx, resource.Account, func(r resource.Record) error {
		accounts = append(accounts, r)
		rules[r.GUID] = &Rules{}
		return nil
	}); err != nil {
		return err
	}
	for _, sub := range []struct {
		r   *resource.Resource
		add func(*Rules, resource.Record)
	}{
		{resource.Route, func(x *Rules, r resource.Record) { x.Routes = append(x.Routes, r) }},
		{resource.CallRule, func(x *Rules, r resource.Record) { x.CallRules = append(x.CallRules, r) }},
		{resource.Fork, func(x *Rules, r resource.Record) { x.Forks = append(x.Forks, r) }},
		{resource.Number, func(x *Rules, r resource.Record) { x.Numbers = append(x.Numbers, r) }},
		{resource.Prompt, func(x *Rules, r resource.Record) { x.Prompts = append(x.Prompts, r) }},
	} {
		if err := store.ListAll(ctx, sub.r, func(r resource.Record) error {
			if x := rules[r.Parent]; x != nil {
				sub.add(x, r)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for _, a := range accounts {
		if a.Values["username"] == resource.SystemPool {
			continue // free numbers route nowhere
		}
		v.SetAccount(a, *rules[a.GUID])
	}
	if err := v.reloadTable(ctx, store, resource.Location); err != nil {
		return err
	}
	if err := v.reloadTable(ctx, store, resource.TimeDefinition); err != nil {
		return err
	}
	for {
		v.mu.Lock()
		pending := v.pending
		v.pending = nil
		if len(pending) == 0 {
			// Marked loaded under the same lock that found nothing
			// pending: a change arriving now is applied directly.
			if v.ready != closedChan {
				close(v.ready)
				v.ready = closedChan
			}
			v.mu.Unlock()
			return nil
		}
		v.mu.Unlock()
		for _, c := range pending {
			c.Record, c.Deleted = nil, false // the store has the truth now: reload what it touched
			if c.Resource == nil || c.Resource == resource.Location || c.Resource == resource.TimeDefinition {
				v.reloadTable(ctx, store, resource.Location)
				v.reloadTable(ctx, store, resource.TimeDefinition)
			} else if c.Account != "" {
				v.ReloadAccount(ctx, store, c.Account)
			}
		}
	}
}

// Reload rebuilds the whole view from the store, after a node lost its
// change feed and may have missed changes.
func (v *View) Reload(ctx context.Context, store resource.Store) error {
	fresh := NewView(v.defaults)
	if err := fresh.Load(ctx, store); err != nil {
		return err
	}
	fresh.mu.RLock()
	defer fresh.mu.RUnlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.accounts, v.byName, v.numbers, v.prompts, v.promptsOf = fresh.accounts, fresh.byName, fresh.numbers, fresh.prompts, fresh.promptsOf
	v.locations, v.timeSets = fresh.locations, fresh.timeSets
	return nil
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
	v.mu.Lock()
	if v.ready != closedChan {
		v.pending = append(v.pending, c)
		v.mu.Unlock()
		return nil
	}
	v.mu.Unlock()
	if c.Resource == nil {
		return v.Reload(ctx, store)
	}
	switch c.Resource {
	case resource.Location, resource.TimeDefinition:
		return v.reloadTable(ctx, store, c.Resource)
	case resource.AccountResource, resource.Registration, resource.Session, resource.CDR, resource.Trunk:
		return nil
	}
	if v.applyChange(c) {
		return nil
	}
	if c.Account == "" {
		return nil
	}
	return v.ReloadAccount(ctx, store, c.Account)
}

// ReloadAccount reads one account and its rules again.
func (v *View) ReloadAccount(ctx context.Context, store resource.Store, guid string) error {
	acct, err := store.Get(ctx, "", resource.Account, "", guid)
	if err != nil {
		v.RemoveAccount(guid)
		return nil
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
	if r == resource.Location {
		v.SetLocations(recs)
	} else {
		v.SetTimeSets(recs)
	}
	return nil
}
