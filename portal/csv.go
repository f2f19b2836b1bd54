package portal

import (
	"bufio"
	"io"
	"net/url"
	"strings"

	"xc5"
)

// csvWriter writes RFC 4180 CSV: fields with a comma, quote or line
// break are quoted, quotes doubled; lines end in CRLF. A field that a
// spreadsheet would read as a formula is written with a leading ' so that
// opening the download runs nothing (CSV injection; the rule is
// xc5.CSVCell's, shared with the API's CSV).
type csvWriter struct {
	w   *bufio.Writer
	err error
}

func newCSVWriter(w io.Writer) *csvWriter { return &csvWriter{w: bufio.NewWriter(w)} }

func (c *csvWriter) row(fields []string) {
	if c.err != nil {
		return
	}
	for i, f := range fields {
		if i > 0 {
			c.w.WriteByte(',')
		}
		f = xc5.CSVCell(f)
		if strings.ContainsAny(f, ",\"\r\n") {
			c.w.WriteByte('"')
			c.w.WriteString(strings.ReplaceAll(f, `"`, `""`))
			c.w.WriteByte('"')
		} else {
			c.w.WriteString(f)
		}
	}
	_, c.err = c.w.WriteString("\r\n")
}

func (c *csvWriter) flush() {
	if c.err == nil {
		c.err = c.w.Flush()
	}
}

func urlq(s string) string { return url.QueryEscape(s) }
