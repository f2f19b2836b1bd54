package sqlstore

// The trail of a generic write (Put, Delete): inside the write's own
// transaction, the record is read before and after the change, and an
// audit entry (for API writes, those whose context has an xc5.Origin)
// and the webhook events it causes are written with it, so that they
// are committed exactly when the change is.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"xc5"
	"xc5/resource"
)

// trailKey carries a *trail in a write's context; the writer wraps the
// write's function with it (writer.submit).
type trailKey struct{}

// trail is what a generic write is about.
type trail struct {
	scope   resource.Scope
	r       *resource.Resource
	parent  string
	id      string // as the path named it; for a creation on a collection, the GUID Put chose
	deleted bool
	fresh   bool // a creation on a collection: there is no record before
	origin  xc5.Origin
	audited bool
	in      resource.Input // the fields sent (write-only ones are masked in the trail)
}

// withTrail returns ctx carrying t for the writer.
func withTrail(ctx context.Context, t *trail) context.Context {
	return context.WithValue(ctx, trailKey{}, t)
}

// wrapTrail makes fn also write its trail, when ctx has one.
func wrapTrail(ctx context.Context, fn func(context.Context, execer) error) func(context.Context, execer) error {
	t, ok := ctx.Value(trailKey{}).(*trail)
	if !ok {
		return fn
	}
	return func(ctx context.Context, q execer) error { return t.run(ctx, q, fn) }
}

// run runs fn between the two reads, then writes the trail. It keeps
// nothing between runs, so a rerunnable fn stays rerunnable.
func (t *trail) run(ctx context.Context, q execer, fn func(context.Context, execer) error) error {
	hooks := false // known to be some enabled webhook
	if !t.audited {
		if !eventful(t.r) || !anyHooks(ctx, q) {
			return fn(ctx, q)
		}
		hooks = true
	}
	var before, after *resource.Record
	var own owner
	if t.id != "" && !t.fresh {
		if rec, err := t.lookup(ctx, q, t.id); err == nil {
			before = &rec
			// Read now: the write may remove the account (a
			// HydraAccount's deletion).
			if own, err = t.ownerOf(ctx, q, before); err != nil {
				return err
			}
		}
	}
	if err := fn(ctx, q); err != nil {
		return err
	}
	if !t.deleted {
		id := t.id
		if before != nil && !t.r.View {
			id = before.GUID // a write may rename the key the path used
		}
		if rec, err := t.lookup(ctx, q, id); err == nil {
			after = &rec
			if own, err = t.ownerOf(ctx, q, after); err != nil {
				return err
			}
		}
	}
	if before == nil && after == nil {
		return nil
	}
	if t.audited {
		if err := t.audit(ctx, q, own.path, before, after); err != nil {
			return err
		}
	}
	if !eventful(t.r) || (!hooks && !anyHooks(ctx, q)) {
		return nil
	}
	return t.events(ctx, q, own, before, after)
}

// owner is the account a record belongs to, as the trail needs it.
type owner struct{ guid, path, username string }

// ownerOf reads the account rec belongs to (none for system-wide
// resources): its path partitions the audit trail, its username names
// it in events.
func (t *trail) ownerOf(ctx context.Context, q execer, rec *resource.Record) (owner, error) {
	if t.r.Tree {
		u, _ := rec.Values["username"].(string)
		return owner{rec.GUID, rec.Path, u}, nil
	}
	o := owner{guid: changedAccount(t.r, *rec)}
	if o.guid == "" {
		return o, nil
	}
	err := q.QueryRowContext(ctx, `SELECT path, username FROM accounts WHERE guid = ?`, strings.ToUpper(o.guid)).Scan(&o.path, &o.username)
	if err != nil {
		return o, missing(err, "account %s not found", o.guid)
	}
	return o, nil
}

