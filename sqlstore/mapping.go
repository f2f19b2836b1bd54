package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"xc5/resource"
)

// table maps a resource description onto its SQL table. Columns are
// derived from the field names (hyphens become underscores); the few
// fields that are not plain columns are listed in computed.
type table struct {
	name      string
	parentCol string   // the column holding the owning (or parent) account's GUID
	key       string   // column of the resource's Key field, "" if none
	filter    string   // column ?filter= matches
	cols      []column // every column, in field order
	read      []column // the columns SELECT reads (not write-only ones)
	selectSQL string   // "SELECT … FROM name t"
	flagged   bool     // callrules: SELECT reads provider_set after the path
}

type column struct {
	field *resource.Field
	expr  string // what SELECT reads; "" for write-only columns
	col   string // what INSERT/UPDATE write; "" when computed
}

// computed columns are read-only values derived in SQL.
var computed = map[string]string{
	"assigned": "(SELECT a.username FROM accounts a WHERE a.guid = t.account)",
	// A webhook's deliveries waiting (migration 037).
	"queued": "(SELECT count(*) FROM webhook_outbox o WHERE o.webhook = t.guid AND o.state = 'queued')",
}

func newTable(r *resource.Resource, name, parentCol string) *table {
	t := &table{name: name, parentCol: parentCol}
	parentExpr := "NULL"
	if parentCol != "" {
		parentExpr = "t." + parentCol
	}
	sel := []string{"t.id", "t.guid", parentExpr}
	if name == "accounts" {
		sel = append(sel, "t.path")
	} else {
		sel = append(sel, "''")
	}
	if name == "callrules" {
		t.flagged = true
		sel = append(sel, "t.provider_set")
	}
	for i := range r.Fields {
		f := &r.Fields[i]
		switch {
		case f.Name == "guid" || f.WriteOnly && name == "accounts":
			continue // account passwords are stored only as hashes, by the account code
		case f.Name == "parent" && name == "accounts":
			continue // the parent column itself, read as Record.Parent
		}
		c := column{field: f, col: `"` + strings.ReplaceAll(f.Name, "-", "_") + `"`}
		switch e, ok := computed[f.Name]; {
		case ok:
			c.expr, c.col = e, ""
		case !f.WriteOnly:
			c.expr = "t." + c.col
		}
		if f.Name == r.Key {
			t.key = c.col
		}
		if f.Name == r.Filter {
			t.filter = c.expr
		}
		t.cols = append(t.cols, c)
		if c.expr != "" {
			sel = append(sel, c.expr)
			t.read = append(t.read, c)
		}
	}
	t.selectSQL = "SELECT " + strings.Join(sel, ", ") + " FROM " + name + " t"
	return t
}

var (
	accountsTable  = newTable(resource.Account, "accounts", "parent")
	resourcesTable = newTable(resource.AccountResource, "account_resources", "account")
	numbersTable   = newTable(resource.Number, "numbers", "account")
	tables         = map[*resource.Resource]*table{
		resource.Account:         accountsTable,
		resource.Child:           accountsTable,
		resource.AccountResource: resourcesTable,
		resource.Number:          numbersTable,
		resource.NumberAllocate:  numbersTable,
		resource.Route:           newTable(resource.Route, "routes", "account"),
		resource.CallRule:        newTable(resource.CallRule, "callrules", "account"),
		resource.Fork:            newTable(resource.Fork, "forks", "account"),
		resource.Prompt:          newTable(resource.Prompt, "prompts", "account"),
		resource.Registration:    newTable(resource.Registration, "registrations", "account"),
		resource.CDR:             newTable(resource.CDR, "cdrs", "account"),
		resource.Trunk:           newTable(resource.Trunk, "trunks", ""),
		resource.Webhook:         newTable(resource.Webhook, "webhooks", "account"),
		resource.Location:        newTable(resource.Location, "locations", ""),
		resource.TimeDefinition:  newTable(resource.TimeDefinition, "timedefinitions", ""),
	}
)

