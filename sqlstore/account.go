package sqlstore

import (
	"context"
	"errors"
	"maps"
	"strings"

	"xc5"
	"xc5/resource"
	"xc5/secret"
)

// systemAccounts cannot be deleted: the API, the number pool and shared
// prompts depend on them.
var systemAccounts = map[string]bool{resource.AdminUsername: true, resource.SystemPool: true, resource.SharedPrompts: true, resource.POTSParent: true}

// putAccount creates or updates an account. The slow password hash is
// computed before the write joins the writer's queue, so that it never
// holds up the group commit.
func (s *Store) putAccount(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
	if r.Parent != nil { // …/account/{id}/child: the path's account must be there
		if _, err := account(ctx, s.reader(), scope, parent); err != nil {
			return resource.Record{}, false, err
		}
	}
	password, hasPassword := in["password"].(string)
	if hasPassword && password == "" {
		return resource.Record{}, false, invalid("password must not be empty")
	}
	// A new account without a password gets a generated one; only a
	// possible creation needs it.
	mayCreate := mode == resource.Create
	if mode == resource.Upsert && !hasPassword {
		_, err := s.Get(ctx, scope, resource.Account, "", id)
		mayCreate = err != nil
	}
	generated := false
	if mayCreate && !hasPassword {
		password, hasPassword, generated = secret.Generate(), true, true
	}
	var hash string
	if hasPassword {
		hash = secret.Hash(password)
	}
	var out resource.Record
	var created bool
	outer := ctx
	err := s.w.doRerunnable(ctx, func(ctx context.Context, q execer) error {
		ctx = carryMailboxDropped(outer, ctx)
		// A rerun starts afresh, except that a generated password hash
		// is kept (or made anew below when it was dropped).
		out, created = resource.Record{}, false
		// A concurrent PUT may create the account between the lookup
		// and the insert (on PostgreSQL): then it is updated instead, as
		// for numbers (putNumber). The second insert is a plain one.
		for attempt := 0; ; attempt++ {
			var cur resource.Record
			err := errNotFound
			if id != "" {
				cur, err = account(ctx, q, scope, id)
				if err == nil && r.Parent != nil && cur.Parent != mustGUID(ctx, q, parent) {
					err = notFound("account %s is not a child of %s", id, parent)
				}
			}
			switch {
			case err == nil:
				if generated {
					hash, password = "", "" // it exists after all: keep its password
				}
				return s.updateAccount(ctx, q, scope, r, parent, cur, in, hash, password, &out)
			case xc5.ErrorCode(err) != xc5.ENOTFOUND:
				return err
			case mode == resource.Patch:
				return notFound("account %s not found", id)
			}
			if hash == "" { // it was there when we looked, and is gone now
				password, generated = secret.Generate(), true
				hash = secret.Hash(password)
			}
			err = s.createAccount(ctx, q, scope, r, parent, id, in, hash, password, &out, attempt > 0)
			if err != errRaced {
				created = err == nil
				return err
			}
		}
	})
	if err == nil && created && password != "" {
		out.Values["password"] = password
	}
	return out, created, err
}

func mustGUID(ctx context.Context, q execer, id string) string {
	rec, err := account(ctx, q, "", id)
	if err != nil {
		return ""
	}
	return rec.GUID
}

// resolveParent finds the parent an account write names: the path's
// account for …/child, else the body's "parent" (GUID or username).
func resolveParent(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, pathParent string, in resource.Input) (resource.Record, bool, error) {
	name, named := in["parent"].(string)
	if r.Parent != nil {
		p, err := account(ctx, q, scope, pathParent)
		if err != nil {
			return p, true, err
		}
		if named && name != "" && !strings.EqualFold(name, p.GUID) && !strings.EqualFold(name, p.Values["username"].(string)) {
			return p, true, invalid("parent %q does not match the path's account", name)
		}
		return p, true, nil
	}
	if !named {
		return resource.Record{}, false, nil
	}
	if name == "" {
		return resource.Record{}, true, nil
	}
	p, err := account(ctx, q, scope, name)
	if err != nil {
		return p, true, notFound("parent account %s not found", name)
	}
	return p, true, nil
}

// errRaced reports that createAccount wrote nothing because a unique
// value of the new account was taken meanwhile (see putAccount).
var errRaced = errors.New("created concurrently")