// lookup reads the record id as the write sees it.
func (t *trail) lookup(ctx context.Context, q execer, id string) (resource.Record, error) {
	if read := ownOf(t.r).read; read != nil {
		return read(ctx, q, "", id)
	}
	switch {
	case t.r.Tree:
		return account(ctx, q, "", id)
	case t.r.Parent != nil && resource.IsGUID(id):
		// A GUID names one row of the table: no need to resolve the
		// path's account (the write did, in the caller's partition).
		tb, err := tableOf(t.r)
		if err != nil {
			return resource.Record{}, err
		}
		return tb.getRow(ctx, q, "t.guid = ?", strings.ToUpper(id))
	case t.r.Parent == nil:
		return get(ctx, q, "", t.r, "", id)
	}
	return get(ctx, q, "", t.r, t.parent, id)
}

// audit writes the entry of an API write.
func (t *trail) audit(ctx context.Context, q execer, path string, before, after *resource.Record) error {
	rec := after
	if rec == nil {
		rec = before
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit (guid, at, actor, source, method, uri, resource, record, path, old_json, new_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		resource.NewGUID(), time.Now().UnixMilli(), t.origin.Account, t.origin.Source, t.origin.Method, t.origin.Path,
		t.r.Name, rec.GUID, path, t.fields(before, false), t.fields(after, true))
	return err
}

// fields renders a record's values as a JSON object for the trail; "" for
// none. In the after image, the write-only fields the write set are shown
// masked, so that the trail says a password changed without saying it;
// a secret field (resource.Field.Secret) is masked in both images.
func (t *trail) fields(rec *resource.Record, written bool) string {
	if rec == nil {
		return ""
	}
	m := recordJSON(t.r, *rec)
	for _, f := range t.r.Fields {
		if (f.WriteOnly && written && t.in.Has(f.Name)) || (f.Secret && m[f.Name] != nil && m[f.Name] != "") {
			m[f.Name] = masked
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// masked stands for a write-only value in the trail.
const masked = "********"

// recordJSON is a record's values as the API shows them, GUID included
// (write-only fields are never read back).
func recordJSON(r *resource.Resource, rec resource.Record) map[string]any {
	m := make(map[string]any, len(rec.Values)+1)
	for k, v := range rec.Values {
		if f := r.Field(k); f != nil && f.WriteOnly {
			continue
		}
		m[k] = v
	}
	if rec.GUID != "" {
		m["guid"] = rec.GUID
	}
	return m
}

// eventRecord is a record as an event shows it: as the API does, without
// its secret fields (a receiver is no place for a PIN).
func eventRecord(r *resource.Resource, rec resource.Record) map[string]any {
	m := recordJSON(r, rec)
	for _, f := range r.Fields {
		if f.Secret {
			delete(m, f.Name)
		}
	}
	return m
}

// eventful reports whether writes of r cause webhook events.
func eventful(r *resource.Resource) bool { return len(r.Events) > 0 }

// events queues the webhook events of the write: account.changed for an
// account, number.changed for a number (to its owner before and after,
// when it moved).
func (t *trail) events(ctx context.Context, q execer, own owner, before, after *resource.Record) error {
	if t.r.View { // a line: its account's event and its number's
		return hydraEvents(ctx, q, own, before, after)
	}
	rec := after
	if rec == nil {
		rec = before
	}
	typ := t.r.Events[0]
	body := eventRecord(t.r, *rec)
	if err := queueEventTo(ctx, q, own, xc5.Event{Type: typ, Record: body, Deleted: after == nil}); err != nil {
		return err
	}
	if before != nil && after != nil && before.Parent != after.Parent && typ == xc5.EventNumberChanged {
		// The old holder hears the number is gone from it, as it was.
		return queueEvent(ctx, q, before.Parent, xc5.Event{Type: typ, Record: eventRecord(t.r, *before), Deleted: true})
	}
	return nil
}

// hydraEvents queues what a HydraAccount write changed: the line's
// account and its number, as /account and /number show them (a deleted
// line by its GUID, username and number only: both are gone).
func hydraEvents(ctx context.Context, q execer, own owner, before, after *resource.Record) error {
	if after == nil {
		number := before.Values["number"]
		if err := queueEventTo(ctx, q, own, xc5.Event{Type: xc5.EventAccountChanged, Deleted: true,
			Record: map[string]any{"guid": own.guid, "username": number}}); err != nil {
			return err
		}
		return queueEventTo(ctx, q, own, xc5.Event{Type: xc5.EventNumberChanged, Deleted: true, Record: map[string]any{"number": number}})
	}
	acct, num, err := hydraLine(ctx, q, after.GUID)
	if err != nil {
		return err
	}
	if err := queueEventTo(ctx, q, own, xc5.Event{Type: xc5.EventAccountChanged, Record: eventRecord(resource.Account, acct)}); err != nil {
		return err
	}
	return queueEventTo(ctx, q, own, xc5.Event{Type: xc5.EventNumberChanged, Record: eventRecord(resource.Number, num)})
}

// queueEvent writes ev, about the account with GUID acct, to the outbox
// of every enabled webhook of that account and its ancestors that takes
// ev's type; nothing when none does. It fills ev's time, account and
// (unless set) ID.
func queueEvent(ctx context.Context, q execer, acct string, ev xc5.Event) error {
	if acct == "" || !anyHooks(ctx, q) {
		return nil
	}
	o := owner{guid: strings.ToUpper(acct)}
	err := q.QueryRowContext(ctx, `SELECT path, username FROM accounts WHERE guid = ?`, o.guid).Scan(&o.path, &o.username)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the account went with the write: no one to tell
		}
		return err
	}
	return queueEventTo(ctx, q, o, ev)
}

// queueEventTo is queueEvent for an account already read.
func queueEventTo(ctx context.Context, q execer, o owner, ev xc5.Event) error {
	if o.path == "" {
		return nil
	}
	hooks, err := matchingHooks(ctx, q, o.path, ev.Type)
	if err != nil || len(hooks) == 0 {
		return err
	}
	if ev.ID == "" {
		ev.ID = resource.NewGUID()
	}
	ev.At, ev.Account = time.Now().UTC(), o.username
	now := time.Now().UnixMilli()
	queue := strings.ToUpper(o.guid)
	for _, h := range hooks {
		body, err := json.Marshal(h.shown(ctx, q, ev))
		if err != nil {
			return err
		}
		next, err := queuedNext(ctx, q, h.guid, queue, now)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO webhook_outbox (event, webhook, queue, body, created, next_try) VALUES (?, ?, ?, ?, ?, ?)`,
			ev.ID, h.guid, queue, string(body), now, next); err != nil {
			return err
		}
	}
	return nil
}

// queuedNext is the next_try of a delivery queued now in the queue of
// webhook hook: waiting behind the queue's oldest queued delivery
// (webhook.go), or due now when there is none. On PostgreSQL that one is
// locked until the write commits, so that its delivery, which makes the
// next one due (promoteNext), waits for this one to be there to be seen;
// one that leaves the queue meanwhile is passed over for the next.
func queuedNext(ctx context.Context, q execer, hook, queue string, now int64) (int64, error) {
	lock := ""
	if _, pg := q.(boundExecer); pg {
		lock = " FOR UPDATE"
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM webhook_outbox WHERE state = ? AND webhook = ? AND queue = ? ORDER BY id LIMIT 1`+lock,
		xc5.DeliveryQueued, hook, queue).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return now, nil
	case err != nil:
		return 0, err
	}
	return waiting, nil
}

// hookTarget is a webhook an event goes to, with what it may be shown:
// scope is "" for a webhook of an account with system API access, else
// the account's path, the partition its API reads are confined to.
type hookTarget struct {
	guid  string
	scope resource.Scope
}

// shown is ev as the webhook's account reads the same data through the
// API: below system level, call and voicemail events name other
// companies' accounts "another company" and a withheld caller
// "anonymous" (resource.Outsiders, as api/partition.go and
// api/voicemail.go do).
func (h hookTarget) shown(ctx context.Context, q execer, ev xc5.Event) xc5.Event {
	if h.scope == "" {
		return ev
	}
	o := resource.NewOutsiders(ctx, txAccounts{q}, h.scope)
	if ev.Call != nil {
		ev.Call = o.RedactCDR(resource.Record{Values: ev.Call}).Values
	}
	if ev.Type == xc5.EventVoicemailNew && ev.Record != nil {
		rec := make(map[string]any, len(ev.Record))
		for k, v := range ev.Record {
			if s, ok := v.(string); ok && (k == "from" || k == "to") && !o.Shown(s) {
				v = resource.AnotherCompany
			}
			rec[k] = v
		}
		ev.Record = rec
	}
	return ev
}

// txAccounts reads accounts in the write's transaction for Outsiders
// (resource.AccountGetter).
type txAccounts struct{ q execer }

func (t txAccounts) Get(ctx context.Context, scope resource.Scope, _ *resource.Resource, _, id string) (resource.Record, error) {
	return account(ctx, t.q, scope, id)
}

// anyHooks reports whether the database has an enabled webhook at all:
// one cheap statement that spares the writes of a system without
// webhooks the reads an event needs. Read in the write's transaction, it
// sees a webhook committed before, and so misses no event.
func anyHooks(ctx context.Context, q execer) bool {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM webhooks WHERE enabled <> 0 LIMIT 1) w`).Scan(&n)
	return err != nil || n > 0 // on doubt, look
}

// matchingHooks returns the enabled webhooks of the accounts on path (an
// account and its ancestors) that take events of typ.
func matchingHooks(ctx context.Context, q execer, path, typ string) ([]hookTarget, error) {
	guids := strings.Split(strings.Trim(path, "/"), "/")
	args := make([]any, 0, len(guids)+1)
	args = append(args, resource.AccessSystem)
	for _, g := range guids {
		args = append(args, g)
	}
	rows, err := q.QueryContext(ctx, `SELECT w.guid, w.events, a.path,
			EXISTS (SELECT 1 FROM account_resources r WHERE r.account = a.guid AND r.name = 'api_access' AND r.value = ?)
		FROM webhooks w JOIN accounts a ON a.guid = w.account
		WHERE w.enabled <> 0 AND w.account IN (?`+strings.Repeat(", ?", len(guids)-1)+`) ORDER BY w.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hookTarget
	for rows.Next() {
		var h hookTarget
		var events, apath string
		var system bool
		if err := rows.Scan(&h.guid, &events, &apath, &system); err != nil {
			return nil, err
		}
		if !system {
			h.scope = resource.Scope(apath)
		}
		if resource.WantsEvent(events, typ) {
			out = append(out, h)
		}
	}
	return out, rows.Err()
}

