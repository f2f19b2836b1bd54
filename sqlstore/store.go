package sqlstore

import (
	"context"
	"strings"

	"xc5"
	"xc5/resource"
)

// listBatch is how many rows a listing reads per query: enough to amortise
// the query, small enough that memory stays flat however long the list.
const listBatch = 500

func (s *Store) reader() execer { return s.d.wrap(readQuerier{s.stmts}) }

// account reads an account by GUID or username, within scope.
func account(ctx context.Context, q execer, scope resource.Scope, id string) (resource.Record, error) {
	var rec resource.Record
	var err error
	if resource.IsGUID(id) {
		rec, err = accountsTable.getRow(ctx, q, "t.guid = ?", strings.ToUpper(id))
	} else {
		rec, err = accountsTable.getRow(ctx, q, "t.username = ?", strings.ToLower(id))
	}
	if err != nil {
		return rec, missing(err, "account %s not found", id)
	}
	if !strings.HasPrefix(rec.Path, string(scope)) {
		return rec, notFound("account %s not found", id)
	}
	return rec, nil
}

// owner resolves the account a write names as the owner of a record: only
// what the write needs (GUID, path, username), which is cheaper than the
// whole account on the hot path of creating numbers and rules.
func ownerAccount(ctx context.Context, q execer, scope resource.Scope, id string) (resource.Record, error) {
	var rec resource.Record
	var username string
	var err error
	if resource.IsGUID(id) {
		err = q.QueryRowContext(ctx, `SELECT guid, path, username FROM accounts WHERE guid = ?`, strings.ToUpper(id)).Scan(&rec.GUID, &rec.Path, &username)
	} else {
		err = q.QueryRowContext(ctx, `SELECT guid, path, username FROM accounts WHERE username = ?`, strings.ToLower(id)).Scan(&rec.GUID, &rec.Path, &username)
	}
	if err != nil || !strings.HasPrefix(rec.Path, string(scope)) {
		return rec, missing(err, "account %s not found", id)
	}
	rec.Values = map[string]any{"username": username}
	return rec, nil
}

// Get implements resource.Store.
func (s *Store) Get(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string) (resource.Record, error) {
	if r.SystemRead && scope != "" {
		return resource.Record{}, notFound("%s %s not found", r.Name, id)
	}
	if r == resource.Hydra {
		if scope != "" {
			return resource.Record{}, notFound("HydraAccount %s not found", id)
		}
		return s.getHydra(ctx, id)
	}
	return get(ctx, s.reader(), scope, r, parent, id)
}

func get(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, parent, id string) (resource.Record, error) {
	if r == resource.Account {
		return account(ctx, q, scope, id)
	}
	t, err := tableOf(r)
	if err != nil {
		return resource.Record{}, err
	}
	where, arg := "t.guid = ?", any(strings.ToUpper(id))
	if t.key != "" && !resource.IsGUID(id) {
		where, arg = "t."+t.key+" = ?", normKey(r, id)
	}
	if r.Parent == nil {
		rec, err := t.getRow(ctx, q, where, arg)
		if err != nil {
			return rec, missing(err, "%s %s not found", r.Name, id)
		}
		return rec, nil
	}
	p, err := readableOwner(ctx, q, scope, r, parent)
	if err != nil {
		return resource.Record{}, err
	}
	rec, err := t.getRow(ctx, q, "t."+t.parentCol+" = ? AND "+where, p.GUID, arg)
	if err != nil {
		return rec, missing(err, "%s %s not found", r.Name, id)
	}
	return rec, nil
}

// readableOwner resolves the account a read names. Everyone may read the
// prompts of _prompt.shared: shared prompts are there to be used by all.
func readableOwner(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, parent string) (resource.Record, error) {
	if r == resource.Prompt {
		if p, err := account(ctx, q, "", parent); err == nil && p.Values["username"] == resource.SharedPrompts {
			return p, nil
		}
	}
	return account(ctx, q, scope, parent)
}

// normKey normalises a record name given in a path the way the key field
// is normalised on write (usernames are lower case, location names not).
func normKey(r *resource.Resource, id string) string {
	if f := r.Field(r.Key); f != nil && f.Check != nil {
		if v, err := f.Check(id); err == nil {
			return v.(string)
		}
	}
	return id
}

