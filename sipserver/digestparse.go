package sipserver

import (
	"errors"
	"strconv"
	"strings"

	"github.com/icholy/digest"
)

// errCredentials is a malformed digest Authorization header.
var errCredentials = errors.New("digest: malformed credentials")

// parseCredentials reads the value of a Digest Authorization (or
// Proxy-Authorization) header. Every registration parses one, so it works
// on the string in place: the values are substrings of v (a quoted value
// is copied only when it holds a backslash escape), where
// digest.ParseCredentials reads through a 4 KiB bufio.Reader and builds
// each value rune by rune (a quarter of the bytes a registration
// allocated). It accepts what digest.ParseCredentials accepts, and also
// tabs around the separators, parameter names in any case and the token
// characters of RFC 7230 in unquoted values (RFC 7616 §3.4).
func parseCredentials(v string) (*digest.Credentials, error) {
	if !digest.IsDigest(v) {
		return nil, errCredentials
	}
	p := credParser{s: v[len(digest.Prefix):]}
	var c digest.Credentials
	for first := true; ; first = false {
		p.skipSpace()
		if p.i == len(p.s) {
			return &c, nil
		}
		if !first {
			if p.s[p.i] != ',' {
				return nil, errCredentials
			}
			p.i++
			p.skipSpace()
		}
		key := p.token()
		p.skipSpace()
		if key == "" || p.i == len(p.s) || p.s[p.i] != '=' {
			return nil, errCredentials
		}
		p.i++
		p.skipSpace()
		val, ok := p.value()
		if !ok {
			return nil, errCredentials
		}
		if err := setCredential(&c, key, val); err != nil {
			return nil, err
		}
	}
}

// setCredential sets the field of c that key names; unknown keys are
// ignored, as RFC 7616 asks.
func setCredential(c *digest.Credentials, key, val string) error {
	switch strings.ToLower(key) {
	case "username":
		c.Username = val
	case "realm":
		c.Realm = val
	case "nonce":
		c.Nonce = val
	case "uri":
		c.URI = val
	case "response":
		c.Response = val
	case "algorithm":
		c.Algorithm = val
	case "cnonce":
		c.Cnonce = val
	case "opaque":
		c.Opaque = val
	case "qop":
		c.QOP = val
	case "nc":
		nc, err := strconv.ParseInt(val, 16, 32)
		if err != nil {
			return errCredentials
		}
		c.Nc = int(nc)
	case "userhash":
		c.Userhash = strings.EqualFold(val, "true")
	}
	return nil
}

// credParser walks a header value.
type credParser struct {
	s string
	i int
}

func (p *credParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// token reads a run of RFC 7230 token characters.
func (p *credParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a quoted string (unescaped) or a token.
func (p *credParser) value() (string, bool) {
	if p.i == len(p.s) || p.s[p.i] != '"' {
		return p.token(), true
	}
	p.i++
	start, escaped := p.i, false
	for ; p.i < len(p.s); p.i++ {
		switch p.s[p.i] {
		case '\\':
			escaped = true
			p.i++
		case '"':
			v := p.s[start:p.i]
			p.i++
			if escaped {
				v = unescapeQuoted(v)
			}
			return v, true
		}
	}
	return "", false // no closing quote
}

// unescapeQuoted removes the backslashes of quoted-pairs.
func unescapeQuoted(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// isTokenChar reports an RFC 7230 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
