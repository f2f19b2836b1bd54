package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// parseAPIArgs takes METHOD PATH [BODY] from the arguments, also in the
// document's pasted form: exec API 'PUT /api-sys/account/', '{"username":"x"}'.
func parseAPIArgs(args []string) (method, target, body string, err error) {
	if len(args) >= 2 && strings.EqualFold(cleanArg(args[0]), "exec") && strings.EqualFold(cleanArg(args[1]), "API") {
		args = args[2:]
	}
	var clean []string
	for _, a := range args {
		if c := cleanArg(a); c != "" { // "" is a stray "," between pasted arguments
			clean = append(clean, c)
		}
	}
	if len(clean) == 0 {
		return "", "", "", errors.New("missing METHOD PATH")
	}
	// "METHOD PATH" in one argument, possibly with the body after it.
	if first := clean[0]; strings.ContainsAny(first, " \t\r\n") {
		i := strings.IndexAny(first, " \t\r\n")
		m, rest := first[:i], strings.TrimSpace(first[i:])
		end := pathEnd(rest)
		parts := []string{m, cleanArg(rest[:end])}
		if tail := cleanArg(rest[end:]); tail != "" {
			parts = append(parts, tail)
		}
		clean = append(parts, clean[1:]...)
	}
	// A bare path means GET.
	if strings.HasPrefix(clean[0], "/") || hasScheme(clean[0]) {
		clean = append([]string{"GET"}, clean...)
	}
	method = strings.ToUpper(clean[0])
	if !apiMethods[method] {
		return "", "", "", fmt.Errorf("unknown method %q: want GET, PUT, PATCH, DELETE or OPTIONS", clean[0])
	}
	switch len(clean) {
	case 1:
		return "", "", "", fmt.Errorf("%s needs a PATH, e.g. /api-sys/account", method)
	case 2:
		return method, clean[1], "", nil
	case 3:
		return method, clean[1], clean[2], nil
	}
	return "", "", "", fmt.Errorf("too many arguments: %q (quote the JSON body as one argument)", clean[3:])
}

// pathEnd finds where the path ends in "PATH', '{…}'" or, after the shell
// took the quotes, in "PATH,{…}": at white space, a quote, or a comma
// before a JSON object (a comma in a query string stays).
func pathEnd(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n', '\'', '"':
			return i
		case ',':
			if strings.HasPrefix(strings.TrimLeft(s[i+1:], " \t\r\n'\""), "{") {
				return i
			}
		}
	}
	return len(s)
}

// cleanArg strips what pasting the document's examples leaves around an
// argument: surrounding white space, quotes and separating commas.
func cleanArg(s string) string {
	for {
		t := strings.TrimSpace(s)
		t = strings.Trim(t, ",")
		// Neither a path nor a JSON object starts or ends with a quote (the
		// API takes no JSON string as a body).
		t = strings.Trim(t, "'")
		if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
			t = t[1 : len(t)-1]
		}
		if t == s {
			return t
		}
		s = t
	}
}

// hasScheme reports whether s is a full http(s):// URL rather than a path.
func hasScheme(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// splitAbsolute splits a full URL given as PATH into scheme, host, the
// path and query as typed, and the credentials in it.
func splitAbsolute(s string) (scheme, host, rest string, user *url.Userinfo, ok bool) {
	if !hasScheme(s) {
		return "", "", "", nil, false
	}
	i := strings.Index(s, "://")
	scheme = strings.ToLower(s[:i])
	auth := s[i+3:]
	end := strings.IndexAny(auth, "/?")
	if end < 0 {
		end = len(auth)
	}
	auth, rest = auth[:end], auth[end:]
	u, err := url.Parse(scheme + "://" + auth)
	if err != nil || u.Host == "" {
		return "", "", "", nil, false
	}
	if rest == "" || rest[0] == '?' {
		rest = "/" + rest
	}
	return scheme, u.Host, rest, u.User, true
}

// buildURL makes the request URL with the path and query sent as typed.
// Only bytes that cannot appear in a request line at all (spaces, control
// characters, non-ASCII, "#") are percent-encoded; "%88" and "<CallR%"
// go out unchanged.
func buildURL(scheme, host, prefix, target string) *url.URL {
	p, q, hasQuery := strings.Cut(target, "?")
	p = prefix + escapeLoose(p)
	u := &url.URL{Scheme: scheme, Host: host, RawQuery: escapeLoose(q), ForceQuery: hasQuery && q == ""}
	if dec, err := url.PathUnescape(p); err == nil {
		u.Path, u.RawPath = dec, p
		if u.EscapedPath() == p {
			return u
		}
	}
	// A path Go would re-encode ("<", a "%" that starts no escape): send it
	// verbatim as an opaque request target.
	u.Path, u.RawPath, u.Opaque = "", "", p
	return u
}

// escapeLoose percent-encodes only what no request line may carry.
func escapeLoose(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