// List implements resource.Store.
func (s *Store) List(ctx context.Context, scope resource.Scope, r *resource.Resource, q resource.Query, fn func(resource.Record) error) error {
	if r.SystemRead && scope != "" {
		return nil
	}
	if r == resource.Hydra {
		if scope != "" {
			return nil
		}
		return s.listHydra(ctx, q, fn)
	}
	t, err := tableOf(r)
	if err != nil {
		return err
	}
	rd := s.reader()
	var where []string
	var args []any
	switch {
	case r == resource.Account:
		if scope != "" {
			lo, hi := prefixRange(string(scope))
			where, args = append(where, "t.path >= ? AND t.path < ?"), append(args, lo, hi)
		}
	case r.Parent == nil:
	default:
		p, err := readableOwner(ctx, rd, scope, r, q.Parent)
		if err != nil {
			return err
		}
		owner := p.GUID
		if r == resource.NumberAllocate {
			pool, err := account(ctx, rd, "", resource.SystemPool)
			if err != nil {
				return err
			}
			owner = pool.GUID
		}
		where, args = append(where, "t."+t.parentCol+" = ?"), append(args, owner)
	}
	if q.Filter != "" && t.filter != "" {
		where, args = append(where, t.filter+" "+s.d.like+" ?"), append(args, q.Filter)
	}
	if r.TimeFilter != "" {
		col := `t."` + r.TimeFilter + `"`
		if q.Since != "" {
			where, args = append(where, col+" >= ?"), append(args, q.Since)
		}
		if q.Until != "" {
			where, args = append(where, col+" < ?"), append(args, q.Until)
		}
	}
	where = append(where, "t.id > ?")
	sqlText := t.selectSQL + " WHERE " + strings.Join(where, " AND ") + " ORDER BY t.id LIMIT ?"
	after, left := q.After, q.Limit
	for {
		n := listBatch
		if q.Limit > 0 && left < n {
			n = left
		}
		if n == 0 {
			return nil
		}
		recs, err := s.batch(ctx, t, sqlText, append(append([]any{}, args...), after, n))
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if err := fn(rec); err != nil {
				return err
			}
			after = rec.Seq
		}
		left -= len(recs)
		if len(recs) < n {
			return nil
		}
	}
}

// ListAll implements resource.Store.
func (s *Store) ListAll(ctx context.Context, r *resource.Resource, fn func(resource.Record) error) error {
	t, err := tableOf(r)
	if err != nil {
		return err
	}
	query := t.selectSQL + " WHERE t.id > ? ORDER BY t.id LIMIT ?"
	var after int64
	for {
		recs, err := s.batch(ctx, t, query, []any{after, 5000})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if err := fn(rec); err != nil {
				return err
			}
			after = rec.Seq
		}
		if len(recs) < 5000 {
			return nil
		}
	}
}

// batch reads one page fully before the caller writes it out, so that no
// read transaction stays open while a slow client drains the response.
func (s *Store) batch(ctx context.Context, t *table, query string, args []any) ([]resource.Record, error) {
	rows, err := s.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, storeErr(err)
	}
	defer rows.Close()
	var recs []resource.Record
	for rows.Next() {
		rec, err := t.scan(rows)
		if err != nil {
			return nil, storeErr(err)
		}
		recs = append(recs, rec)
	}
	return recs, storeErr(rows.Err())
}

// prefixRange turns a path prefix into an index-friendly [lo, hi) range.
func prefixRange(p string) (string, string) {
	return p, p[:len(p)-1] + string(p[len(p)-1]+1)
}

// OnChange implements resource.Store.
func (s *Store) OnChange(fn func(resource.Change)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, fn)
}

// emit tells the local listeners of a committed change, then the other
// nodes. On PostgreSQL it returns once every other node has applied the change
// too (see settle), so that a write acknowledged here is read through any
// node at once.
//
// ticket is the write's place in commit order (0 if unknown): a change is
// not applied over a later one of the same record (order.go).
func (s *Store) emit(c resource.Change, ticket uint64) {
	s.deliverOrdered(c, ticket, false)
	s.settle(s.announce(c))
}

