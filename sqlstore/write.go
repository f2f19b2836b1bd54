package sqlstore

// Writes of the generic resources: PUT (create or update, with the
// concurrent-create retry), PATCH and DELETE, each one transaction of the
// store's writer; the records' checks before they are written.

import (
	"context"
	"maps"
	"strings"

	"xc5"
	"xc5/resource"
	"xc5/secret"
)

// Put implements resource.Store.
func (s *Store) Put(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
	var ticket uint64
	var dropped string // an account whose mailbox the write removed
	if mode == resource.Create && id == "" && !in.Has("guid") && !r.View {
		// Chosen here so that the write's trail can read the new record
		// (on a copy: a caller may send the same input twice).
		in = maps.Clone(in)
		in["guid"] = resource.NewGUID()
	}
	ctx = s.withWriteTrail(ctx, &trail{scope: scope, r: r, parent: parent, id: id, in: in, fresh: id == "" && mode == resource.Create})
	rec, created, err := s.put(withMailboxDropped(withTicket(ctx, &ticket), &dropped), scope, r, parent, id, in, mode)
	parsed := rec.Parsed // the write's parsed grammars, for the view only
	if parsed == nil {
		parsed = in.Parsed()
	}
	rec.Parsed = nil
	if err == nil {
		c := resource.Change{Resource: r, Account: changedAccount(r, rec)}
		if !r.View { // a view's record is no stored record: its account is reloaded
			written := rec
			written.Parsed = parsed
			c.Record = &written
		}
		s.emit(c, ticket)
		if dropped != "" {
			s.emitVoicemail(dropped, "", true, ticket)
		}
		if eventful(r) {
			s.eventQueued()
		}
	}
	return rec, created, err
}

func (s *Store) put(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
	if err := forbidSystemWrite(r, scope); err != nil {
		return resource.Record{}, false, err
	}
	if !r.Writable() {
		return resource.Record{}, false, invalid("%s is read-only", r.Name)
	}
	if put := ownOf(r).put; put != nil {
		return put(s, ctx, scope, r, parent, id, in, mode)
	}
	return s.putSimple(ctx, scope, r, parent, id, in, mode, nil)
}

// putWebhook is putSimple for a webhook: one created without a secret
// gets a generated one, shown once in the creation's answer (as an
// account's generated password is), so that no webhook signs with the
// empty key.
func (s *Store) putWebhook(ctx context.Context, scope resource.Scope, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
	if in.Has("secret") && in.String("secret") == "" {
		return resource.Record{}, false, invalid("secret must not be empty: leave it out to have one generated")
	}
	generated := ""
	extra := func(context.Context, execer) (map[string]any, error) {
		if in.Has("secret") {
			return nil, nil
		}
		generated = secret.Generate()
		return map[string]any{"secret": generated}, nil
	}
	rec, created, err := s.putSimple(ctx, scope, resource.Webhook, parent, id, in, mode, extra)
	if err == nil && created && generated != "" {
		rec.Values["secret"] = generated
	}
	return rec, created, err
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
	if err := forbidLocked(ctx, q, r, t, scope, cur, false); err != nil {
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
	if err := markProviderSet(ctx, q, t, scope, cur.GUID); err != nil {
		return resource.Record{}, err
	}
	rec, err := t.getRow(ctx, q, "t.guid = ?", cur.GUID)
	rec.Parsed = resource.ParsedIn(merged) // what the write and its checks parsed
	return rec, err
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
	if create := ownOf(r).create; create != nil {
		if err := create(ctx, q, scope, owner); err != nil {
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
	if err := markProviderSet(ctx, q, t, scope, guid); err != nil {
		return resource.Record{}, false, err
	}
	rec, err := t.getRow(ctx, q, "t.guid = ?", guid)
	rec.Parsed = resource.ParsedIn(vals) // what the write and its checks parsed
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
	case r.Tree:
		if rec, err := account(ctx, s.reader(), scope, id); err == nil {
			c.Account, c.GUID = rec.GUID, rec.GUID
		}
	case r.View:
		if rec, err := ownOf(r).read(ctx, s.reader(), "", id); err == nil {
			c.Account = changedAccount(r, rec)
			c.Deleted = false // several records: the view reloads the account
		}
	case r.Parent != nil:
		if rec, err := get(ctx, s.reader(), scope, r, parent, id); err == nil {
			c.Account, c.GUID = rec.Parent, rec.GUID
		}
	}
	var ticket uint64
	ctx = s.withWriteTrail(ctx, &trail{scope: scope, r: r, parent: parent, id: id, deleted: true})
	err := s.delete(withTicket(ctx, &ticket), scope, r, parent, id)
	if err == nil {
		s.emit(c, ticket)
		if eventful(r) {
			s.eventQueued()
		}
	}
	return err
}

func (s *Store) delete(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string) error {
	if err := forbidSystemWrite(r, scope); err != nil {
		return err
	}
	if !r.Allows("DELETE", true) && !r.Allows("DELETE", false) {
		return invalid("%s cannot be deleted", r.Name)
	}
	if del := ownOf(r).del; del != nil {
		return del(s, ctx, scope, r, parent, id)
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
		if err := forbidLocked(ctx, q, r, t, scope, cur, true); err != nil {
			return err
		}
		if err := referenced(ctx, q, scope, r, cur); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, "DELETE FROM "+t.name+" WHERE guid = ?", cur.GUID)
		return mapError(err)
	})
}
