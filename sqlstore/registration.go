package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"xc5"
	"xc5/secret"
)

// sqlTime formats a time the way the registrations table stores it:
// RFC 3339 in UTC with whole seconds, so that string order is time order.
// A REGISTER formats three (its expiry, now, and the cap's now), mostly
// of the same few seconds as the REGISTERs around it: the last few are
// kept, one per slot by second. 13 slots, so that now and an expiry a
// usual interval later (60, 600, 3600 s: multiples of 8) do not share one.
func sqlTime(t time.Time) string {
	sec := t.Unix()
	slot := &sqlTimes[uint64(sec)%uint64(len(sqlTimes))]
	if c := slot.Load(); c != nil && c.sec == sec {
		return c.s
	}
	s := t.UTC().Truncate(time.Second).Format(time.RFC3339)
	slot.Store(&formattedSecond{sec, s})
	return s
}

// formattedSecond is one second formatted by sqlTime.
type formattedSecond struct {
	sec int64
	s   string
}

var sqlTimes [13]atomic.Pointer[formattedSecond]

// digestColumns returns the accounts columns that hold the digest secrets
// of username with password: the HA1 values for the full username and,
// for a username local@realm, for the local part alone. The account writes
// store them wherever they set a password.
func digestColumns(username, password string) map[string]any {
	realm := secret.Realm(username)
	full := secret.DigestHA1(username, realm, password)
	cols := map[string]any{"ha1_md5": full.MD5, "ha1_sha256": full.SHA256, "ha1_local_md5": "", "ha1_local_sha256": ""}
	if i := strings.LastIndexByte(username, '@'); i > 0 {
		local := secret.DigestHA1(username[:i], realm, password)
		cols["ha1_local_md5"], cols["ha1_local_sha256"] = local.MD5, local.SHA256
	}
	return cols
}

// SIPCredentials returns the digest secrets of the account with the given
// username (case-insensitive).
func (s *Store) SIPCredentials(ctx context.Context, username string) (xc5.SIPCredentials, error) {
	var c xc5.SIPCredentials
	var enabled int64
	var path string
	if !storable(username) {
		return c, notFound("account %s not found", username)
	}
	err := s.reader().QueryRowContext(ctx, `SELECT guid, username, ha1_md5, ha1_sha256, ha1_local_md5, ha1_local_sha256, enabled, path
		FROM accounts WHERE username = ?`, strings.ToLower(username)).
		Scan(&c.GUID, &c.Username, &c.HA1MD5, &c.HA1SHA256, &c.LocalHA1MD5, &c.LocalHA1SHA256, &enabled, &path)
	if err != nil {
		return c, readError(err, "account %s not found", username)
	}
	c.Realm = secret.Realm(c.Username)
	c.Enabled = enabled != 0
	if c.Enabled { // enabled only while every ancestor is
		off, err := ancestorsDisabled(ctx, s.reader(), path, c.GUID)
		if err != nil {
			return c, readError(err, "")
		}
		c.Enabled = !off
	}
	return c, nil
}

// registrationGUID is the GUID of a new binding: a version 7 UUID, whose
// leading bits are the time, in the same upper-case form as other GUIDs.
// Time-ordered GUIDs land at the right edge of the unique guid index, so a
// burst of registrations dirties one or two of its pages per commit
// instead of one random page each: less to write to the WAL.
func registrationGUID() string {
	u, err := uuid.NewV7()
	if err != nil {
		u = uuid.New()
	}
	return strings.ToUpper(u.String())
}

// PutRegistration binds contact to the account until expires, or refreshes
// an existing binding of the same contact in place: its GUID stays, its
// expiry, user agent, source and registered_at are updated. A new contact
// beyond limit is refused with ErrTooManyContacts; the count is taken in the
// write that adds the binding, so that simultaneous REGISTERs cannot
// overshoot it. It returns once the binding is durably committed, with
// the account's bindings live at limit.Now after the write (the
// registrar's 200 lists them), oldest first: read in the same write, so
// that a REGISTER costs no separate read of its account's bindings.
//
// Registrations arriving together share one store write (see regBatcher),
// so that a burst of them costs one commit and one fsync per batch of up
// to maxRegBatch rather than one queued write each: the writer's own
// batches are bounded by its queue, and at 5,000 REGISTERs a second with
// commits slowed by other disk work, one write per REGISTER made the
// writer the bottleneck.
func (s *Store) PutRegistration(ctx context.Context, accountGUID, contact string, expires time.Time, userAgent, source string, limit xc5.ContactCap) ([]xc5.Binding, error) {
	p := &regPut{account: accountGUID, contact: contact, expires: sqlTime(expires), ua: userAgent, source: source,
		at: sqlTime(time.Now()), max: limit.Max, now: sqlTime(limit.Now), done: make(chan error, 1)}
	b := &s.regs
	b.mu.Lock()
	b.pending = append(b.pending, p)
	lead := !b.busy
	b.busy = true
	b.mu.Unlock()
	if lead {
		go b.drain(s)
	}
	select {
	case err := <-p.done:
		if err != nil {
			return nil, err
		}
		return p.bindings, nil
	case <-ctx.Done():
		return nil, ctx.Err() // the write itself goes on: a write is never cut half way
	}
}