// deliver calls the local change listeners.
func (s *Store) deliver(c resource.Change) {
	s.mu.Lock()
	ls := s.listeners
	s.mu.Unlock()
	for _, fn := range ls {
		fn(c)
	}
}

// changedAccount is the account a change to rec of r is about.
func changedAccount(r *resource.Resource, rec resource.Record) string {
	switch {
	case r == resource.Account || r == resource.Child:
		return rec.GUID
	case r == resource.Hydra:
		s, _ := rec.Values["account"].(string)
		return s
	case r.Parent == nil:
		return ""
	}
	return rec.Parent
}

// Put implements resource.Store.
func (s *Store) Put(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
	var ticket uint64
	rec, created, err := s.put(withTicket(ctx, &ticket), scope, r, parent, id, in, mode)
	if err == nil {
		c := resource.Change{Resource: r, Account: changedAccount(r, rec)}
		if r != resource.Hydra {
			written := rec
			c.Record = &written
		}
		s.emit(c, ticket)
	}
	return rec, created, err
}

func (s *Store) put(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
	if err := forbidSystemWrite(r, scope); err != nil {
		return resource.Record{}, false, err
	}
	switch r {
	case resource.Account, resource.Child:
		return s.putAccount(ctx, scope, r, parent, id, in, mode)
	case resource.Number:
		return s.putNumber(ctx, scope, parent, id, in, mode)
	case resource.Hydra:
		return s.putHydra(ctx, id, in, mode)
	case resource.AccountResource:
		if err := resource.CheckAccountResource(in, scope != ""); err != nil {
			return resource.Record{}, false, err
		}
	case resource.Registration, resource.NumberAllocate, resource.GUID, resource.CDR:
		return resource.Record{}, false, invalid("%s is read-only", r.Name)
	case resource.Prompt:
		return s.putSimple(ctx, scope, r, parent, id, in, mode, nextGroupAccess)
	}
	return s.putSimple(ctx, scope, r, parent, id, in, mode, nil)
}

// putSimple is the generic PUT/PATCH: find the record, then update it or
// create it, checking the merged record (and its references) before it is
// written. extra adds columns to a new record.
func (s *Store) putSimple(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode,
	extra func(ctx context.Context, q execer) (map[string]any, error)) (resource.Record, bool, error) {
	t, err := tableOf(r)
	if err != nil {
		return resource.Record{}, false, err
	}
	var out resource.Record
	var created bool
	err = s.w.doRerunnable(ctx, func(ctx context.Context, q execer) error {
		out, created = resource.Record{}, false
		var owner resource.Record
		if r.Parent != nil {
			var err error
			if owner, err = ownerAccount(ctx, q, scope, parent); err != nil {
				return err
			}
		}
		// As for numbers (putNumber), a concurrent PUT may create the
		// record between the lookup and the insert: the insert then
		// does nothing, and the lookup finds the record to update. The
		// second insert is a plain one, whose unique violation, if the
		// conflict was with another record, is the usual 409.
		for attempt := 0; ; attempt++ {
			var cur resource.Record
			err := errNotFound
			if id != "" {
				cur, err = get(ctx, q, scope, r, owner.GUID, id)
			}
			switch {
			case err == nil:
				out, err = updateSimple(ctx, q, scope, r, t, owner, cur, in)
				return err
			case xc5.ErrorCode(err) != xc5.ENOTFOUND:
				return err
			case mode == resource.Patch:
				return notFound("%s %s not found", r.Name, id)
			}
			out, created, err = insertSimple(ctx, q, scope, r, t, owner, id, in, extra, attempt > 0)
			if err != nil || created {
				return err
			}
		}
	})
	return out, created, err
}

