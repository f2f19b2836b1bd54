// Package mail sends the mails of the durable outbox (xc5.MailOutbox)
// through an SMTP server: it claims due mails for a lease, sends them
// with github.com/wneessen/go-mail, and marks each sent, or records the
// failure and when to try again (exponential back-off). Several nodes may
// run a sender over one database: a claim is a lease, so no mail is sent
// by two nodes, and a node that dies mid-send leaves its mails to the
// others when the lease ends.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"xc5"
	"xc5/internal/outbox"
)

// Config configures a Sender; zero durations and counts take the
// defaults in brackets.
type Config struct {
	// URL is the SMTP server (ParseURL); "" leaves mail queued.
	URL string
	// From is the sender address of every mail; needed with a URL.
	From string
	// Node names this node in its claims; two nodes must differ.
	Node   string
	Outbox xc5.MailOutbox
	Log    *slog.Logger
	// Poll is how often the outbox is looked at without a Kick, to find
	// other nodes' mail and retries that came due [5s].
	Poll time.Duration
	// Lease is how long a claimed mail is this node's [5m]; it must
	// outlast a batch's sending.
	Lease time.Duration
	// Batch is how many mails one claim takes [10].
	Batch int
	// Backoff is the wait after a first failure, doubled after each
	// further one up to MaxBackoff [30s, 1h].
	Backoff, MaxBackoff time.Duration
	// PermanentTries is how many permanent (5xx) answers a mail gets
	// before it is failed for good [3]: a misconfigured relay answers 5xx
	// for a while, too.
	PermanentTries int
	// GiveUp fails a mail for good once it is this old [72h], whatever
	// the answers.
	GiveUp time.Duration
	// Timeout bounds connecting and each SMTP command [30s].
	Timeout time.Duration
	// TLS is the TLS configuration (tests: a server's own certificate);
	// nil verifies the server's certificate for its host name.
	TLS *tls.Config
}

// Sender sends the outbox's mails; see the package comment.
type Sender struct {
	cfg    Config
	server *Server // nil without a URL
	kick   chan struct{}
	log    *slog.Logger

	mu sync.Mutex
	// unmarked holds mails that went out but could not be marked sent
	// (the database away): they are marked before anything is claimed.
	unmarked []string
	failing  bool // the outbox could not be read; logged once per episode
}

// NewSender checks cfg and returns a sender; Run starts it.
func NewSender(cfg Config) (*Sender, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("mail: no outbox")
	}
	if cfg.Node == "" {
		return nil, errors.New("mail: no node name")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Poll, 5*time.Second)
	def(&cfg.Lease, 5*time.Minute)
	def(&cfg.Backoff, 30*time.Second)
	def(&cfg.MaxBackoff, time.Hour)
	def(&cfg.GiveUp, 72*time.Hour)
	def(&cfg.Timeout, 30*time.Second)
	if cfg.Lease < 4*cfg.Timeout {
		return nil, fmt.Errorf("mail: the lease (%v) must be at least four times the SMTP timeout (%v)", cfg.Lease, cfg.Timeout)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 10
	}
	if cfg.PermanentTries <= 0 {
		cfg.PermanentTries = 3
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Sender{cfg: cfg, kick: make(chan struct{}, 1), log: cfg.Log}
	if cfg.URL == "" {
		return s, nil
	}
	srv, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.From == "" {
		return nil, errors.New("mail: a sender address (--mail-from) is needed to send mail")
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %v", cfg.From, err)
	}
	s.server = &srv
	return s, nil
}

// Kick wakes the sender to look at the outbox now (mail was queued); it
// never blocks.
func (s *Sender) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run sends mail until ctx ends. Without an SMTP server it only says,
// once, that mail stays queued.
func (s *Sender) Run(ctx context.Context) {
	if s.server == nil {
		s.log.Warn("mail: no SMTP server configured (--smtp); voicemail and recording mails stay queued in the outbox until one is")
		<-ctx.Done()
		return
	}
	s.log.Info("mail: sending through "+s.server.String(), "node", s.cfg.Node)
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		s.drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

// drain marks what went out unmarked, then claims and sends due mails
// until none is left.
func (s *Sender) drain(ctx context.Context) {
	if !s.markUnmarked(ctx) {
		return
	}
	for ctx.Err() == nil {
		mails, err := s.cfg.Outbox.ClaimMail(ctx, s.cfg.Node, s.cfg.Lease, s.cfg.Batch)
		s.noteOutbox(err)
		if err != nil || len(mails) == 0 {
			return
		}
		s.sendBatch(ctx, mails)
	}
}

// noteOutbox logs the outbox becoming unreadable and readable again, once
// each.
func (s *Sender) noteOutbox(err error) {
	switch {
	case err != nil && !s.failing && !errors.Is(err, context.Canceled):
		s.log.Error("mail: cannot claim mail from the outbox; trying again", "err", err)
		s.failing = true
	case err == nil && s.failing:
		s.log.Info("mail: the outbox is readable again")
		s.failing = false
	}
}

// markUnmarked marks sent the mails that went out while the outbox could
// not be written, and reports whether none is left.
func (s *Sender) markUnmarked(ctx context.Context) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := s.unmarked[:0]
	for _, g := range s.unmarked {
		if err := s.cfg.Outbox.MailSent(ctx, g, s.cfg.Node); err != nil && xc5.ErrorCode(err) != xc5.ENOTFOUND {
			left = append(left, g)
		}
	}
	s.unmarked = left
	return len(left) == 0
}