// column is the quoted column of the field called name, "" if none.
func (t *table) column(name string) string {
	for _, c := range t.cols {
		if c.field.Name == name {
			return c.col
		}
	}
	return ""
}

// tableOf returns the table behind a resource.
func tableOf(r *resource.Resource) (*table, error) {
	if t := tables[r]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("resource %s is not stored", r)
}

// scan reads one row of t.selectSQL into a record.
func (t *table) scan(row interface{ Scan(...any) error }) (resource.Record, error) {
	var (
		rec    resource.Record
		parent sql.NullString
	)
	fixed := 4
	var flag int64
	if t.flagged {
		fixed = 5
	}
	dest := make([]any, fixed+len(t.read))
	dest[0], dest[1], dest[2], dest[3] = &rec.Seq, &rec.GUID, &parent, &rec.Path
	if t.flagged {
		dest[4] = &flag
	}
	vals := make([]any, len(t.read))
	for i, c := range t.read {
		switch c.field.Type {
		case resource.String:
			vals[i] = new(sql.NullString)
		default:
			vals[i] = new(int64)
		}
		dest[fixed+i] = vals[i]
	}
	if err := row.Scan(dest...); err != nil {
		return rec, err
	}
	rec.Parent, rec.ProviderSet = parent.String, flag != 0
	rec.Values = make(map[string]any, len(t.read)+2)
	rec.Values["guid"] = rec.GUID
	if t.name == "accounts" {
		rec.Values["parent"] = rec.Parent
	}
	for i, c := range t.read {
		switch c.field.Type {
		case resource.String:
			rec.Values[c.field.Name] = vals[i].(*sql.NullString).String
		case resource.Integer:
			rec.Values[c.field.Name] = *vals[i].(*int64)
		case resource.Boolean:
			rec.Values[c.field.Name] = *vals[i].(*int64) != 0
		}
	}
	return rec, nil
}