// updateSimple writes in over the record cur of r.
func updateSimple(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, t *table, owner, cur resource.Record, in resource.Input) (resource.Record, error) {
	if err := forbidProviderResource(r, scope, cur); err != nil {
		return resource.Record{}, err
	}
	if err := forbidProviderRule(ctx, q, r, scope, cur); err != nil {
		return resource.Record{}, err
	}
	merged := merge(cur.Values, in)
	if err := validate(ctx, q, scope, r, owner, merged, cur.Values); err != nil {
		return resource.Record{}, err
	}
	if t.key != "" && in.Has(r.Key) && in[r.Key] != cur.Values[r.Key] {
		if err := referenced(ctx, q, scope, r, cur); err != nil {
			return resource.Record{}, err
		}
	}
	if err := t.update(ctx, q, cur.GUID, nil, in); err != nil {
		return resource.Record{}, err
	}
	if err := markProviderSet(ctx, q, r, scope, cur.GUID); err != nil {
		return resource.Record{}, err
	}
	return t.getRow(ctx, q, "t.guid = ?", cur.GUID)
}

// insertSimple creates the record of r that a PUT names by id (a GUID,
// a key, or nothing). Unless plain, it reports false, having written
// nothing, when the row would break a unique index (see putSimple).
func insertSimple(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, t *table, owner resource.Record, id string, in resource.Input,
	extra func(ctx context.Context, q execer) (map[string]any, error), plain bool) (resource.Record, bool, error) {
	guid, err := newGUID(r, id, in)
	if err != nil {
		return resource.Record{}, false, err
	}
	if scope != "" && guidTaken(ctx, q, t, guid) {
		return resource.Record{}, false, notFound("%s %s not found", r.Name, guid) // elsewhere: as if it did not exist
	}
	vals := merge(r.Defaults(), in)
	if err := required(r, vals, in); err != nil {
		return resource.Record{}, false, err
	}
	if err := validate(ctx, q, scope, r, owner, vals, nil); err != nil {
		return resource.Record{}, false, err
	}
	if r == resource.Fork {
		if err := checkForkCap(ctx, q, owner); err != nil {
			return resource.Record{}, false, err
		}
	}
	if scope != "" && r == resource.Prompt {
		if err := checkPromptLimit(ctx, q, scope, owner); err != nil {
			return resource.Record{}, false, err
		}
	}
	var cols map[string]any
	if extra != nil {
		if cols, err = extra(ctx, q); err != nil {
			return resource.Record{}, false, err
		}
	}
	inserted := true
	if plain {
		err = t.insert(ctx, q, guid, owner.GUID, cols, vals)
	} else {
		_, inserted, err = t.insertNew(ctx, q, guid, owner.GUID, cols, vals)
	}
	if err != nil || !inserted {
		return resource.Record{}, false, err
	}
	if err := markProviderSet(ctx, q, r, scope, guid); err != nil {
		return resource.Record{}, false, err
	}
	rec, err := t.getRow(ctx, q, "t.guid = ?", guid)
	return rec, err == nil, err
}

// validate checks a record as it will be stored: rules that span fields,
// then references (cur: the current values, nil for a new record).
func validate(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, owner resource.Record, vals, cur map[string]any) error {
	if err := resource.CheckRecord(r, vals, scope != ""); err != nil {
		return err
	}
	return checkRefs(ctx, q, scope, r, owner, vals, cur)
}

// errNotFound marks "no current record" inside a write.
var errNotFound = notFound("not found")

// merge returns base overlaid with in, as a new map.
func merge(base map[string]any, in resource.Input) map[string]any {
	m := make(map[string]any, len(base)+len(in))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range in {
		m[k] = v
	}
	return m
}

// required checks that a new record has its required fields.
func required(r *resource.Resource, vals map[string]any, in resource.Input) error {
	for _, f := range r.Fields {
		if f.Required {
			if v, ok := in[f.Name]; !ok || v == "" {
				return invalid("field %q is required", f.Name)
			}
		}
	}
	return nil
}