// upsertRegistration writes one binding inside a batch: it reads the
// account's bindings, which decide between a refresh in place, a new
// binding and a refusal at the cap, and which, with this one, are what
// p.bindings returns. A failure (the account was deleted meanwhile, or is
// at its cap) undoes only this binding: SQLite backs out just the failed
// statement, and on PostgreSQL, where any error aborts the transaction,
// each binding has its own savepoint. hooks says whether any webhook may
// want the registration.changed event of a new binding.
//
// A live binding's refresh that the batch's stage (SQLite's registration
// cache, regcache.go) knows is one UPDATE, without the read.
func (s *Store) upsertRegistration(ctx context.Context, q execer, p *regPut, hooks bool, st *regStage) error {
	if refreshCached(ctx, q, p, st) {
		return nil
	}
	pg := s.d == postgresDialect
	if pg {
		if _, err := q.ExecContext(ctx, "SAVEPOINT reg"); err != nil {
			return err
		}
	}
	rows, err := s.accountBindings(ctx, q, p)
	live, i := 0, -1 // live bindings other than p.contact; p.contact's row
	for j, r := range rows {
		if r.Contact == p.contact {
			i = j
		} else if r.expires > p.now {
			live++
		}
	}
	switch {
	case err != nil:
	case p.max > 0 && live >= p.max && (i < 0 || rows[i].expires <= p.now):
		// A new contact, or one that expired but is not swept yet (so
		// counted as new); a live binding's refresh is never refused.
		err = xc5.ErrTooManyContacts
	case i >= 0:
		reborn := rows[i].expires <= p.now // expired, not swept yet: a change
		_, err = q.ExecContext(ctx, `UPDATE registrations SET expires = ?, user_agent = ?, source = ?, registered_at = ?
		WHERE account = ? AND contact = ?`, p.expires, p.ua, p.source, p.at, p.account, p.contact)
		rows[i].set(p)
		if err == nil && reborn && hooks {
			err = regEvent(ctx, q, p.account, p.contact, "registered", p)
		}
	default:
		// ON CONFLICT only for a PostgreSQL node racing another on an
		// uncapped put (capped ones hold the account's lock).
		r := bindingRow{Binding: xc5.Binding{GUID: registrationGUID(), Contact: p.contact}}
		_, err = q.ExecContext(ctx, `INSERT INTO registrations (guid, account, contact, expires, user_agent, source, registered_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, contact) DO UPDATE SET expires = excluded.expires,
			user_agent = excluded.user_agent, source = excluded.source, registered_at = excluded.registered_at`,
			r.GUID, p.account, p.contact, p.expires, p.ua, p.source, p.at)
		r.set(p)
		rows = append(rows, r)
		if err == nil && hooks {
			err = regEvent(ctx, q, p.account, p.contact, "registered", p)
		}
	}
	if pg {
		if err != nil {
			q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT reg")
		}
		q.ExecContext(ctx, "RELEASE SAVEPOINT reg")
	}
	switch err {
	case nil:
		p.bindings = liveOf(rows, p.now)
		st.put(p.account, rows)
	case xc5.ErrTooManyContacts:
		st.put(p.account, rows) // read and unchanged
		return err
	default:
		st.taint(p.account)
	}
	if err = mapError(err); xc5.ErrorCode(err) == xc5.ECONFLICT {
		return notFound("account %s not found", p.account)
	}
	return err
}

// refreshCached refreshes p's binding when the batch's stage knows it
// live: one UPDATE, no read. It reports whether it did; when not, p is to
// be written the long way (so also after an error, or when the UPDATE
// found no row: the copy was stale, and the account is read).
func refreshCached(ctx context.Context, q execer, p *regPut, st *regStage) bool {
	rows, ok := st.live(p.account, p.contact, p.now)
	if !ok {
		return false
	}
	res, err := q.ExecContext(ctx, `UPDATE registrations SET expires = ?, user_agent = ?, source = ?, registered_at = ?
		WHERE account = ? AND contact = ?`, p.expires, p.ua, p.source, p.at, p.account, p.contact)
	if err == nil {
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			for i := range rows {
				if rows[i].Contact == p.contact {
					rows[i].set(p)
				}
			}
			st.put(p.account, rows)
			p.bindings = liveOf(rows, p.now)
			return true
		}
	}
	st.taint(p.account)
	return false
}

// bindingRow is a binding as read in a write, its times still as stored.
type bindingRow struct {
	xc5.Binding
	expires, at string
}

// set gives r the values p writes.
func (r *bindingRow) set(p *regPut) {
	r.expires, r.at, r.UserAgent, r.Source = p.expires, p.at, p.ua, p.source
}

