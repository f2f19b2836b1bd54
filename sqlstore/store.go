package sqlstore

import (
	"context"
	"strings"

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
	if !storable(id) {
		return rec, notFound("account %s not found", id)
	}
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
	if read := ownOf(r).read; read != nil {
		return read(ctx, s.reader(), scope, id)
	}
	return get(ctx, s.reader(), scope, r, parent, id)
}

func get(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, parent, id string) (resource.Record, error) {
	if r.Tree && r.Parent == nil { // an account by GUID or username; a child through its parent
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
// records of the account a resource is SharedIn (_prompt.shared: shared
// prompts are there to be used by all).
func readableOwner(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, parent string) (resource.Record, error) {
	if r.SharedIn != "" {
		if p, err := account(ctx, q, "", parent); err == nil && p.Values["username"] == r.SharedIn {
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
	if list := ownOf(r).list; list != nil {
		if scope != "" {
			return nil // views are written and read with system-level access
		}
		return list(s, ctx, q, fn)
	}
	t, err := tableOf(r)
	if err != nil {
		return err
	}
	if !storable(q.Filter) || !storable(q.Since) || !storable(q.Until) {
		return errBadText
	}
	where, args, err := listScope(ctx, s.reader(), scope, r, t, q.Parent)
	if err != nil {
		return err
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

// listScope is the condition of a listing's records: the accounts of the
// partition, or the records of the account the path names (or of the
// account the resource ListsOf); none for a top-level resource.
func listScope(ctx context.Context, rd execer, scope resource.Scope, r *resource.Resource, t *table, parent string) ([]string, []any, error) {
	switch {
	case r.Tree && r.Parent == nil: // all accounts, or those of the partition
		if scope == "" {
			return nil, nil, nil
		}
		lo, hi := prefixRange(string(scope))
		return []string{"t.path >= ? AND t.path < ?"}, []any{lo, hi}, nil
	case r.Parent == nil:
		return nil, nil, nil
	}
	p, err := readableOwner(ctx, rd, scope, r, parent)
	if err != nil {
		return nil, nil, err
	}
	owner := p.GUID
	if r.ListsOf != "" {
		pool, err := account(ctx, rd, "", r.ListsOf)
		if err != nil {
			return nil, nil, err
		}
		owner = pool.GUID
	}
	return []string{"t." + t.parentCol + " = ?"}, []any{owner}, nil
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
	case r.Tree:
		return rec.GUID
	case r.View: // its account field names the account it shows
		s, _ := rec.Values["account"].(string)
		return s
	case r.Parent == nil:
		return ""
	}
	return rec.Parent
}

// Credentials implements resource.Store.
func (s *Store) Credentials(ctx context.Context, username string) (resource.Credentials, error) {
	var c resource.Credentials
	var enabled int64
	if !storable(username) {
		return c, notFound("account %s not found", username)
	}
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
