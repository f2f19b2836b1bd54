package sqlstore

// What an import knows of the database's tables: the columns each has,
// their kind, which must be given, and how large a row may be. A dump's
// row is checked against them before anything is written, so that a
// dry run finds what the real import would fail on.

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// importColumn is one column of a table.
type importColumn struct {
	kind     byte // 'i' integer (booleans too), 't' text, 'b' blob
	required bool // NOT NULL without a default (or a text primary key)
}

// importTable is one table's columns, sorted by name: a row is read
// into a slice in this order (scanRow).
type importTable struct {
	name     string
	names    []string
	index    map[string]int // name → position in names
	cols     []importColumn
	required []int
}

// maxImportColumns bounds a table's columns: scannedRow notes the
// columns a row gave in a uint64.
const maxImportColumns = 64

// col is the position of a column, or -1 when the table has none of
// that name.
func (t *importTable) col(name string) int {
	if i, ok := t.index[name]; ok {
		return i
	}
	return -1
}

// importSchema reads the columns of every exported table from the
// database itself (SQLite's table_info, PostgreSQL's
// information_schema), so that it follows the migrations.
func (s *Store) importSchema(ctx context.Context) (map[string]*importTable, error) {
	out := map[string]*importTable{}
	for _, name := range exportTables {
		var rows *sql.Rows
		var err error
		if s.d == postgresDialect {
			rows, err = s.read.QueryContext(ctx, `SELECT column_name, data_type,
				is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'
				FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, name)
		} else {
			rows, err = s.read.QueryContext(ctx, `SELECT name, type,
				("notnull" = 1 AND dflt_value IS NULL AND pk = 0) OR (pk > 0 AND upper(type) <> 'INTEGER')
				FROM pragma_table_info(?)`, name)
		}
		if err != nil {
			return nil, fmt.Errorf("import: the columns of %s: %w", name, err)
		}
		byName := map[string]importColumn{}
		for rows.Next() {
			var col, typ string
			var required bool
			if err := rows.Scan(&col, &typ, &required); err != nil {
				rows.Close()
				return nil, err
			}
			c := importColumn{kind: 't', required: required}
			switch typ = strings.ToUpper(typ); {
			case strings.Contains(typ, "INT"):
				c.kind = 'i'
			case strings.Contains(typ, "BLOB"), strings.Contains(typ, "BYTEA"):
				c.kind = 'b'
			}
			byName[col] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(byName) > maxImportColumns {
			return nil, fmt.Errorf("import: %s has %d columns, more than the import reads (%d)", name, len(byName), maxImportColumns)
		}
		out[name] = newImportTable(name, byName)
	}
	return out, nil
}

func newImportTable(name string, byName map[string]importColumn) *importTable {
	t := &importTable{name: name, names: slices.Sorted(maps.Keys(byName)), index: map[string]int{}}
	for i, col := range t.names {
		t.index[col] = i
		t.cols = append(t.cols, byName[col])
		if byName[col].required {
			t.required = append(t.required, i)
		}
	}
	return t
}

// check returns what is wrong with a value for the column, or "".
func (c importColumn) check(v any) string {
	switch v.(type) {
	case nil:
		if c.required {
			return "must not be null"
		}
	case int64:
		if c.kind != 'i' {
			return "must not be a number"
		}
	case string:
		if c.kind == 'i' {
			return "must be an integer, not a string"
		}
	case []byte:
		// SQLite may hold bytes in a text column (it types values, not
		// columns), and its export writes them as base64: not a number.
		if c.kind == 'i' {
			return "must be an integer, not base64 data"
		}
	case bool:
		if c.kind != 'i' {
			return "must not be a boolean"
		}
	}
	return ""
}

// Row sizes: a row is read whole before it is checked, so one row's size
// bounds the import's memory (a few times it: the decoder's buffer, the
// row's values). Rows of tables holding audio (base64 in the dump) may be
// large: a prompt upload is at most 20 MiB (api.MaxAudio, 27 MiB in
// base64); a voicemail of 45 minutes in 16-bit 8 kHz mono WAV is 43 MiB,
// 58 MiB in base64. Every other row is small (a CDR, an account: a few
// KiB), so 1 MiB is far beyond any the API writes.
const (
	maxImportRow      = 1 << 20
	maxImportAudioRow = 64 << 20
)

// audioTables hold recorded or uploaded audio.
var audioTables = map[string]bool{"prompts": true, "voicemails": true, "mailbox_greetings": true, "mail_outbox": true}

func maxRowOf(table string) int64 {
	if audioTables[table] {
		return maxImportAudioRow
	}
	return maxImportRow
}