// originOf is the origin of ctx, nil when it has none.
func originOf(ctx context.Context) *xc5.Origin {
	if o, ok := xc5.OriginOf(ctx); ok {
		return &o
	}
	return nil
}

// withWriteTrail sets up t for a generic write: audited when the write
// comes from the API.
func (s *Store) withWriteTrail(ctx context.Context, t *trail) context.Context {
	t.origin, t.audited = xc5.OriginOf(ctx)
	if t.id == "" {
		t.id = t.in.String("guid")
	}
	return withTrail(ctx, t)
}

// auditOther writes the audit entry of an API write made outside Put and
// Delete (a prompt's audio, a mailbox message's status or deletion), of
// the record guid of resource res in account acct; nothing without an
// origin (o nil: not an API write). before or after is nil when there
// was none. The origin is read from the request's context by the caller:
// a write function's own context is the writer's.
func auditOther(ctx context.Context, q execer, o *xc5.Origin, res, guid, acct string, before, after map[string]any) error {
	if o == nil {
		return nil
	}
	var path string
	if err := q.QueryRowContext(ctx, `SELECT path FROM accounts WHERE guid = ?`, strings.ToUpper(acct)).Scan(&path); err != nil {
		return missing(err, "account %s not found", acct)
	}
	image := func(m map[string]any) string {
		if m == nil {
			return ""
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit (guid, at, actor, source, method, uri, resource, record, path, old_json, new_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		resource.NewGUID(), time.Now().UnixMilli(), o.Account, o.Source, o.Method, o.Path, res, strings.ToUpper(guid), path, image(before), image(after))
	return err
}
