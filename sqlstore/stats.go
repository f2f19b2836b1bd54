package sqlstore

import (
	"context"
	"time"

	"xc5"
	"xc5/internal/stat"
)

// CommitStats reads the group-commit writer's histograms: seconds from a
// batch's BEGIN to its durable COMMIT, and writes per committed batch.
func (s *Store) CommitStats() (seconds, batch stat.Snapshot) {
	return s.w.commitSeconds.Snapshot(), s.w.batchSize.Snapshot()
}

// Ping makes the cheapest read there is, to tell whether the database
// answers (the readiness check).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return storeErr(s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one))
}

// QueuedMail counts the mails in the outbox waiting to be sent.
func (s *Store) QueuedMail(ctx context.Context) (int, error) {
	var n int
	err := s.reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM mail_outbox WHERE state = ?", xc5.MailQueued).Scan(&n)
	return n, storeErr(err)
}

// QueuedEvents counts the webhook deliveries waiting in the outbox.
func (s *Store) QueuedEvents(ctx context.Context) (int, error) {
	var n int
	err := s.reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_outbox WHERE state = ?", xc5.DeliveryQueued).Scan(&n)
	return n, storeErr(err)
}

// FeedLag is how long this node's last marker took to come back through
// the change feed (PostgreSQL): the delay with which the other nodes'
// changes reach it. Zero on SQLite and before the first marker.
func (s *Store) FeedLag() time.Duration {
	if s.d != postgresDialect {
		return 0
	}
	return time.Duration(s.cl().lag.Load())
}

// Bindings counts the registered contacts of every phone (the sweeper
// removes them as they expire).
func (s *Store) Bindings(ctx context.Context) (int, error) {
	var n int
	err := s.reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM registrations").Scan(&n)
	return n, storeErr(err)
}