// newGUID decides the GUID of a record created by PUT: the one in the
// path, or a fresh one. A path naming the record by its key (an account's
// username) sets that key.
func newGUID(r *resource.Resource, id string, in resource.Input) (string, error) {
	if g, ok := in["guid"].(string); ok && g != "" {
		if !resource.IsGUID(g) || (id != "" && resource.IsGUID(id) && !strings.EqualFold(g, id)) {
			return "", invalid("guid %q does not match the path", g)
		}
		id = g
	}
	switch {
	case id == "":
		return resource.NewGUID(), nil
	case resource.IsGUID(id):
		return strings.ToUpper(id), nil
	case r.Key != "":
		if k, ok := in[r.Key].(string); ok && !strings.EqualFold(k, id) {
			return "", invalid("%s %q does not match the path", r.Key, k)
		}
		in[r.Key] = strings.ToLower(id)
		if f := r.Field(r.Key); f != nil && f.Check != nil {
			v, err := f.Check(in[r.Key])
			if err != nil {
				return "", err
			}
			in[r.Key] = v
		}
		return resource.NewGUID(), nil
	}
	return "", notFound("%s %s not found", r.Name, id)
}

// Delete implements resource.Store.
func (s *Store) Delete(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string) error {
	c := resource.Change{Resource: r, Deleted: true}
	switch {
	case r == resource.Account || r == resource.Child:
		if rec, err := account(ctx, s.reader(), scope, id); err == nil {
			c.Account, c.GUID = rec.GUID, rec.GUID
		}
	case r == resource.Hydra:
		if rec, err := s.getHydra(ctx, id); err == nil {
			c.Account = changedAccount(r, rec)
			c.Deleted = false // several records: the view reloads the account
		}
	case r.Parent != nil:
		if rec, err := get(ctx, s.reader(), scope, r, parent, id); err == nil {
			c.Account, c.GUID = rec.Parent, rec.GUID
		}
	}
	var ticket uint64
	err := s.delete(withTicket(ctx, &ticket), scope, r, parent, id)
	if err == nil {
		s.emit(c, ticket)
	}
	return err
}

func (s *Store) delete(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string) error {
	if err := forbidSystemWrite(r, scope); err != nil {
		return err
	}
	switch r {
	case resource.Account, resource.Child:
		return s.deleteAccount(ctx, scope, r, parent, id)
	case resource.Number:
		return s.deleteNumber(ctx, scope, parent, id)
	case resource.Hydra:
		return s.deleteHydra(ctx, id)
	case resource.NumberAllocate, resource.GUID:
		return invalid("%s cannot be deleted", r.Name)
	}
	t, err := tableOf(r)
	if err != nil {
		return err
	}
	return s.w.doRerunnable(ctx, func(ctx context.Context, q execer) error {
		if r.Parent != nil {
			if _, err := account(ctx, q, scope, parent); err != nil {
				return err
			}
		}
		cur, err := get(ctx, q, scope, r, parent, id)
		if err != nil {
			return err
		}
		if r == resource.AccountResource && cur.Values["name"] == "api_access" && scope != "" && cur.Values["value"] == resource.AccessSystem {
			return xc5.Errorf(xc5.EFORBIDDEN, "user-level API access cannot remove api_access=system")
		}
		if err := forbidProviderResource(r, scope, cur); err != nil {
			return err
		}
		if err := forbidProviderRule(ctx, q, r, scope, cur); err != nil {
			return err
		}
		if err := referenced(ctx, q, scope, r, cur); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, "DELETE FROM "+t.name+" WHERE guid = ?", cur.GUID)
		return mapError(err)
	})
}

// Credentials implements resource.Store.
func (s *Store) Credentials(ctx context.Context, username string) (resource.Credentials, error) {
	var c resource.Credentials
	var enabled int64
	err := s.reader().QueryRowContext(ctx, `SELECT a.guid, a.username, a.path, a.enabled, a.password_hash,
		COALESCE((SELECT r.value FROM account_resources r WHERE r.account = a.guid AND r.name = 'api_access'), '')
		FROM accounts a WHERE a.username = ?`, strings.ToLower(username)).
		Scan(&c.GUID, &c.Username, &c.Path, &enabled, &c.Hash, &c.Access)
	if err != nil {
		return c, readError(err, "account %s not found", username)
	}
	c.Enabled = enabled != 0
	if c.Enabled {
		off, err := ancestorsDisabled(ctx, s.reader(), c.Path, c.GUID)
		if err != nil {
			return c, readError(err, "")
		}
		c.Enabled = !off
	}
	return c, nil
}
