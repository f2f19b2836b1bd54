package sqlstore

// The import's row scanner: each dumped row is read token by token
// (jsontext) straight into a slice of column values in the table's
// column order, reused from row to row, instead of into a map a row
// (encoding/json's map decoding was a third of the import's CPU).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// scannedRow is one row as read: its values in the table's column order,
// which columns it gave, and what was wrong with it (unknown or repeated
// columns, values no column can hold).
type scannedRow struct {
	vals     []any
	given    uint64 // bit i: column i was given
	problems []string
}

func (r *scannedRow) reset(n int) {
	if cap(r.vals) < n {
		r.vals = make([]any, n)
	}
	r.vals = r.vals[:n]
	clear(r.vals)
	r.given = 0
	r.problems = r.problems[:0]
}

func (r *scannedRow) has(i int) bool { return i >= 0 && r.given&(1<<uint(i)) != 0 }

// str is column i's value when it is a string, else "".
func (r *scannedRow) str(i int) string {
	if i < 0 {
		return ""
	}
	s, _ := r.vals[i].(string)
	return s
}

func (r *scannedRow) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// scanRow reads the next row of table t into r. Its error is a dump that
// cannot be read further (malformed JSON, a row too large); anything
// else wrong with the row is in r.problems.
func (im *importer) scanRow(t *importTable, r *scannedRow) error {
	r.reset(len(t.names))
	if k := im.dec.PeekKind(); k != '{' {
		if err := im.dec.SkipValue(); err != nil {
			return err
		}
		r.problem("a row must be an object, not %s", kindName(k))
		return nil
	}
	if _, err := im.dec.ReadToken(); err != nil {
		return err
	}
	for im.dec.PeekKind() != '}' {
		name, err := im.dec.ReadValue()
		if err != nil {
			return err
		}
		i, known := t.index[string(im.unquoted(name))] // no copy: a map key
		if !known {
			r.problem("unknown column %q of %s", im.unquoted(name), t.name)
			if err := im.dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		raw, err := im.dec.ReadValue()
		if err != nil {
			return err
		}
		if r.has(i) {
			r.problem("column %s appears twice", t.names[i])
			continue
		}
		v, err := im.value(raw)
		if err != nil {
			r.problem("%s: %v", t.names[i], err)
			continue
		}
		r.vals[i] = v
		r.given |= 1 << uint(i)
	}
	_, err := im.dec.ReadToken()
	return err
}

// unquoted is a JSON string's text, without a copy when it has no
// escapes (valid only until the decoder's next read, like raw).
func (im *importer) unquoted(raw jsontext.Value) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	im.scratch, _ = jsontext.AppendUnquote(im.scratch[:0], raw) // the decoder checked it
	return im.scratch
}

// value turns a dumped JSON value into a column value: a string, an
// int64, nil, a bool, or the bytes of {"base64": "…"} (a blob).
func (im *importer) value(raw jsontext.Value) (any, error) {
	switch raw[0] {
	case '"':
		return string(im.unquoted(raw)), nil
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '{':
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		return importValue(m)
	case '[':
		return nil, fmt.Errorf("not a column value: an array")
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("not an integer: %.40s", raw)
	}
	return n, nil
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return k.String()
}

// errTooLarge stops the decoder at a row larger than bound allows;
// errStopped ends an import whose problem (already recorded) leaves
// nothing more to read.
var (
	errTooLarge = errors.New("too large")
	errStopped  = errors.New("stopped")
)

// importReadChunk bounds one read from the dump, and so how far the
// decoder reads ahead of what it decodes.
const importReadChunk = 64 << 10

// countingReader counts the bytes read, for the progress report, and
// refuses to read past limit (when set).
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.limit > 0 && c.n >= c.limit {
		return 0, errTooLarge
	}
	if len(p) > importReadChunk {
		p = p[:importReadChunk]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
