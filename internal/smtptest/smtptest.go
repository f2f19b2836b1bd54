// Package smtptest is a real SMTP server on loopback (github.com/emersion
// /go-smtp) that keeps every message it takes, for the tests of the mail
// sender and of xc5 serve's voicemail mail: STARTTLS or implicit TLS,
// AUTH PLAIN, and answers chosen by the test for each RCPT.
package smtptest

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message as the server got it.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // arrived over TLS (STARTTLS or implicit)
	User string // the AUTH PLAIN user, if any
}

// Server is the test's mail server.
type Server struct {
	Addr string
	srv  *smtp.Server

	mu   sync.Mutex
	msgs []Message
	rcpt int // RCPT commands seen
	// Reject, when set, answers the nth RCPT (from 1) for to. Set it
	// before mail is sent.
	Reject func(n int, to string) error
	// User and Pass, when set, are required by AUTH PLAIN. Set them
	// before mail is sent.
	User, Pass string
}

// Start serves on addr ("127.0.0.1:0" for any port) until the test ends
// or Close. tlsConf offers STARTTLS; implicit serves TLS at once.
func Start(t testing.TB, addr string, tlsConf *tls.Config, implicit bool) *Server {
	t.Helper()
	s := &Server{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &session{s: s, tls: isTLS, c: c}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.AllowInsecureAuth = true
	s.srv.TLSConfig = tlsConf
	var ln net.Listener
	var err error
	for try := 0; try < 100; try++ { // a port just freed may linger
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		ln = tls.NewListener(ln, tlsConf)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and closes its connections.
func (s *Server) Close() { s.srv.Close() }

// Messages returns what arrived so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitMessages waits up to within for n messages, then a further settle
// period in which no more may arrive (a duplicate would show there).
func (s *Server) WaitMessages(t testing.TB, n int, within, settle time.Duration) []Message {
	t.Helper()
	for deadline := time.Now().Add(within); len(s.Messages()) < n && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(settle)
	got := s.Messages()
	if len(got) != n {
		t.Fatalf("SMTP server received %d messages, want %d", len(got), n)
	}
	return got
}

type session struct {
	s    *Server
	c    *smtp.Conn
	tls  bool
	user string
	cur  Message
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != x.s.User || password != x.s.Pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		x.user = username
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.User != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := x.c.TLSConnectionState()
	x.cur = Message{From: from, TLS: x.tls || isTLS, User: x.user}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	x.s.rcpt++
	n, reject := x.s.rcpt, x.s.Reject
	x.s.mu.Unlock()
	if reject != nil {
		if err := reject(n, to); err != nil {
			return err
		}
	}
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.cur.Data = b
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, x.cur)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset()        { x.cur = Message{} }
func (x *session) Logout() error { return nil }