// dbValue converts a field value for SQL (booleans as 0/1).
func dbValue(v any) any {
	if b, ok := v.(bool); ok {
		if b {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// getRow reads one record of t by a WHERE clause.
// A name no record can hold (NUL, invalid UTF-8) is not found, unasked.
func (t *table) getRow(ctx context.Context, q execer, where string, args ...any) (resource.Record, error) {
	if !storableArgs(args) {
		return resource.Record{}, notFound("%s not found", strings.TrimSuffix(t.name, "s"))
	}
	rec, err := t.scan(q.QueryRowContext(ctx, t.selectSQL+" WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return rec, notFound("%s not found", strings.TrimSuffix(t.name, "s"))
	}
	return rec, err
}

// insert writes a new row with the given column values.
func (t *table) insert(ctx context.Context, q execer, guid, parent string, extra map[string]any, vals map[string]any) error {
	_, err := t.insertID(ctx, q, guid, parent, extra, vals)
	return err
}

// insertID inserts and returns the new row's id (its creation sequence).
// Columns come in a fixed order, so that the statement text, and with it
// the writer's prepared statement, is the same every time.
func (t *table) insertID(ctx context.Context, q execer, guid, parent string, extra map[string]any, vals map[string]any) (int64, error) {
	query, args := t.insertSQL(guid, parent, extra, vals)
	var id int64
	err := q.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, mapError(err)
}

// insertNew is insertID that writes nothing, and reports false, when the
// row would break a unique index. On PostgreSQL it waits for a concurrent
// transaction that wrote the conflicting row, so that once it reports
// false, that row is there to be read (or was rolled back).
func (t *table) insertNew(ctx context.Context, q execer, guid, parent string, extra map[string]any, vals map[string]any) (int64, bool, error) {
	query, args := t.insertSQL(guid, parent, extra, vals)
	var id int64
	err := q.QueryRowContext(ctx, query+" ON CONFLICT DO NOTHING RETURNING id", args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		changedNothing(q)
		return 0, false, nil
	}
	return id, err == nil, mapError(err)
}

// insertSQL builds the INSERT of a new row and its arguments.
func (t *table) insertSQL(guid, parent string, extra map[string]any, vals map[string]any) (string, []any) {
	cols := []string{"guid"}
	args := []any{guid}
	if t.parentCol != "" {
		cols, args = append(cols, t.parentCol), append(args, nullable(parent))
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		cols = append(cols, k)
		args = append(args, extra[k])
	}
	for _, c := range t.cols {
		if c.col == "" {
			continue
		}
		if _, set := extra[strings.Trim(c.col, `"`)]; set {
			continue // the caller's own value (a prompt's group_access) wins over the field's default
		}
		if v, ok := vals[c.field.Name]; ok {
			cols = append(cols, c.col)
			args = append(args, dbValue(v))
		}
	}
	return "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") VALUES (?" +
		strings.Repeat(", ?", len(cols)-1) + ")", args
}

// update writes the fields of in that are plain columns.
func (t *table) update(ctx context.Context, q execer, guid string, extra map[string]any, in map[string]any) error {
	var sets []string
	var args []any
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		sets = append(sets, k+" = ?")
		args = append(args, extra[k])
	}
	for _, c := range t.cols {
		if c.col == "" {
			continue
		}
		if v, ok := in[c.field.Name]; ok {
			sets = append(sets, c.col+" = ?")
			args = append(args, dbValue(v))
		}
	}
	if len(sets) == 0 {
		return nil
	}
	args = append(args, guid)
	_, err := q.ExecContext(ctx, "UPDATE "+t.name+" SET "+strings.Join(sets, ", ")+" WHERE guid = ?", args...)
	return mapError(err)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// mapError turns constraint violations into conflicts by their SQLite
// result codes; everything else stays internal.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if e := pgError(err); e != err {
		return e
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return conflict("a record with the same unique value already exists")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return conflict("the record is still referenced, or refers to a record that does not exist")
		}
	}
	return err
}

// statements caches prepared read statements by their text.
type statements struct {
	db     *sql.DB
	forget idleForgetter
	mu     sync.RWMutex
	m      map[string]*sql.Stmt
}

func prepare(db *sql.DB) (*statements, error) {
	return &statements{db: db, m: map[string]*sql.Stmt{}}, nil
}

func (s *statements) get(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.RLock()
	st := s.m[query]
	s.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st = s.m[query]; st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.m[query] = st
	return st, nil
}

// readQuerier runs reads through cached prepared statements on the read
// pool; it satisfies execer for the read-only paths.
type readQuerier struct{ s *statements }

func (r readQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return nil, fmt.Errorf("write on the read pool")
}

func (r readQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := r.s.get(ctx, query)
	if err != nil {
		return nil, storeErr(err)
	}
	rows, err := st.QueryContext(ctx, args...)
	for try := 0; sessionLost(err) && try < readRetries; try++ {
		if try == 0 {
			r.s.forget.start(r.s.db)
		}
		rows, err = st.QueryContext(ctx, args...)
	}
	// Every reader's query error reads as the store's (EUNAVAILABLE when
	// the database is out of reach); Scan errors of a row are mapped by
	// the readers themselves.
	return rows, storeErr(err)
}

func (r readQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := r.s.get(ctx, query)
	if err != nil {
		return r.s.db.QueryRowContext(ctx, query, args...) // reports the same error through Scan
	}
	row := st.QueryRowContext(ctx, args...)
	for try := 0; sessionLost(row.Err()) && try < readRetries; try++ {
		if try == 0 {
			r.s.forget.start(r.s.db)
		}
		row = st.QueryRowContext(ctx, args...)
	}
	return row
}

// readRetries is how many times a read runs again on another connection
// when its connection turns out to have lost its session (a read is safe
// to run again): up to every connection of the pool, since each idle one
// may have lost its session too (and fails at once) before forgetIdle has
// emptied the pool. A database that refuses new connections stops the
// retries at once (see sessionLost).
const readRetries = pgMaxConns
