package api

import (
	"strings"
	"unicode/utf8"
)

// parseQuery splits a raw query string into parameters, decoding
// percent-escapes only where they make valid UTF-8. The document's own
// query strings are not valid percent-encoding ("?filter=%88" means "ends
// in 88", "?filter=<CallR%" means "starts with <CallR"), so a strict
// decoder would reject or garble them; here "%88" and a lone "%" stay as
// written. "+" is kept literally: nothing in this API needs a space in a
// query, and a "+" is more likely meant as itself.
func parseQuery(raw string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out[lenientUnescape(k)] = lenientUnescape(v)
	}
	return out
}

// lenientUnescape decodes each run of consecutive %XX escapes when the
// bytes of that run are valid UTF-8, and keeps the run's text otherwise.
func lenientUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '%' {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		var run []byte
		for j+2 < len(s) && s[j] == '%' && isHex(s[j+1]) && isHex(s[j+2]) {
			run = append(run, unhex(s[j+1])<<4|unhex(s[j+2]))
			j += 3
		}
		switch {
		case j == i: // a "%" that starts no escape
			b.WriteByte('%')
			i++
		case utf8.Valid(run):
			b.Write(run)
			i = j
		default:
			b.WriteString(s[i:j])
			i = j
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
