package sqlstore

// The rows of an import: the checks each row passes (the API's resource
// descriptions, and the cross-row keys) and the multi-row INSERTs that
// write them.

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"xc5"
	"xc5/resource"
)

// importBatch gathers rows of one table with one column set, written in
// one COPY on PostgreSQL (a round trip per thousands of rows instead of
// per row: the old import's 49 s for 100,000 accounts were mostly round
// trips), or rows of one prepared INSERT on SQLite.
type importBatch struct {
	table    string
	oneByOne bool // SQLite: see insertRows
	given    uint64
	cols     []string
	args     []any
	rows     int
}

// fits reports whether a row giving these columns may join the batch.
func (b *importBatch) fits(given uint64) bool { return b.rows == 0 || b.given == given }

// add appends the given columns' values of a row of table t.
func (b *importBatch) add(t *importTable, r *scannedRow) {
	if b.rows == 0 {
		if b.given != r.given || b.cols == nil {
			b.cols = b.cols[:0:0] // a batch taken before still holds the old slice
			for i, name := range t.names {
				if r.has(i) {
					b.cols = append(b.cols, name)
				}
			}
		}
		b.given = r.given
		b.args = make([]any, 0, importBatchValues+len(b.cols))
	}
	for g := r.given; g != 0; g &= g - 1 {
		b.args = append(b.args, r.vals[bits.TrailingZeros64(g)])
	}
	b.rows++
}

func (b *importBatch) full() bool { return len(b.args) >= importBatchValues }

// take empties the batch into a job that writes it; place names where
// the dump was when it was taken, for errors.
func (b *importBatch) take(place string) importJob {
	if b.rows == 0 {
		return func(context.Context, execer) error { return nil }
	}
	table, cols, args, rows, oneByOne := b.table, b.cols, b.args, b.rows, b.oneByOne
	b.args, b.rows = nil, 0
	return func(ctx context.Context, q execer) error {
		var err error
		if c := writerConn(q); c != nil && isPgx(c) {
			err = copyRows(ctx, c, table, cols, args, rows)
		} else {
			err = insertRows(ctx, q, table, cols, args, rows, oneByOne)
		}
		if err != nil {
			return fmt.Errorf("%s: import %s: %w", place, table, mapError(err))
		}
		return nil
	}
}

// insertRows writes rows with multi-row INSERTs of at most
// importBatchParams parameters each, or oneByOne with one prepared
// single-row INSERT: SQLite has no round trips to save, and reuses the
// prepared statement, where it parses each large INSERT anew (100,000
// accounts and 200,000 numbers: 15 s, against 27 s in large INSERTs).
func insertRows(ctx context.Context, q execer, table string, cols []string, args []any, rows int, oneByOne bool) error {
	if len(cols) == 0 {
		return fmt.Errorf("a row with no columns") // refused by the checks before
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
	}
	tuple := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	per := max(1, importBatchParams/len(cols))
	if oneByOne {
		per = 1
	}
	for first := 0; first < rows; first += per {
		n := min(per, rows-first)
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + table + " (" + strings.Join(quoted, ", ") + ") VALUES ")
		for i := 0; i < n; i++ {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(tuple)
		}
		if _, err := q.ExecContext(ctx, sb.String(), args[first*len(cols):(first+n)*len(cols)]...); err != nil {
			return err
		}
	}
	return nil
}

// isPgx reports whether the connection is PostgreSQL's (pgx).
func isPgx(c *sql.Conn) bool {
	ok := false
	c.Raw(func(dc any) error { _, ok = dc.(*stdlib.Conn); return nil })
	return ok
}

// copyRows writes rows with PostgreSQL's COPY, on the writer's connection
// and so inside the import's transaction.
func copyRows(ctx context.Context, c *sql.Conn, table string, cols []string, args []any, rows int) error {
	n := len(cols)
	return c.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(rows, func(i int) ([]any, error) {
			return args[i*n : (i+1)*n], nil
		}))
		return err
	})
}

// writerConn finds the connection under a writer's execer (the
// placeholder and statement-cache wrappers), or nil.
func writerConn(q execer) *sql.Conn {
	switch e := q.(type) {
	case *tracker:
		return writerConn(e.execer)
	case regWatch:
		return writerConn(e.execer)
	case boundExecer:
		return writerConn(e.e)
	case *stmtCache:
		return e.conn
	}
	return nil
}

