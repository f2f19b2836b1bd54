package main

import (
	"context"
	"log/slog"
	"time"

	"xc5/sqlstore"
	"xc5/webhook"
)

// startWebhooks runs the webhook outbox's sender until ctx ends. A
// non-zero backoff (--webhook-backoff, for tests and drills of a receiver
// that is down) replaces the first retry's wait, caps the back-off at four
// times it and polls that often.
func startWebhooks(ctx context.Context, store *sqlstore.Store, node string, allowPrivate bool, backoff time.Duration, log *slog.Logger) error {
	cfg := webhook.Config{Outbox: store, Node: node, Log: log, AllowPrivate: allowPrivate}
	if backoff > 0 {
		cfg.Backoff, cfg.MaxBackoff, cfg.Poll = backoff, 4*backoff, backoff
	}
	s, err := webhook.NewSender(cfg)
	if err != nil {
		return err
	}
	store.OnEventQueued(s.Kick) // a new event leaves at once, not at the next poll
	go s.Run(ctx)
	return nil
}
