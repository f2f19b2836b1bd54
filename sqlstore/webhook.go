package sqlstore

// The durable webhook outbox (xc5.WebhookOutbox), claimed by leases as
// the mail outbox is (outbox.go), with one rule more: of a webhook's
// deliveries about one account (a queue), only the oldest still queued
// may be claimed, so that a receiver gets an account's events in order
// even while one is being retried.

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"xc5"
)

// ClaimDeliveries implements xc5.WebhookOutbox.
func (s *Store) ClaimDeliveries(ctx context.Context, node string, lease time.Duration, max int) ([]xc5.Delivery, error) {
	if max <= 0 {
		max = 1
	}
	var out []xc5.Delivery
	err := s.w.doRerunnable(ctx, func(ctx context.Context, q execer) error {
		out = nil
		now := time.Now().UnixMilli()
		// heads: the oldest queued delivery of each webhook and account,
		// found in one pass over the queued rows (a NOT EXISTS probe per
		// queued row made a claim cost milliseconds per thousand queued).
		rows, err := q.QueryContext(ctx, `WITH heads AS MATERIALIZED (SELECT min(id) AS id FROM webhook_outbox WHERE state = ? GROUP BY webhook, queue),
			due AS MATERIALIZED (SELECT o.id FROM webhook_outbox o
				WHERE o.id IN (SELECT id FROM heads) AND o.state = ? AND o.next_try <= ? AND o.claimed_until < ?
				AND EXISTS (SELECT 1 FROM webhooks w WHERE w.guid = o.webhook AND w.enabled <> 0)
				ORDER BY o.id LIMIT ?`+s.d.skipLocked+`)
			UPDATE webhook_outbox SET claimed_by = ?, claimed_until = ?
			WHERE id IN (SELECT id FROM due) AND state = ? AND claimed_until < ?
			RETURNING id, event, webhook, body, attempts, created`,
			xc5.DeliveryQueued, xc5.DeliveryQueued, now, now, max, node, now+lease.Milliseconds(), xc5.DeliveryQueued, now)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d xc5.Delivery
			var body string
			var created int64
			if err := rows.Scan(&d.ID, &d.Event, &d.Webhook, &body, &d.Attempts, &created); err != nil {
				rows.Close()
				return err
			}
			d.Body, d.Created = []byte(body), time.UnixMilli(created)
			out = append(out, d)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		// RETURNING follows no order; oldest first is what a caller expects.
		slices.SortFunc(out, func(a, b xc5.Delivery) int { return cmp.Compare(a.ID, b.ID) })
		return hookTargets(ctx, q, out)
	})
	return out, err
}

// hookTargets fills in each delivery's URL and secret, read as they are
// now (a changed secret signs the events still queued).
func hookTargets(ctx context.Context, q execer, ds []xc5.Delivery) error {
	seen := map[string][2]string{}
	for i := range ds {
		t, ok := seen[ds[i].Webhook]
		if !ok {
			if err := q.QueryRowContext(ctx, `SELECT url, secret FROM webhooks WHERE guid = ?`, ds[i].Webhook).Scan(&t[0], &t[1]); err != nil {
				return err
			}
			seen[ds[i].Webhook] = t
		}
		ds[i].URL, ds[i].Secret = t[0], t[1]
	}
	return nil
}

// Delivered implements xc5.WebhookOutbox. As for mail, a delivery is
// marked done even when its lease had ended: it did arrive.
func (s *Store) Delivered(ctx context.Context, id int64, node string) error {
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		now := time.Now()
		res, err := q.ExecContext(ctx, `UPDATE webhook_outbox SET state = ?, done_at = ?, attempts = attempts + 1, claimed_by = ?, claimed_until = 0, last_error = ''
			WHERE id = ? AND state <> ?`, xc5.DeliveryDelivered, now.UnixMilli(), node, id, xc5.DeliveryDelivered)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // already marked: Delivered is idempotent
		}
		_, err = q.ExecContext(ctx, `UPDATE webhooks SET last_success = ?, last_error = '' WHERE guid = (SELECT webhook FROM webhook_outbox WHERE id = ?)`,
			now.UTC().Format(time.RFC3339), id)
		return err
	})
}

// DeliveryFailed implements xc5.WebhookOutbox. Only the node holding the
// delivery records its failure (see MailRetry).
func (s *Store) DeliveryFailed(ctx context.Context, id int64, node, why string, next time.Time, final bool) error {
	state := xc5.DeliveryQueued
	done := int64(0)
	if final {
		state, done = xc5.DeliveryFailed, time.Now().UnixMilli()
	}
	if len(why) > 500 {
		why = why[:500]
	}
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		res, err := q.ExecContext(ctx, `UPDATE webhook_outbox SET state = ?, attempts = attempts + 1, last_error = ?, next_try = ?, done_at = ?, claimed_by = '', claimed_until = 0
			WHERE id = ? AND state = ? AND claimed_by = ?`, state, why, next.UnixMilli(), done, id, xc5.DeliveryQueued, node)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return conflictOr(err, "delivery %d is not held by %s", id, node)
		}
		_, err = q.ExecContext(ctx, `UPDATE webhooks SET last_error = ? WHERE guid = (SELECT webhook FROM webhook_outbox WHERE id = ?)`, why, id)
		return err
	})
}

// conflictOr is err, or a conflict when there is none.
func conflictOr(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return conflict(format, args...)
}

// QueueEvent writes ev about the account with GUID acct to the outbox of
// the matching webhooks, in a write of its own: for events that have no
// record written with them (a call starting or answered).
func (s *Store) QueueEvent(ctx context.Context, acct string, ev xc5.Event) error {
	return s.w.do(ctx, func(ctx context.Context, q execer) error { return queueEvent(ctx, q, strings.ToUpper(acct), ev) })
}