// importResources names the resource description behind each table whose
// rows the API writes.
var importResources = map[string]*resource.Resource{
	"accounts": resource.Account, "account_resources": resource.AccountResource, "numbers": resource.Number,
	"routes": resource.Route, "callrules": resource.CallRule, "forks": resource.Fork, "prompts": resource.Prompt,
	"locations": resource.Location, "timedefinitions": resource.TimeDefinition, "trunks": resource.Trunk,
}

// rowCheck checks a table's rows field by field, as a PUT would, and
// then the record's cross-field rules (resource.CheckRecord). The
// positions of the columns it reads are found once, for the table.
type rowCheck struct {
	table     *importTable
	res       *resource.Resource
	fieldList []*resource.Field
	fieldCol  []int // the column of each of fieldList, or -1
	recCol    []int // the column of each of res.Fields, or -1
	guidCol   []bool
	keys      importKeyCols
}

func newRowCheck(t *importTable) *rowCheck {
	c := &rowCheck{table: t, res: importResources[t.name], keys: newImportKeyCols(t)}
	for _, name := range t.names {
		c.guidCol = append(c.guidCol, isGUIDColumn(t.name, name))
	}
	if c.res == nil {
		return c
	}
	for i := range c.res.Fields {
		f := &c.res.Fields[i]
		c.recCol = append(c.recCol, t.col(fieldColumn(f.Name)))
		if f.ReadOnly || f.WriteOnly || f.Name == "guid" || f.Name == "parent" {
			continue // produced by the server, or not stored as sent
		}
		c.fieldList = append(c.fieldList, f)
		c.fieldCol = append(c.fieldCol, t.col(fieldColumn(f.Name)))
	}
	return c
}

func fieldColumn(field string) string { return strings.ReplaceAll(field, "-", "_") }

// crossFieldRules are the resources whose records resource.CheckRecord
// checks beyond their fields.
var crossFieldRules = map[*resource.Resource]bool{resource.AccountResource: true, resource.Route: true,
	resource.CallRule: true, resource.Trunk: true}

// fields returns the problems of a row whose columns passed their
// checks.
func (c *rowCheck) fields(r *scannedRow) []string {
	var out []string
	for i, f := range c.fieldList {
		if c.fieldCol[i] < 0 || r.vals[c.fieldCol[i]] == nil {
			continue
		}
		v := r.vals[c.fieldCol[i]]
		switch x := v.(type) {
		case int64:
			if f.Type == resource.Boolean && x != 0 && x != 1 {
				out = append(out, fmt.Sprintf("field %q must be a boolean (0 or 1), not %d", f.Name, x))
				continue
			}
			if f.Type == resource.String {
				out = append(out, fmt.Sprintf("field %q must be a string", f.Name))
				continue
			}
		case bool:
			if f.Type != resource.Boolean {
				out = append(out, fmt.Sprintf("field %q must not be a boolean", f.Name))
			}
			continue
		case string:
			if f.Type != resource.String {
				out = append(out, fmt.Sprintf("field %q must be a %s, not a string", f.Name, f.Type))
				continue
			}
		case []byte:
			out = append(out, fmt.Sprintf("field %q must be a %s, not base64 data", f.Name, f.Type))
			continue
		}
		if f.Type == resource.Boolean || (f.Check == nil && len(f.Enum) == 0 && f.Max <= f.Min) {
			continue // the type, checked above, is all there is to check
		}
		if _, err := f.CheckValue(v); err != nil {
			out = append(out, err.Error())
		}
	}
	if len(out) == 0 && crossFieldRules[c.res] {
		if err := resource.CheckRecord(c.res, c.record(r), false); err != nil {
			out = append(out, xc5.ErrorMessage(err))
		}
	}
	return out
}

// record is the row as the resource's record: its defaults, overlaid
// with the row's values (booleans from their stored 0 and 1).
func (c *rowCheck) record(r *scannedRow) map[string]any {
	m := c.res.Defaults()
	for i, f := range c.res.Fields {
		if c.recCol[i] < 0 || r.vals[c.recCol[i]] == nil {
			continue
		}
		v := r.vals[c.recCol[i]]
		if n, isInt := v.(int64); isInt && f.Type == resource.Boolean {
			v = n != 0
		}
		m[f.Name] = v
	}
	return m
}

