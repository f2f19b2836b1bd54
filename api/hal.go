package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"unicode/utf8"

	"xc5"
	"xc5/resource"
)

// ContentType is the media type of every api-sys response.
const ContentType = "application/hal+json"

// links returns the self and parent hrefs of a record, built from GUIDs
// whichever way the request named it.
func links(r *resource.Resource, rec resource.Record) (self, parent string) {
	if r.Canonical != nil {
		r = r.Canonical
	}
	if r.Parent == nil {
		self = Base + r.Name + "/" + rec.GUID
		if r.Tree && rec.Parent != "" { // an account links its parent account
			parent = Base + "account/" + rec.Parent
		}
		return self, parent
	}
	parent = Base + r.Parent.Name + "/" + rec.Parent
	return parent + "/" + r.Name + "/" + rec.GUID, parent
}

// appendRecord writes one record as a JSON object with its fields in
// declaration order and its HAL links. lean keeps only the Lean fields of
// resources that have them (account listings).
func appendRecord(b []byte, r *resource.Resource, rec resource.Record, lean bool) []byte {
	b = append(b, '{')
	first := true
	for i := range r.Fields {
		f := &r.Fields[i]
		if lean && !f.Lean {
			continue
		}
		v, ok := rec.Values[f.Name]
		if !ok {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendValue(b, v)
	}
	self, parent := links(r, rec)
	if !first {
		b = append(b, ',')
	}
	b = append(b, `"_links":{"self":{"href":`...)
	b = appendString(b, self)
	b = append(b, '}')
	if parent != "" {
		b = append(b, `,"parent":{"href":`...)
		b = appendString(b, parent)
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	}
	j, _ := json.Marshal(v)
	return append(b, j...)
}

// appendString appends s as a JSON string, escaping what JSON requires
// (and U+2028, U+2029), but not <, > and &: the document writes
// "<CallRule-International>", and API clients are no HTML pages.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// statusOf is the one place that maps domain error codes to HTTP.
func statusOf(code string) int {
	switch code {
	case xc5.EINVALID:
		return http.StatusBadRequest
	case xc5.ENOTFOUND:
		return http.StatusNotFound
	case xc5.ECONFLICT:
		return http.StatusConflict
	case xc5.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case xc5.EFORBIDDEN:
		return http.StatusForbidden
	case xc5.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case xc5.ERATELIMIT:
		return http.StatusTooManyRequests
	case xc5.ENOTALLOWED:
		return http.StatusMethodNotAllowed
	case xc5.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case xc5.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// storeRetryAfter is the Retry-After of a 503 for a store that cannot
// serve (docs/api.md, "Storage and durability"): long enough for a
// restarting database or a failover, short enough that a provisioning
// client's retry lands soon after the store is back.
const storeRetryAfter = "5"

// writeError answers [{"error": "…"}] with the status of err's code;
// internal errors are logged and their details kept from the client.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := xc5.ErrorCode(err)
	status := statusOf(code)
	switch status {
	case http.StatusInternalServerError:
		slog.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		// The store logs the outage itself, once; the request log has
		// each 503.
		w.Header().Set("Retry-After", storeRetryAfter)
	}
	b := append([]byte(`[{"error":`), appendString(nil, xc5.ErrorMessage(err))...)
	b = append(b, "}]\n"...)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeJSON answers a body that is already a JSON array.
func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
