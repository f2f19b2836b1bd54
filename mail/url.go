package mail

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Server is where mail goes, as ParseURL read it.
type Server struct {
	Host string
	Port int
	// TLS is implicit TLS (smtps://); plain smtp:// upgrades with
	// STARTTLS when the server offers it.
	TLS                bool
	Username, Password string
}

// String writes the server back as a URL without its password, for logs.
func (s Server) String() string {
	scheme := "smtp"
	if s.TLS {
		scheme = "smtps"
	}
	user := ""
	if s.Username != "" {
		user = url.User(s.Username).String() + "@"
	}
	return scheme + "://" + user + net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// ParseURL reads smtp://[USER:PASS@]HOST[:PORT] (STARTTLS when offered,
// port 25 by default) or smtps://… (implicit TLS, port 465 by default).
// User and password are URL-encoded (%40 for an @ in a username).
func ParseURL(raw string) (Server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// The parser's error quotes the whole URL, password and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Server{}, fmt.Errorf("SMTP URL: %v; want smtp://[user:password@]host:port or smtps://…", err)
	}
	var s Server
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		s.Port = 25
	case "smtps":
		s.TLS, s.Port = true, 465
	default:
		return Server{}, fmt.Errorf("SMTP URL %q: scheme must be smtp:// (STARTTLS when offered) or smtps:// (implicit TLS)", redact(u))
	}
	if u.Opaque != "" || u.Host == "" {
		return Server{}, fmt.Errorf("SMTP URL %q: no host; want %s://host:port", redact(u), u.Scheme)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Server{}, fmt.Errorf("SMTP URL %q: only [user:password@]host:port may follow %s://", redact(u), u.Scheme)
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return Server{}, fmt.Errorf("SMTP URL %q: no host", redact(u))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Server{}, fmt.Errorf("SMTP URL %q: port %q is not 1 to 65535", redact(u), p)
		}
		s.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return Server{}, fmt.Errorf("SMTP URL %q: empty port", redact(u))
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
		if s.Username == "" {
			return Server{}, fmt.Errorf("SMTP URL %q: a password without a user", redact(u))
		}
	}
	return s, nil
}

// redact hides a URL's password in an error message.
func redact(u *url.URL) string { return u.Redacted() }
