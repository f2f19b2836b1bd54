package sqlstore

import (
	"context"
	"strings"

	"xc5"
	"xc5/dialplan"
	"xc5/resource"
)

// checkRefs verifies, inside the write's transaction, that every
// reference a record makes exists: accounts within the caller's partition,
// prompts the account may use, locations and named time sets. cur holds
// the record's current values (nil for a new record): a destination the
// provider set to an account outside the partition does not stop the
// partition from changing the record's other fields.
func checkRefs(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, owner resource.Record, vals, cur map[string]any) error {
	for _, f := range r.Fields {
		v, _ := vals[f.Name].(string)
		if f.Ref == resource.RefNone || v == "" {
			continue
		}
		switch f.Ref {
		case resource.RefAccount:
			if scope != "" && cur != nil && cur[f.Name] == v {
				continue // the provider's value stays, as for destinations
			}
			if _, err := account(ctx, q, scope, v); err != nil {
				return invalid("%s: account %s does not exist", f.Name, v)
			}
		case resource.RefDestination, resource.RefDigitMap:
			if scope == "" || (cur != nil && cur[f.Name] == v) {
				continue // system level routes anywhere, as before partitions were checked
			}
			for _, u := range resource.NamedAccounts(f.Ref, v) {
				if _, err := account(ctx, q, scope, u); err != nil {
					return invalid("%s: account %s does not exist", f.Name, u)
				}
			}
			if err := checkRooms(ctx, q, scope, f, v); err != nil {
				return err
			}
		case resource.RefPrompt:
			if err := checkPromptRef(ctx, q, scope, owner, v); err != nil {
				return err
			}
		case resource.RefLocation:
			if err := forbidEmergencyRule(scope, v); err != nil {
				return err
			}
			if !exists(ctx, q, "SELECT 1 FROM locations WHERE name = ?", v) {
				return invalid("%s: location %s does not exist (GET /api-sys/location lists them)", f.Name, v)
			}
		case resource.RefTimeSets:
			td, err := dialplan.ParseTimeDefinition(v, nil)
			if err != nil {
				return invalid("%s", err.Error())
			}
			for _, name := range td.Names() {
				if !exists(ctx, q, "SELECT 1 FROM timedefinitions WHERE name = ?", name) {
					return invalid("%s: time definition %s does not exist (GET /api-sys/timedefinition lists them)", f.Name, name)
				}
			}
		}
	}
	return nil
}

// checkPromptRef allows the prompts of the account itself, of its
// ancestors (a company's greeting used by its groups) and _prompt.shared.
// Below a partition, a prompt of another company is reported as missing,
// without naming its owner.
func checkPromptRef(ctx context.Context, q execer, scope resource.Scope, owner resource.Record, guid string) error {
	var path, username string
	err := q.QueryRowContext(ctx, `SELECT a.path, a.username FROM prompts p JOIN accounts a ON a.guid = p.account WHERE p.guid = ?`,
		strings.ToUpper(guid)).Scan(&path, &username)
	if err != nil {
		return invalid("promptguid: prompt %s does not exist", guid)
	}
	if username != resource.SharedPrompts && !strings.HasPrefix(owner.Path, path) {
		if !strings.HasPrefix(path, string(scope)) {
			return invalid("promptguid: prompt %s does not exist", guid)
		}
		return invalid("promptguid: prompt %s belongs to %s, which is not this account, an ancestor or %s", guid, username, resource.SharedPrompts)
	}
	return nil
}

func exists(ctx context.Context, q execer, query string, args ...any) bool {
	var one int
	return q.QueryRowContext(ctx, query, args...).Scan(&one) == nil
}