// createAccount creates the account a PUT names. Unless plain, it
// returns errRaced, having written nothing, when the row would break a
// unique index.
func (s *Store) createAccount(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, pathParent, id string, in resource.Input, hash, password string, out *resource.Record, plain bool) error {
	guid, err := newGUID(resource.Account, id, in)
	if err != nil {
		return err
	}
	p, _, err := resolveParent(ctx, q, scope, r, pathParent, in)
	if err != nil {
		return err
	}
	vals := merge(resource.Account.Defaults(), in)
	if err := required(resource.Account, vals, in); err != nil {
		return err
	}
	username := vals["username"].(string)
	if scope != "" {
		if p.GUID == "" {
			return xc5.Errorf(xc5.EFORBIDDEN, "user-level API access cannot create top-level accounts; name a parent in your partition")
		}
		if strings.HasPrefix(username, "_") {
			return xc5.Errorf(xc5.EFORBIDDEN, "user-level API access cannot create system (_) accounts")
		}
		if guidTaken(ctx, q, accountsTable, guid) || guidHasCDRs(ctx, q, guid) {
			return notFound("account %s not found", guid)
		}
		if err := checkNewUsername(ctx, q, scope, username); err != nil {
			return err
		}
		if err := resource.CheckProviderFields(nil, in, false); err != nil {
			return err
		}
		if err := checkRefs(ctx, q, scope, resource.Account, p, vals, nil); err != nil {
			return err
		}
	}
	if other, err := account(ctx, q, "", username); err == nil {
		if !plain && (other.GUID == guid || strings.EqualFold(id, username)) {
			return errRaced // the very account this PUT names, created meanwhile
		}
		return conflict("account %s already exists", username)
	}
	extra := digestColumns(username, password)
	extra["path"], extra["password_hash"] = p.Path+guid+"/", hash
	if p.GUID == "" {
		extra["path"] = "/" + guid + "/"
	}
	inserted := true
	if plain {
		err = accountsTable.insert(ctx, q, guid, p.GUID, extra, vals)
	} else {
		_, inserted, err = accountsTable.insertNew(ctx, q, guid, p.GUID, extra, vals)
	}
	if err != nil {
		return err
	}
	if !inserted {
		return errRaced
	}
	*out, err = accountsTable.getRow(ctx, q, "t.guid = ?", guid)
	return err
}

func (s *Store) updateAccount(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, pathParent string, cur resource.Record, in resource.Input, hash, password string, out *resource.Record) error {
	extra := map[string]any{}
	username := cur.Values["username"].(string)
	if scope != "" {
		if err := resource.CheckProviderFields(cur.Values, in, cur.Path == string(scope)); err != nil {
			return err
		}
		if err := checkRefs(ctx, q, scope, resource.Account, cur, merge(cur.Values, in), cur.Values); err != nil {
			return err
		}
	}
	if u, ok := in["username"].(string); ok && u != username {
		if password == "" {
			return invalid("changing the username needs a new password too: the SIP digest secret depends on both")
		}
		if systemAccounts[username] {
			return conflict("system account %s cannot be renamed", username)
		}
		if scope != "" && strings.HasPrefix(u, "_") {
			return xc5.Errorf(xc5.EFORBIDDEN, "user-level API access cannot create system (_) accounts")
		}
		if scope != "" {
			if err := checkNewUsername(ctx, q, scope, u); err != nil {
				return err
			}
		}
		if _, err := account(ctx, q, "", u); err == nil {
			return conflict("account %s already exists", u)
		}
		if err := referenced(ctx, q, scope, resource.Account, cur); err != nil {
			return err
		}
		if err := forbidDropProviderHeld(ctx, q, scope, cur); err != nil {
			return err
		}
		username = u
	}
	if password != "" {
		maps.Copy(extra, digestColumns(username, password))
		extra["password_hash"] = hash
	}
	// The parent's GUID sent back unchanged (GET, modify, PUT) is no move,
	// even when the parent is outside the caller's partition.
	if r.Parent == nil && cur.Parent != "" && strings.EqualFold(in.String("parent"), cur.Parent) {
		return s.finishUpdate(ctx, q, cur, extra, in, out, password != "" || username != cur.Values["username"])
	}
	p, named, err := resolveParent(ctx, q, scope, r, pathParent, in)
	if err != nil {
		return err
	}
	if named && p.GUID != cur.Parent {
		if err := moveAccount(ctx, q, scope, cur, p); err != nil {
			return err
		}
	}
	return s.finishUpdate(ctx, q, cur, extra, in, out, password != "" || username != cur.Values["username"])
}

