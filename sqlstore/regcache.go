package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// regCache is the registration writer's copy of the bindings of accounts
// it has written, on SQLite: with it, the refresh of a live binding (most
// REGISTERs of a storm) skips the read of its account's bindings in the
// write. It is kept exact by these rules (docs/sip.md, "The registrar's
// store"):
//
//   - It is filled and changed only by the registration batches, after
//     their COMMIT, and only when nothing dropped anything meanwhile (gen).
//   - The registrar's own deletes (DeleteRegistration,
//     DeleteAllRegistrations, ExpireRegistrations) drop the accounts they
//     touch, before their COMMIT.
//   - Any other write whose statement names the registrations table or
//     deletes accounts (the API's DELETE of a binding, an account's
//     deletion and its cascade, an import) drops the whole copy (regWatch).
//   - A commit by any other connection to the database (another process,
//     a second Store on the same file) drops the whole copy: each batch
//     reads PRAGMA data_version inside its write transaction, which holds
//     SQLite's write lock, so no such commit can slip in after it.
//   - Only a live binding's refresh is answered from the copy; a new
//     contact, an expired one and every capped decision read the table. A
//     refresh whose UPDATE finds no row drops the account and reads it.
//
// On PostgreSQL, where other nodes write the same table, there is no
// copy: each binding reads its account's bindings in the write.
type regCache struct {
	mu   sync.Mutex
	gen  uint64 // counts drops; a batch's result is kept only if none came since it began
	m    map[string][]bindingRow
	dver int64 // PRAGMA data_version last seen by the writer connection; -1 unknown
}

// maxCachedAccounts bounds the copy; past it the copy starts afresh.
const maxCachedAccounts = 200000

func newRegCache() *regCache { return &regCache{m: map[string][]bindingRow{}, dver: -1} }

// drop forgets accounts.
func (c *regCache) drop(accounts ...string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	for _, a := range accounts {
		delete(c.m, a)
	}
	c.mu.Unlock()
}

// dropAll forgets every account.
func (c *regCache) dropAll() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

// regStage is one registration batch's view of the copy: the accounts it
// read or wrote, as they stand in its transaction.
type regStage struct {
	c       *regCache
	gen     uint64
	rows    map[string][]bindingRow // after the batch's writes so far
	tainted map[string]bool         // a write failed part way: read and forget it
}

// stage begins a batch's use of the copy, inside its transaction: nil on
// PostgreSQL. A commit by another connection since the last batch drops
// the whole copy.
func (c *regCache) stage(ctx context.Context, q execer) *regStage {
	if c == nil {
		return nil
	}
	var v int64
	if err := q.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		v = -1
	}
	c.mu.Lock()
	if v < 0 || v != c.dver {
		c.gen++
		clear(c.m)
		c.dver = v
	}
	st := &regStage{c: c, gen: c.gen, rows: map[string][]bindingRow{}}
	c.mu.Unlock()
	return st
}

// live returns the account's rows when contact is a binding of it live at
// now, as the batch knows them (a copy the caller may change), and
// whether it does.
func (st *regStage) live(account, contact, now string) ([]bindingRow, bool) {
	if st == nil || st.tainted[account] {
		return nil, false
	}
	rows, ok := st.rows[account]
	if !ok {
		st.c.mu.Lock()
		rows, ok = st.c.m[account]
		st.c.mu.Unlock()
		if !ok {
			return nil, false
		}
	}
	if !liveIn(rows, contact, now) {
		return nil, false
	}
	return append([]bindingRow(nil), rows...), true
}

// split parts a batch (in order) into the puts that refresh a binding
// the cache knows live and the rest; on PostgreSQL all are the rest. It
// is a hint: the write checks again (regStage.live).
func (c *regCache) split(batch []*regPut) (refreshes, rest []*regPut) {
	if c == nil {
		return nil, batch
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range batch {
		if liveIn(c.m[p.account], p.contact, p.now) {
			refreshes = append(refreshes, p)
		} else {
			rest = append(rest, p)
		}
	}
	return refreshes, rest
}

// liveIn reports whether contact is among rows, live at now.
func liveIn(rows []bindingRow, contact, now string) bool {
	for _, r := range rows {
		if r.Contact == contact {
			return r.expires > now
		}
	}
	return false
}

// put records the account's rows after a successful write of the batch.
func (st *regStage) put(account string, rows []bindingRow) {
	if st != nil && !st.tainted[account] {
		st.rows[account] = rows
	}
}

// taint marks an account whose write failed part way, or whose copy
// proved stale: the rest of the batch reads it, and it is forgotten.
func (st *regStage) taint(account string) {
	if st == nil {
		return
	}
	if st.tainted == nil {
		st.tainted = map[string]bool{}
	}
	st.tainted[account] = true
	delete(st.rows, account)
}

// settle ends the batch: once committed, with nothing dropped since it
// began, its accounts' rows become the copy's; otherwise they, and the
// tainted ones, are forgotten.
func (st *regStage) settle(committed bool) {
	if st == nil {
		return
	}
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !committed || c.gen != st.gen {
		for a := range st.rows {
			delete(c.m, a)
		}
		for a := range st.tainted {
			delete(c.m, a)
		}
		return
	}
	if len(c.m)+len(st.rows) > maxCachedAccounts {
		clear(c.m)
	}
	for a, rows := range st.rows {
		c.m[a] = rows
	}
	for a := range st.tainted {
		delete(c.m, a)
	}
}

// regWatch is the execer of a write that does not keep the copy itself:
// a statement of it that may change bindings drops the whole copy, before
// it runs.
type regWatch struct {
	execer
	c *regCache
}

// changesBindings reports whether statement q may change the
// registrations table: it names it, or deletes from accounts (whose
// bindings go with them).
func changesBindings(q string) bool {
	return strings.Contains(q, "registrations") ||
		(strings.Contains(q, "accounts") && (strings.Contains(q, "DELETE") || strings.Contains(q, "delete")))
}

func (r regWatch) note(q string) {
	if changesBindings(q) {
		r.c.dropAll()
	}
}

func (r regWatch) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r.note(q)
	return r.execer.ExecContext(ctx, q, args...)
}

func (r regWatch) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	r.note(q)
	return r.execer.QueryContext(ctx, q, args...)
}

func (r regWatch) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	r.note(q)
	return r.execer.QueryRowContext(ctx, q, args...)
}

// warm fills the cache with the bindings in the table (up to
// maxCachedAccounts accounts), so that after a restart the phones'
// refreshes skip the read as they did before it. Open runs it on the
// writer's connection before the writer starts, in a write transaction,
// so that PRAGMA data_version is read with the rows: a commit by another
// connection after it drops the copy at the next batch. A failure leaves
// the cache empty.
func (c *regCache) warm(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return
	}
	defer conn.ExecContext(ctx, "COMMIT")
	m := map[string][]bindingRow{}
	if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&c.dver); err != nil {
		c.dver = -1
		return
	}
	rows, err := conn.QueryContext(ctx, `SELECT account, guid, contact, expires, user_agent, source, registered_at
		FROM registrations ORDER BY account, id`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		var r bindingRow
		if err := rows.Scan(&a, &r.GUID, &r.Contact, &r.expires, &r.UserAgent, &r.Source, &r.at); err != nil {
			return
		}
		if _, ok := m[a]; !ok && len(m) >= maxCachedAccounts {
			break
		}
		m[a] = append(m[a], r)
	}
	if rows.Err() == nil {
		c.m = m
	}
}