// referenced returns a 409 naming what still refers to a record that is
// about to be deleted (or renamed), or nil. Below a partition, a user
// outside it is not named.
func referenced(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, rec resource.Record) error {
	type use struct{ query, what string }
	var uses []use
	var key any
	exclude := "" // an account's own rules go with it
	switch r {
	case resource.Account, resource.Child:
		key, exclude = rec.Values["username"], rec.GUID
		uses = []use{
			{`SELECT a.username FROM routes x JOIN accounts a ON a.guid = x.account WHERE x.username = ? AND x.account <> ?`, "a route of"},
			{`SELECT a.username FROM callrules x JOIN accounts a ON a.guid = x.account WHERE x.username = ? AND x.account <> ?`, "a callrule of"},
			{`SELECT a.username FROM forks x JOIN accounts a ON a.guid = x.account WHERE x.destination = ? AND x.account <> ?`, "a fork of"},
			{`SELECT a.username FROM accounts a WHERE a.cfna_dest = ? AND a.guid <> ?`, "the cfna_dest of"},
		}
	case resource.Prompt:
		key = rec.GUID
		uses = []use{{`SELECT a.username FROM routes x JOIN accounts a ON a.guid = x.account WHERE x.promptguid = ? AND x.account <> ?`, "a route of"}}
	case resource.Location:
		key = rec.Values["name"]
		uses = []use{{`SELECT a.username FROM callrules x JOIN accounts a ON a.guid = x.account WHERE x.location = ? AND x.account <> ?`, "a callrule of"}}
	case resource.TimeDefinition:
		name := rec.Values["name"].(string)
		rows, err := q.QueryContext(ctx, `SELECT a.username, x.time_definition FROM routes x JOIN accounts a ON a.guid = x.account WHERE x.time_definition LIKE ?`, "%"+name+"%")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var user, def string
			if err := rows.Scan(&user, &def); err != nil {
				return err
			}
			td, _ := dialplan.ParseTimeDefinition(def, nil)
			for _, n := range td.Names() {
				if n == name {
					return conflict("time definition %s is used by a route of %s", name, user)
				}
			}
		}
		return rows.Err()
	default:
		return nil
	}
	for _, u := range uses {
		var user string
		if err := q.QueryRowContext(ctx, u.query, key, exclude).Scan(&user); err == nil {
			if _, err := account(ctx, q, scope, user); err != nil {
				user = "an account outside your partition"
			}
			return conflict("%s %v is still used by %s %s", r.Name, key, u.what, user)
		}
	}
	return nil
}

// forbidSystemWrite refuses writes to system-level resources from
// user-level callers.
func forbidSystemWrite(r *resource.Resource, scope resource.Scope) error {
	if r.SystemWrite && scope != "" {
		return xc5.Errorf(xc5.EFORBIDDEN, "%s is written with system-level API access only", r.Name)
	}
	return nil
}

// forbidProviderResource refuses user-level changes (update, rename,
// delete) of the accountresources a provider sets, such as number_limit.
func forbidProviderResource(r *resource.Resource, scope resource.Scope, cur resource.Record) error {
	if r == resource.CallRule {
		loc, _ := cur.Values["location"].(string)
		return forbidEmergencyRule(scope, loc)
	}
	if r != resource.AccountResource || scope == "" {
		return nil
	}
	if name, _ := cur.Values["name"].(string); resource.ProviderResource(name) {
		return xc5.Errorf(xc5.EFORBIDDEN, "%s is set by the provider: it is read-only below system-level API access", name)
	}
	return nil
}

// forbidEmergencyRule refuses user-level callrules on the Emergency
// location (creating, changing or deleting one): such a rule is the only
// one that decides an emergency call, so a tenant could otherwise block
// 111 or send it to its own phone. Providers write them (a lab line).
func forbidEmergencyRule(scope resource.Scope, location string) error {
	if scope != "" && location == resource.EmergencyLocation {
		return xc5.Errorf(xc5.EFORBIDDEN, "location: callrules naming %s are written with system-level API access only", location)
	}
	return nil
}

// forbidProviderRule refuses a user-level change or delete of a callrule
// written with system-level access (provider_set): a provider's block on
// a company's own account is not the company's to lift. The company's own
// rules stay its to manage.
func forbidProviderRule(ctx context.Context, q execer, r *resource.Resource, scope resource.Scope, cur resource.Record) error {
	if r != resource.CallRule || scope == "" {
		return nil
	}
	var set int64
	if err := q.QueryRowContext(ctx, `SELECT provider_set FROM callrules WHERE guid = ?`, cur.GUID).Scan(&set); err != nil {
		return mapError(err)
	}
	if set == 0 {
		return nil
	}
	return xc5.Errorf(xc5.EFORBIDDEN, "callrule %s (order %v, destination %v) is set by the provider: it is read-only below system-level API access",
		cur.GUID, cur.Values["order"], cur.Values["destination"])
}

// markProviderSet records whether a callrule was created or last changed
// with system-level access, for forbidProviderRule.
func markProviderSet(ctx context.Context, q execer, r *resource.Resource, scope resource.Scope, guid string) error {
	if r != resource.CallRule {
		return nil
	}
	set := 0
	if scope == "" {
		set = 1
	}
	_, err := q.ExecContext(ctx, `UPDATE callrules SET provider_set = ? WHERE guid = ?`, set, guid)
	return mapError(err)
}

// checkRooms refuses, below system level, a conference room the partition
// does not own: rooms are system-wide, and a room is named by the number
// of the account that owns it (issue 14), so a company joins only rooms
// named by its own numbers.
func checkRooms(ctx context.Context, q execer, scope resource.Scope, f resource.Field, v string) error {
	for _, room := range resource.NamedRooms(f.Ref, v) {
		held, err := lockHeldInScope(ctx, q, scope, room)
		if err != nil {
			return err
		}
		if !held {
			return invalid("%s: conference room %s is not yours: a room is named by the number of the account that owns it, one of your partition's numbers", f.Name, room)
		}
	}
	return nil
}