// finishUpdate writes an account's fields once the update is checked.
// Sessions end when the credentials change (newCredentials) or the account
// is disabled, and an emptied ums_pin takes the mailbox, in the same
// transaction.
func (s *Store) finishUpdate(ctx context.Context, q execer, cur resource.Record, extra map[string]any, in resource.Input, out *resource.Record, newCredentials bool) error {
	if err := dropMailbox(ctx, q, cur, in); err != nil {
		return err
	}
	if err := accountsTable.update(ctx, q, cur.GUID, extra, in); err != nil {
		return err
	}
	var err error
	if *out, err = accountsTable.getRow(ctx, q, "t.guid = ?", cur.GUID); err != nil {
		return err
	}
	if out.Values["enabled"] == false { // its subtree is disabled with it
		lo, hi := prefixRange(out.Path)
		_, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE account IN (SELECT guid FROM accounts WHERE path >= ? AND path < ?)`, lo, hi)
		return err
	}
	if newCredentials {
		return endSessions(ctx, q, cur.GUID)
	}
	return nil
}

// moveAccount re-parents an account and rewrites the paths of its subtree.
func moveAccount(ctx context.Context, q execer, scope resource.Scope, cur, p resource.Record) error {
	if scope != "" && (p.GUID == "" || cur.Path == string(scope)) {
		return xc5.Errorf(xc5.EFORBIDDEN, "user-level API access cannot move an account out of its partition")
	}
	if strings.HasPrefix(p.Path, cur.Path) {
		return conflict("an account cannot be moved under itself or its descendants")
	}
	if scope != "" {
		if err := forbidMoveOutOfRestriction(ctx, q, scope, cur, p); err != nil {
			return err
		}
		if err := checkMoveNumberLimit(ctx, q, scope, cur, p); err != nil {
			return err
		}
	}
	newPath := "/" + cur.GUID + "/"
	if p.GUID != "" {
		newPath = p.Path + cur.GUID + "/"
	}
	lo, hi := prefixRange(cur.Path)
	if _, err := q.ExecContext(ctx, `UPDATE accounts SET path = CAST(? AS TEXT) || substr(path, CAST(? AS INTEGER)) WHERE path >= ? AND path < ?`,
		newPath, len(cur.Path)+1, lo, hi); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `UPDATE accounts SET parent = ? WHERE guid = ?`, nullable(p.GUID), cur.GUID)
	return err
}

// deleteAccount removes a childless account with its own records and
// returns its numbers to the pool, all in one transaction.
func (s *Store) deleteAccount(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string) error {
	return s.w.doRerunnable(ctx, func(ctx context.Context, q execer) error {
		cur, err := account(ctx, q, scope, id)
		if err != nil {
			return err
		}
		if r.Parent != nil {
			p, err := account(ctx, q, scope, parent)
			if err != nil {
				return err
			}
			if cur.Parent != p.GUID {
				return notFound("account %s is not a child of %s", id, parent)
			}
		}
		username := cur.Values["username"].(string)
		if systemAccounts[username] {
			return conflict("system account %s cannot be deleted", username)
		}
		if cur.Path == string(scope) {
			return xc5.Errorf(xc5.EFORBIDDEN, "user-level API access cannot delete its own account")
		}
		var children int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE parent = ?`, cur.GUID).Scan(&children); err != nil {
			return err
		}
		if children > 0 {
			return conflict("account %s still has %d child accounts; delete or move them first", username, children)
		}
		if err := referenced(ctx, q, scope, resource.Account, cur); err != nil {
			return err
		}
		if err := forbidDropProviderHeld(ctx, q, scope, cur); err != nil {
			return err
		}
		if err := returnAccountNumbers(ctx, q, cur.GUID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM account_resources WHERE account = ?`, cur.GUID); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `DELETE FROM accounts WHERE guid = ?`, cur.GUID)
		return mapError(err)
	})
}

// Bootstrap creates the system accounts on an empty database, in one
// transaction: _unassigned.pool, _prompt.shared and admin with
// api_access=system and the given password. It reports whether it created
// admin; an existing admin is never touched, so restarts keep its password.
func (s *Store) Bootstrap(ctx context.Context, adminPassword string) (bool, error) {
	if _, err := s.Credentials(ctx, resource.AdminUsername); err == nil {
		return false, nil
	}
	hash := secret.Hash(adminPassword)
	created := false
	err := s.w.do(ctx, func(ctx context.Context, q execer) error {
		for _, name := range []string{resource.SystemPool, resource.SharedPrompts, resource.POTSParent, resource.AdminUsername} {
			if _, err := account(ctx, q, "", name); err == nil {
				continue
			}
			var out resource.Record
			pw, h := secret.Generate(), ""
			if name == resource.AdminUsername {
				pw, h = adminPassword, hash
			}
			if h == "" {
				h = "!" // system accounts other than admin cannot log in
			}
			if err := s.createAccount(ctx, q, "", resource.Account, "", "", resource.Input{"username": name}, h, pw, &out, true); err != nil {
				return err
			}
			if name == resource.AdminUsername {
				created = true
				if err := resourcesTable.insert(ctx, q, resource.NewGUID(), out.GUID, nil,
					map[string]any{"name": "api_access", "value": resource.AccessSystem}); err != nil {
					return err
				}
			}
		}
		if !created {
			return nil
		}
		for _, l := range resource.DefaultLocations {
			if err := tables[resource.Location].insert(ctx, q, resource.NewGUID(), "", nil, l); err != nil {
				return err
			}
		}
		for _, d := range resource.DefaultTimeDefinitions() {
			if err := tables[resource.TimeDefinition].insert(ctx, q, resource.NewGUID(), "", nil, d); err != nil {
				return err
			}
		}
		return nil
	})
	if xc5.ErrorCode(err) == xc5.ECONFLICT {
		return false, nil // another node bootstrapped the same database at the same moment
	}
	return created, err
}
