// Package webhook delivers the events of the store's webhook outbox
// (xc5.WebhookOutbox) to their receivers: HTTP POSTs of the event's JSON,
// signed as Stripe and GitHub sign theirs, at least once, in order per
// account, with retries and back-off. Several nodes may share one outbox:
// deliveries are claimed for a lease, as mail is (package mail).
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"xc5"
	"xc5/internal/outbox"
)

// Config configures a Sender; zero durations and counts take the
// defaults in brackets.
type Config struct {
	Outbox xc5.WebhookOutbox
	// Node names this node in its claims; two nodes must differ.
	Node string
	Log  *slog.Logger
	// Poll is how often the outbox is looked at without a Kick, for other
	// nodes' events and retries that came due [2s].
	Poll time.Duration
	// Timeout bounds one POST, connecting included [10s].
	Timeout time.Duration
	// Lease is how long a claimed delivery is this node's [4×Timeout+30s];
	// it must outlast its POST.
	Lease time.Duration
	// Batch is how many deliveries one claim takes at most (at most one
	// per webhook and account) [64]; Parallel how many POSTs run at once
	// [16].
	Batch, Parallel int
	// Backoff is the wait after a first failure, doubled after each
	// further one up to MaxBackoff [5s, 10m]: a receiver back after an
	// hour hears again within MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// GiveUp fails a delivery for good once it is this old [72h]; the
	// account's next event then goes.
	GiveUp time.Duration
	// Client sends the POSTs; nil for one with Timeout that refuses
	// private addresses unless AllowPrivate.
	Client *http.Client
	// AllowPrivate lets webhooks reach loopback, private, link-local and
	// other non-public addresses. Off, a company cannot use a webhook to
	// make the server POST to the provider's own network (the address is
	// checked as connected, after DNS).
	AllowPrivate bool
}

// Sender delivers the outbox's events; Run starts it.
type Sender struct {
	cfg  Config
	kick chan struct{}
	log  *slog.Logger

	inflight atomic.Int64   // POSTs under way
	wg       sync.WaitGroup // on them: Run waits for them to end

	mu        sync.Mutex
	failing   bool    // the outbox could not be read; logged once per episode
	abandoned []int64 // deliveries whose POST a shutdown cut short
}

// NewSender checks cfg and returns a sender.
func NewSender(cfg Config) (*Sender, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("webhook: no outbox")
	}
	if cfg.Node == "" {
		return nil, errors.New("webhook: no node name")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Poll, 2*time.Second)
	def(&cfg.Timeout, 10*time.Second)
	def(&cfg.Lease, 4*cfg.Timeout+30*time.Second)
	def(&cfg.Backoff, 5*time.Second)
	def(&cfg.MaxBackoff, 10*time.Minute)
	def(&cfg.GiveUp, 72*time.Hour)
	if cfg.Lease < 2*cfg.Timeout {
		return nil, fmt.Errorf("webhook: the lease (%v) must be at least twice the POST timeout (%v)", cfg.Lease, cfg.Timeout)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 16
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Client == nil {
		cfg.Client = newClient(cfg.Timeout, cfg.AllowPrivate)
	}
	return &Sender{cfg: cfg, kick: make(chan struct{}, 1), log: cfg.Log}, nil
}

// newClient is the POSTs' HTTP client: no proxy from the environment, no
// redirects followed (the event goes to the URL the account configured,
// or fails), and unless allowPrivate no connection to a non-public
// address.
func newClient(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if a := ap.Addr().Unmap(); !xc5.PublicAddr(a) {
				return fmt.Errorf("webhook: %s is not a public address (xc5 serve --webhook-private allows it)", a)
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: timeout, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}
	return &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Kick wakes the sender to look at the outbox now; it never blocks.
func (s *Sender) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run delivers events until ctx ends, and returns once its POSTs have.
// The deliveries it was sending are given back to the outbox, so that
// another node (or this one restarted) sends them at once rather than
// when their lease ends.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	defer s.release()
	defer s.wg.Wait()
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

// release gives back the deliveries a shutdown cut short.
func (s *Sender) release() {
	s.mu.Lock()
	ids := s.abandoned
	s.abandoned = nil
	s.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.cfg.Outbox.ReleaseDeliveries(ctx, ids, s.cfg.Node); err != nil {
		s.log.Warn("webhook: cannot give back the deliveries cut short; they go when their lease ends", "n", len(ids), "err", err)
	}
}

// drain claims due events and starts their POSTs, as many as there are
// free slots, and returns without waiting for them: a receiver that
// hangs holds one slot until its timeout, not the others' deliveries.
// Each claim takes at most one event per webhook and account, and the
// next of that account only comes due once this one is recorded, so
// parallel POSTs never reorder an account's events. A finished POST
// kicks the sender for the next.
func (s *Sender) drain(ctx context.Context) {
	for ctx.Err() == nil {
		free := s.cfg.Parallel - int(s.inflight.Load())
		if free <= 0 {
			return
		}
		ds, err := s.cfg.Outbox.ClaimDeliveries(ctx, s.cfg.Node, s.cfg.Lease, min(free, s.cfg.Batch))
		s.noteOutbox(err)
		if err != nil || len(ds) == 0 {
			return
		}
		for _, d := range ds {
			s.inflight.Add(1)
			s.wg.Add(1)
			go func() {
				defer func() { s.inflight.Add(-1); s.wg.Done(); s.Kick() }()
				s.deliver(ctx, d)
			}()
		}
	}
}

// noteOutbox logs the outbox becoming unreadable and readable again.
func (s *Sender) noteOutbox(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil && !s.failing && !errors.Is(err, context.Canceled):
		s.log.Error("webhook: cannot claim events from the outbox; trying again", "err", err)
		s.failing = true
	case err == nil && s.failing:
		s.log.Info("webhook: the outbox is readable again")
		s.failing = false
	}
}

// deliver POSTs d and records the outcome. Any 2xx is a success; every
// other answer, or none, is tried again after back-off.
func (s *Sender) deliver(ctx context.Context, d xc5.Delivery) {
	err := s.post(ctx, d)
	if ctx.Err() != nil {
		s.mu.Lock() // shutting down: given back by Run (release)
		s.abandoned = append(s.abandoned, d.ID)
		s.mu.Unlock()
		return
	}
	if err == nil {
		if err := s.cfg.Outbox.Delivered(ctx, d.ID, s.cfg.Node); err != nil {
			// Its lease ends and it is delivered again: at least once.
			s.log.Warn("webhook: delivered, but the outbox cannot say so", "event", d.Event, "err", err)
		}
		return
	}
	final := time.Since(d.Created) > s.cfg.GiveUp
	next := time.Now().Add(outbox.Backoff(s.cfg.Backoff, s.cfg.MaxBackoff, d.Attempts))
	if rerr := s.cfg.Outbox.DeliveryFailed(ctx, d.ID, s.cfg.Node, err.Error(), next, final); rerr != nil {
		s.log.Warn("webhook: cannot record a failed try", "event", d.Event, "err", rerr)
		return
	}
	if final {
		s.log.Error("webhook: given up", "event", d.Event, "webhook", d.Webhook, "attempts", d.Attempts+1, "err", err)
		return
	}
	s.log.Warn("webhook: not delivered; will try again", "event", d.Event, "webhook", d.Webhook, "attempts", d.Attempts+1, "next", next, "err", err)
}

// post sends d once.
func (s *Sender) post(ctx context.Context, d xc5.Delivery) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "xc5-webhook/1")
	req.Header.Set(SignatureHeader, Sign(d.Secret, time.Now(), d.Body))
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}