// sendBatch sends claimed mails over one SMTP connection and records
// each outcome.
func (s *Sender) sendBatch(ctx context.Context, mails []xc5.Mail) {
	// Past this the lease may end before a mail is through: the rest is
	// left to be claimed again rather than risk two nodes sending it.
	deadline := time.Now().Add(s.cfg.Lease - 2*s.cfg.Timeout)
	c, err := s.client()
	if err == nil {
		dctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		err = c.DialWithContext(dctx)
		cancel()
	}
	if err != nil {
		for _, m := range mails {
			s.failed(ctx, m, err)
		}
		return
	}
	defer c.Close()
	for _, m := range mails {
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.log.Warn("mail: the batch outlasted its lease; the rest is claimed again later", "left", len(mails))
			return
		}
		mails = mails[1:]
		msg, err := s.message(m)
		if err != nil {
			s.retry(ctx, m, err.Error(), true)
			continue
		}
		if err := c.Send(msg); err != nil {
			s.failed(ctx, m, err)
			continue
		}
		s.sent(ctx, m)
	}
}

// client configures a go-mail client for the server.
func (s *Sender) client() (*gomail.Client, error) {
	srv := s.server
	opts := []gomail.Option{gomail.WithPort(srv.Port), gomail.WithTimeout(s.cfg.Timeout)}
	if srv.TLS {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	tc := s.cfg.TLS
	if tc == nil {
		tc = &tls.Config{ServerName: srv.Host, MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, gomail.WithTLSConfig(tc))
	if srv.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(srv.Username), gomail.WithPassword(srv.Password))
	}
	return gomail.NewClient(srv.Host, opts...)
}

// message builds the MIME message of m. Its Message-ID is the mail's
// GUID, so that a mail sent twice (a node died between sending and
// marking it) is recognisable as one.
func (s *Sender) message(m xc5.Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, err
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.GUID + "@xc5")
	msg.SetDateWithValue(m.Created)
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	if len(m.Attachment) > 0 {
		name := m.AttachmentName
		if name == "" {
			name = "attachment.wav"
		}
		if err := msg.AttachReader(name, bytes.NewReader(m.Attachment), gomail.WithFileContentType("audio/wav")); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// sent marks m sent, or keeps it to be marked when the outbox is back.
func (s *Sender) sent(ctx context.Context, m xc5.Mail) {
	if err := s.cfg.Outbox.MailSent(ctx, m.GUID, s.cfg.Node); err != nil && xc5.ErrorCode(err) != xc5.ENOTFOUND {
		s.log.Warn("mail: sent, but the outbox cannot say so yet", "mail", m.GUID, "err", err)
		s.mu.Lock()
		s.unmarked = append(s.unmarked, m.GUID)
		s.mu.Unlock()
		return
	}
	s.log.Info("mail: sent", "mail", m.GUID, "to", m.To, "attempts", m.Attempts+1)
}

// failed records a failed try of m: a permanent (5xx) answer counts
// toward PermanentTries, anything else is tried again after back-off.
func (s *Sender) failed(ctx context.Context, m xc5.Mail, err error) {
	var se *gomail.SendError
	permanent := errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 && se.ErrorCode() < 600
	s.retry(ctx, m, err.Error(), permanent && m.Attempts+1 >= s.cfg.PermanentTries)
}

// retry records a failure with answer; final fails m for good, as does
// its age past GiveUp.
func (s *Sender) retry(ctx context.Context, m xc5.Mail, answer string, final bool) {
	if !m.Created.IsZero() && time.Since(m.Created) > s.cfg.GiveUp {
		final = true
	}
	next := time.Now().Add(outbox.Backoff(s.cfg.Backoff, s.cfg.MaxBackoff, m.Attempts))
	if err := s.cfg.Outbox.MailRetry(ctx, m.GUID, s.cfg.Node, answer, next, final); err != nil {
		// Its lease ends anyway, and the mail is tried again then.
		s.log.Warn("mail: cannot record a failed try", "mail", m.GUID, "err", err)
		return
	}
	if final {
		s.log.Error("mail: given up", "mail", m.GUID, "to", m.To, "attempts", m.Attempts+1, "answer", answer)
		return
	}
	s.log.Warn("mail: not sent; will try again", "mail", m.GUID, "to", m.To, "attempts", m.Attempts+1, "next", next, "answer", answer)
}
