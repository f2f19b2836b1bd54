package sqlstore

import (
	"context"
	"slices"
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
	parsed := resource.ParsedIn(vals) // what the write's decoding parsed is not parsed again
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
			named := parsed.Named(f.Ref, f.Name, v) // one parse (the write's) for accounts and rooms
			for _, u := range named.Accounts {
				if _, err := account(ctx, q, scope, u); err != nil {
					return invalid("%s: account %s does not exist", f.Name, u)
				}
			}
			if err := checkRooms(ctx, q, scope, f, named.Rooms); err != nil {
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
			td, err := resource.ParseKept(vals, f.Name, v, resource.ParseTimeDefinition) // kept for the view
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
// about to be deleted (or renamed), or nil: the fields that hold
// references to r's records (resource.Resource.UsedBy). Below a
// partition, a user outside it is not named.
func referenced(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, rec resource.Record) error {
	var key any = rec.GUID // prompts are named by GUID
	if r.Key != "" {
		key = rec.Values[r.Key]
	}
	exclude := "" // an account's own rules go with it
	if r.Tree {
		exclude = rec.GUID
	}
	for _, u := range r.UsedBy() {
		t, err := tableOf(u.By)
		if err != nil {
			return err
		}
		user, err := usedBy(ctx, q, t, u.Field, key, exclude)
		if err != nil {
			return err
		}
		if user == "" {
			continue
		}
		if _, err := account(ctx, q, scope, user); err != nil {
			user = "an account outside your partition"
		}
		if u.Field.Ref == resource.RefTimeSets {
			return conflict("time definition %v is used by a %s of %s", key, u.By.Name, user)
		}
		what := "a " + u.By.Name + " of"
		if u.By.Tree {
			what = "the " + u.Field.Name + " of"
		}
		return conflict("%s %v is still used by %s %s", r.Name, key, what, user)
	}
	return nil
}

// usedBy returns the username of an account (other than exclude) whose
// records of table t name key in field f, or "" when none does. A time
// definition names several sets, so its sets are parsed to compare names.
func usedBy(ctx context.Context, q execer, t *table, f *resource.Field, key any, exclude string) (string, error) {
	from, owner := "FROM "+t.name+" x JOIN accounts a ON a.guid = x."+t.parentCol, "x."+t.parentCol
	if t == accountsTable { // an account's own field: it names another account
		from, owner = "FROM accounts x JOIN accounts a ON a.guid = x.guid", "x.guid"
	}
	col := "x." + t.column(f.Name)
	if f.Ref != resource.RefTimeSets {
		var user string
		if err := q.QueryRowContext(ctx, "SELECT a.username "+from+" WHERE "+col+" = ? AND "+owner+" <> ?", key, exclude).Scan(&user); err != nil {
			return "", nil // as none: the delete's own statements report a store that fails
		}
		return user, nil
	}
	name := key.(string)
	rows, err := q.QueryContext(ctx, "SELECT a.username, "+col+" "+from+" WHERE "+col+" LIKE ?", "%"+name+"%")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var user, def string
		if err := rows.Scan(&user, &def); err != nil {
			return "", err
		}
		td, _ := dialplan.ParseTimeDefinition(def, nil)
		if slices.Contains(td.Names(), name) {
			return user, nil
		}
	}
	return "", rows.Err()
}

// forbidSystemWrite refuses writes to system-level resources from
// user-level callers.
func forbidSystemWrite(r *resource.Resource, scope resource.Scope) error {
	if r.SystemWrite && scope != "" {
		return xc5.Errorf(xc5.EFORBIDDEN, "%s is written with system-level API access only", r.Name)
	}
	return nil
}

// forbidEmergencyRule refuses user-level callrules on the Emergency
// location (resource.CheckEmergencyRule).
func forbidEmergencyRule(scope resource.Scope, location string) error {
	if scope == "" {
		return nil
	}
	return resource.CheckEmergencyRule(location)
}

// forbidLocked refuses a user-level update (deleting: delete) of a record
// the provider keeps: one its description locks (resource.Resource.Locked:
// a number_limit, a callrule on the Emergency location), or a callrule
// written with system-level access (provider_set, in tables that keep
// it): a provider's block on a company's own account is not the
// company's to lift. The company's own rules stay its to manage.
func forbidLocked(ctx context.Context, q execer, r *resource.Resource, t *table, scope resource.Scope, cur resource.Record, deleting bool) error {
	if scope == "" {
		return nil
	}
	if r.Locked != nil {
		if err := r.Locked(cur.Values, deleting); err != nil {
			return err
		}
	}
	if !t.flagged {
		return nil
	}
	var set int64
	if err := q.QueryRowContext(ctx, `SELECT provider_set FROM `+t.name+` WHERE guid = ?`, cur.GUID).Scan(&set); err != nil {
		return mapError(err)
	}
	if set == 0 {
		return nil
	}
	return xc5.Errorf(xc5.EFORBIDDEN, "%s %s (order %v, destination %v) is set by the provider: it is read-only below system-level API access",
		r.Name, cur.GUID, cur.Values["order"], cur.Values["destination"])
}

// markProviderSet records whether a callrule was created or last changed
// with system-level access (in tables that keep it), for forbidLocked.
func markProviderSet(ctx context.Context, q execer, t *table, scope resource.Scope, guid string) error {
	if !t.flagged {
		return nil
	}
	set := 0
	if scope == "" {
		set = 1
	}
	_, err := q.ExecContext(ctx, `UPDATE `+t.name+` SET provider_set = ? WHERE guid = ?`, set, guid)
	return mapError(err)
}

// checkRooms refuses, below system level, a conference room the partition
// does not own: rooms are system-wide, and a room is named by the number
// of the account that owns it (issue 14), so a company joins only rooms
// named by its own numbers.
func checkRooms(ctx context.Context, q execer, scope resource.Scope, f resource.Field, rooms []string) error {
	for _, room := range rooms {
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
