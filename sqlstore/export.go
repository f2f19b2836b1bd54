package sqlstore

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"
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