// liveOf returns the rows live at now (a time as stored), times parsed.
func liveOf(rows []bindingRow, now string) []xc5.Binding {
	var out []xc5.Binding
	for _, r := range rows {
		if r.expires > now {
			b := r.Binding
			b.Expires, b.RegisteredAt = parseSQLTime(r.expires), parseSQLTime(r.at)
			out = append(out, b)
		}
	}
	return out
}

// accountBindings reads every binding of the account, expired ones not
// swept yet included, in the write. On SQLite the single writer makes
// them (and so the cap's count) exact; on PostgreSQL, where several
// nodes write at once, a capped put first locks the account's row, so
// that each node sees the others' committed bindings (FOR NO KEY UPDATE:
// it does not hold up writes elsewhere that merely reference the
// account).
func (s *Store) accountBindings(ctx context.Context, q execer, p *regPut) ([]bindingRow, error) {
	if s.d == postgresDialect && p.max > 0 {
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE guid = ? FOR NO KEY UPDATE`, p.account).Scan(&one)
		if err == sql.ErrNoRows {
			return nil, notFound("account %s not found", p.account)
		}
		if err != nil {
			return nil, err
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT guid, contact, expires, user_agent, source, registered_at
		FROM registrations WHERE account = ? ORDER BY id`, p.account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bindingRow
	for rows.Next() {
		var r bindingRow
		if err := rows.Scan(&r.GUID, &r.Contact, &r.expires, &r.UserAgent, &r.Source, &r.at); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// parseSQLTime reads a time as the registrations table stores it.
func parseSQLTime(v string) time.Time {
	t, _ := time.Parse(time.RFC3339, v)
	return t
}

// DeleteRegistration removes one binding of the account.
func (s *Store) DeleteRegistration(ctx context.Context, accountGUID, contact string) error {
	return s.w.doRegs(ctx, func(ctx context.Context, q execer) error {
		s.w.regs.drop(accountGUID)
		res, err := q.ExecContext(ctx, `DELETE FROM registrations WHERE account = ? AND contact = ?`, accountGUID, contact)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("registration %s not found", contact)
		}
		return regEvent(ctx, q, accountGUID, contact, "unregistered", nil)
	})
}

// DeleteAllRegistrations removes every binding of the account.
func (s *Store) DeleteAllRegistrations(ctx context.Context, accountGUID string) error {
	return s.w.doRegs(ctx, func(ctx context.Context, q execer) error {
		s.w.regs.drop(accountGUID)
		res, err := q.ExecContext(ctx, `DELETE FROM registrations WHERE account = ?`, accountGUID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return regEvent(ctx, q, accountGUID, "*", "unregistered", nil)
	})
}

// ExpireRegistrations deletes the bindings that expired at or before now
// and reports how many there were.
func (s *Store) ExpireRegistrations(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.w.doRegs(ctx, func(ctx context.Context, q execer) error {
		rows, err := q.QueryContext(ctx, `DELETE FROM registrations WHERE expires <= ? RETURNING account, contact`, sqlTime(now))
		if err != nil {
			return err
		}
		var gone [][2]string
		for rows.Next() {
			var b [2]string
			if err := rows.Scan(&b[0], &b[1]); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, b)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		n = int64(len(gone))
		for _, b := range gone {
			s.w.regs.drop(b[0])
			if err := regEvent(ctx, q, b[0], b[1], "expired", nil); err != nil {
				return err
			}
		}
		return nil
	})
	return int(n), err
}

// regEvent queues registration.changed for a binding of account that
// came (state registered, with p) or went (unregistered, expired); a
// refresh of a live binding is no change.
func regEvent(ctx context.Context, q execer, account, contact, state string, p *regPut) error {
	rec := map[string]any{"contact": contact, "state": state}
	if p != nil {
		rec["expires"], rec["user_agent"], rec["source"] = p.expires, p.ua, p.source
	}
	return queueEvent(ctx, q, account, xc5.Event{Type: xc5.EventRegistrationChanged, Record: rec})
}

// ContactsOf returns the account's bindings that are still valid at now,
// oldest first.
func (s *Store) ContactsOf(ctx context.Context, accountGUID string, now time.Time) ([]xc5.Binding, error) {
	return scanBindings(s.reader().QueryContext(ctx, `SELECT guid, contact, expires, user_agent, source, registered_at
		FROM registrations WHERE account = ? AND expires > ? ORDER BY id`, accountGUID, sqlTime(now)))
}

// scanBindings reads the rows of a bindings query.
func scanBindings(rows *sql.Rows, err error) ([]xc5.Binding, error) {
	if err != nil {
		return nil, storeErr(err)
	}
	defer rows.Close()
	var out []xc5.Binding
	for rows.Next() {
		var b xc5.Binding
		var expires, at string
		if err := rows.Scan(&b.GUID, &b.Contact, &expires, &b.UserAgent, &b.Source, &at); err != nil {
			return nil, storeErr(err)
		}
		b.Expires, b.RegisteredAt = parseSQLTime(expires), parseSQLTime(at)
		out = append(out, b)
	}
	return out, storeErr(rows.Err())
}
