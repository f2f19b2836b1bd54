package sqlstore

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"xc5/resource"
)

// ExportFormat and ExportVersion identify xc5 dumps; Import refuses others.
const (
	ExportFormat  = "xc5-export"
	ExportVersion = 1
)

// exportTables lists what a dump holds, in an order that satisfies the
// foreign keys on import (accounts are further sorted parents first).
// Sessions are left out: they are short-lived and bound to the old keys.
var exportTables = []string{"settings", "accounts", "account_resources", "numbers", "routes", "callrules", "forks",
	"prompts", "locations", "timedefinitions", "trunks", "registrations", "cdrs", "voicemails", "mailbox_greetings", "mail_outbox",
	"webhooks", "webhook_outbox", "audit"}

// Export writes the whole provisioning as one versioned JSON document:
// every row of every table, hashes and audio included, so that an
// installation can move between SQLite and PostgreSQL without loss.
func (s *Store) Export(ctx context.Context, out io.Writer) error {
	w := bufio.NewWriter(out)
	fmt.Fprintf(w, "{\"format\":%q,\"version\":%d,\"exported_at\":%q,\"tables\":{", ExportFormat, ExportVersion, time.Now().UTC().Format(time.RFC3339))
	for i, table := range exportTables {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, "%q:[", table)
		order := "id"
		if table == "settings" {
			order = "name"
		} else if table == "accounts" {
			order = "length(path), id"
		}
		rows, err := s.read.QueryContext(ctx, "SELECT * FROM "+table+" ORDER BY "+order)
		if err != nil {
			return fmt.Errorf("export %s: %w", table, err)
		}
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for j := range vals {
				ptrs[j] = &vals[j]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			row := make(map[string]any, len(cols))
			for j, c := range cols {
				switch v := vals[j].(type) {
				case []byte:
					row[c] = map[string]string{"base64": base64.StdEncoding.EncodeToString(v)}
				case int32:
					row[c] = int64(v)
				default:
					row[c] = v
				}
			}
			b, err := json.Marshal(row)
			if err != nil {
				rows.Close()
				return err
			}
			if n > 0 {
				w.WriteByte(',')
			}
			w.Write(b)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		w.WriteByte(']')
	}
	w.WriteString("}}\n")
	return w.Flush()
}

// Import loads a dump made by Export into an empty database (migrated,
// never started), in one transaction: it all arrives or nothing does.
func (s *Store) Import(ctx context.Context, in io.Reader) error {
	var doc struct {
		Format  string                      `json:"format"`
		Version int                         `json:"version"`
		Raw     map[string][]map[string]any `json:"tables"`
	}
	dec := json.NewDecoder(in)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return invalid("not an xc5 export: %v", err)
	}
	if doc.Format != ExportFormat || doc.Version != ExportVersion {
		return invalid("not an xc5 export of version %d (format %q, version %d)", ExportVersion, doc.Format, doc.Version)
	}
	var n int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM accounts").Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return invalid("import needs an empty database; this one has %d accounts", n)
	}
	err := s.w.doBulk(ctx, func(ctx context.Context, q execer) error {
		for _, table := range exportTables {
			for _, row := range doc.Raw[table] {
				cols := make([]string, 0, len(row))
				for c := range row {
					cols = append(cols, c)
				}
				sort.Strings(cols)
				args := make([]any, len(cols))
				quoted := make([]string, len(cols))
				for i, c := range cols {
					quoted[i] = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
					v, err := importValue(row[c])
					if err != nil {
						return invalid("%s.%s: %v", table, c, err)
					}
					args[i] = v
				}
				if _, err := q.ExecContext(ctx, "INSERT INTO "+table+" ("+strings.Join(quoted, ", ")+") VALUES (?"+
					strings.Repeat(", ?", len(cols)-1)+")", args...); err != nil {
					return fmt.Errorf("import %s: %w", table, mapError(err))
				}
			}
			if s.d == postgresDialect && table != "settings" {
				if _, err := q.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+table+"', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM "+table+"), 1))"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		s.emit(resource.Change{}, 0) // everything changed
	}
	return err
}

// importValue turns a dumped JSON value back into a column value.
func importValue(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Int64()
	case map[string]any:
		b64, ok := x["base64"].(string)
		if !ok {
			return nil, fmt.Errorf("unexpected object")
		}
		return base64.StdEncoding.DecodeString(b64)
	}
	return v, nil
}
