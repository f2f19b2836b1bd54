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

// Only the head of a queue is due: an event queued behind another of its
// queue gets next_try = waiting (queueEventTo), and comes due when the
// one before it is delivered or given up (promoteNext). So a claim reads
// the due rows from the (state, next_try) index, and a dead receiver's
// backlog, all waiting, costs it nothing.
const waiting = int64(1) << 62

// dueHeads selects the deliveries a claim may take now: due, not held,
// of an enabled webhook, the oldest queued of their queue (checked again
// for each: a row queued while its queue's head was being delivered on
// another node may be due early), and no more per webhook than
// xc5.WebhookInFlight with those already held (held: read from the due
// index once, not per candidate from the webhook's whole queue). Arguments:
// dueArgs.
const dueHeads = `SELECT c.id FROM (
		SELECT o.id, o.webhook, row_number() OVER (PARTITION BY o.webhook ORDER BY o.id) AS rn
		FROM webhook_outbox o
		WHERE o.state = ? AND o.next_try <= ? AND o.claimed_until < ?
		AND EXISTS (SELECT 1 FROM webhooks w WHERE w.guid = o.webhook AND w.enabled <> 0)
		AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.state = ? AND p.webhook = o.webhook AND p.queue = o.queue AND p.id < o.id)
	) c
	LEFT JOIN (SELECT b.webhook, count(*) AS n FROM webhook_outbox b
		WHERE b.state = ? AND b.next_try <= ? AND b.claimed_until >= ? GROUP BY b.webhook) held ON held.webhook = c.webhook
	WHERE c.rn + COALESCE(held.n, 0) <= ?`

func dueArgs(now int64) []any {
	q := xc5.DeliveryQueued
	return []any{q, now, now, q, q, now, now, xc5.WebhookInFlight}
}

// ClaimDeliveries implements xc5.WebhookOutbox. It looks first, on a
// reader, whether anything is due, and takes the writer only then: the
// sender claims on every event queued and every poll.
func (s *Store) ClaimDeliveries(ctx context.Context, node string, lease time.Duration, max int) ([]xc5.Delivery, error) {
	if max <= 0 {
		max = 1
	}
	var n int
	if err := s.reader().QueryRowContext(ctx, `SELECT count(*) FROM (`+dueHeads+` LIMIT 1) x`, dueArgs(time.Now().UnixMilli())...).Scan(&n); err != nil {
		return nil, storeErr(err)
	}
	if n == 0 {
		return nil, nil
	}
	var out []xc5.Delivery
	err := s.w.doRerunnable(ctx, func(ctx context.Context, q execer) error {
		out = nil
		now := time.Now().UnixMilli()
		// The CTE is run once (see ClaimMail).
		args := append(dueArgs(now), max, node, now+lease.Milliseconds(), xc5.DeliveryQueued, now)
		rows, err := q.QueryContext(ctx, `WITH due AS MATERIALIZED (SELECT id FROM webhook_outbox WHERE id IN (`+dueHeads+`)
				ORDER BY id LIMIT ?`+s.d.skipLocked+`)
			UPDATE webhook_outbox SET claimed_by = ?, claimed_until = ?
			WHERE id IN (SELECT id FROM due) AND state = ? AND claimed_until < ?
			RETURNING id, event, webhook, body, attempts, created`, args...)
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

// promoteNext makes the next delivery of the queue of delivery id due,
// once id has left the queued state.
func promoteNext(ctx context.Context, q execer, id int64) error {
	_, err := q.ExecContext(ctx, `UPDATE webhook_outbox SET next_try = ? WHERE next_try = ? AND id = (SELECT min(p.id) FROM webhook_outbox p
		JOIN webhook_outbox d ON p.webhook = d.webhook AND p.queue = d.queue WHERE d.id = ? AND p.state = ?)`,
		time.Now().UnixMilli(), waiting, id, xc5.DeliveryQueued)
	return err
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
		if err := promoteNext(ctx, q, id); err != nil {
			return err
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
		if final {
			if err := promoteNext(ctx, q, id); err != nil {
				return err
			}
		}
		_, err = q.ExecContext(ctx, `UPDATE webhooks SET last_error = ? WHERE guid = (SELECT webhook FROM webhook_outbox WHERE id = ?)`, why, id)
		return err
	})
}

// ReleaseDeliveries implements xc5.WebhookOutbox. A delivery another
// node holds, or one already recorded, is left alone.
func (s *Store) ReleaseDeliveries(ctx context.Context, ids []int64, node string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		for _, id := range ids {
			if _, err := q.ExecContext(ctx, `UPDATE webhook_outbox SET claimed_by = '', claimed_until = 0 WHERE id = ? AND claimed_by = ? AND state = ?`,
				id, node, xc5.DeliveryQueued); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReleaseOrphanClaims gives back, on SQLite, every webhook delivery and
// mail claimed by an earlier life of this process (killed mid-POST or
// mid-send): one SQLite data directory has one serving process, so before
// its senders start no claim in it is live, and the events and mails
// would otherwise wait out their leases (70 s; 5 min for mail) after a
// restart. On PostgreSQL other nodes' claims are live: nothing is done.
// What a killed process had already handed over is sent again, as it
// would be once the lease ran out: delivery is at least once.
func (s *Store) ReleaseOrphanClaims(ctx context.Context) error {
	if s.d == postgresDialect {
		return nil
	}
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		if _, err := q.ExecContext(ctx, `UPDATE webhook_outbox SET claimed_by = '', claimed_until = 0 WHERE claimed_by <> '' AND state = ?`, xc5.DeliveryQueued); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `UPDATE mail_outbox SET claimed_by = '', claimed_until = 0 WHERE claimed_by <> '' AND state = ?`, xc5.MailQueued)
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