// accountKeyed are the tables whose account column is a foreign key
// (CDRs and mail outlive their accounts).
var accountKeyed = map[string]bool{"account_resources": true, "numbers": true, "routes": true, "callrules": true,
	"forks": true, "prompts": true, "registrations": true, "voicemails": true, "mailbox_greetings": true}

// isGUIDColumn reports whether a table's column holds GUIDs (which are
// stored in upper case, whatever case a dump spells them in).
func isGUIDColumn(table, col string) bool {
	return col == "guid" || (col == "parent" && table == "accounts") || (col == "account" && accountKeyed[table])
}

// accountRefs are the columns naming an account by username that
// checkRefs requires to exist (a route's or callrule's username; the
// store refuses to delete an account they name, so a dump the API wrote
// never has one dangling). Destinations are not checked: at system level
// the API routes anywhere, and an account's cfna_dest may name an
// account listed after it.
var accountRefs = map[string]string{"routes": "username", "callrules": "username"}

// importKeys are the cross-row checks: unique GUIDs per table, unique
// usernames and numbers, accounts referred to only once they exist (the
// dump lists parents first). The keys are the decoded values, GUIDs in
// upper case and usernames in lower case, so that two spellings of one
// key are one key.
type importKeys struct {
	guids     map[string]map[string]struct{}
	accounts  map[string]struct{}
	usernames map[string]struct{}
	numbers   map[string]struct{}
}

func newImportKeys() *importKeys {
	return &importKeys{guids: map[string]map[string]struct{}{}, accounts: map[string]struct{}{},
		usernames: map[string]struct{}{}, numbers: map[string]struct{}{}}
}

// importKeyCols are the positions of the columns importKeys reads in a
// table's rows (-1: none).
type importKeyCols struct{ guid, username, parent, number, account, ref int }

func newImportKeyCols(t *importTable) importKeyCols {
	ref := -1
	if col, ok := accountRefs[t.name]; ok {
		ref = t.col(col)
	}
	return importKeyCols{guid: t.col("guid"), username: t.col("username"), parent: t.col("parent"),
		number: t.col("number"), account: t.col("account"), ref: ref}
}

func (k *importKeys) check(table string, cols *importKeyCols, r *scannedRow) []string {
	var out []string
	if g := r.str(cols.guid); g != "" {
		set := k.guids[table]
		if set == nil {
			set = map[string]struct{}{}
			k.guids[table] = set
		}
		if !once(set, g) {
			out = append(out, fmt.Sprintf("guid %s appears twice in %s", g, table))
		}
	}
	switch table {
	case "accounts":
		if u := r.str(cols.username); !once(k.usernames, strings.ToLower(u)) {
			out = append(out, fmt.Sprintf("username %q appears twice", u))
		}
		if p := r.str(cols.parent); p != "" && !k.has(p) {
			out = append(out, fmt.Sprintf("parent %s is not an account listed before it", p))
		}
		k.accounts[r.str(cols.guid)] = struct{}{}
	case "numbers":
		if n := r.str(cols.number); !once(k.numbers, n) {
			out = append(out, fmt.Sprintf("number %s appears twice", n))
		}
	}
	if a := r.str(cols.account); accountKeyed[table] && a != "" && !k.has(a) {
		out = append(out, fmt.Sprintf("account %s is not an account of the dump", a))
	}
	if col, ok := accountRefs[table]; ok {
		if u := r.str(cols.ref); u != "" && !k.has(strings.ToUpper(u)) {
			if _, known := k.usernames[strings.ToLower(u)]; !known {
				out = append(out, fmt.Sprintf("%s: account %s does not exist", col, u))
			}
		}
	}
	return out
}

func (k *importKeys) has(guid string) bool {
	_, ok := k.accounts[guid]
	return ok
}

// once adds key to set, reporting false when it was there already.
func once(set map[string]struct{}, key string) bool {
	if _, dup := set[key]; dup {
		return false
	}
	set[key] = struct{}{}
	return true
}
