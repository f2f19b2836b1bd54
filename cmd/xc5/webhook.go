package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"xc5/sqlstore"
	"xc5/webhook"
)

// startWebhooks runs the webhook outbox's sender until ctx ends.
// XC5_WEBHOOK_BACKOFF (a Go duration) shortens the first retry's wait,
// for tests of a receiver that is down.
func startWebhooks(ctx context.Context, store *sqlstore.Store, node string, allowPrivate bool, log *slog.Logger) error {
	cfg := webhook.Config{Outbox: store, Node: node, Log: log, AllowPrivate: allowPrivate}
	if v := os.Getenv("XC5_WEBHOOK_BACKOFF"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			cfg.Backoff, cfg.MaxBackoff, cfg.Poll = d, 4*d, d
		}
	}
	s, err := webhook.NewSender(cfg)
	if err != nil {
		return err
	}
	store.OnEventQueued(s.Kick) // a new event leaves at once, not at the next poll
	go s.Run(ctx)
	return nil
}
