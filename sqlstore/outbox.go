package sqlstore

// The durable mail outbox (xc5.MailOutbox): mails are claimed for a lease
// by one node at a time, then marked sent or tried again later. On
// PostgreSQL two nodes claiming at once take different rows (SKIP
// LOCKED), and the claim's UPDATE repeats its conditions, so a row that
// another node took between the two is left alone.

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"xc5"
)

// ClaimMail implements xc5.MailOutbox.
func (s *Store) ClaimMail(ctx context.Context, node string, lease time.Duration, max int) ([]xc5.Mail, error) {
	if max <= 0 {
		max = 1
	}
	var out []xc5.Mail
	err := s.w.doRerunnable(ctx, func(ctx context.Context, q execer) error {
		out = nil
		now := time.Now().UnixMilli()
		// The CTE is run once (PostgreSQL may run an IN subquery with
		// LIMIT and SKIP LOCKED more than once and take more rows).
		rows, err := q.QueryContext(ctx, `WITH due AS MATERIALIZED (SELECT id FROM mail_outbox WHERE state = ? AND next_try <= ? AND claimed_until < ?
				ORDER BY next_try LIMIT ?`+s.d.skipLocked+`)
			UPDATE mail_outbox SET claimed_by = ?, claimed_until = ?
			WHERE id IN (SELECT id FROM due) AND state = ? AND claimed_until < ?
			RETURNING guid, rcpt, subject, body, attachment, attachment_name, state, attempts, last_error, created, next_try, sent_at`,
			xc5.MailQueued, now, now, max, node, now+lease.Milliseconds(), xc5.MailQueued, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMail(rows, true)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
}

// MailSent implements xc5.MailOutbox. A mail is marked sent even when its
// lease had ended and another node claimed it meanwhile: it did go, and
// marking it keeps the other from sending it again if it has not yet.
func (s *Store) MailSent(ctx context.Context, guid, node string) error {
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		res, err := q.ExecContext(ctx, `UPDATE mail_outbox SET state = ?, sent_at = ?, attempts = attempts + 1, claimed_by = ?, claimed_until = 0, last_error = ''
			WHERE guid = ? AND state <> ?`, xc5.MailSent, time.Now().UnixMilli(), node, strings.ToUpper(guid), xc5.MailSent)
		if err != nil {
			return err
		}
		return mailChanged(ctx, q, res, guid)
	})
}

// MailRetry implements xc5.MailOutbox. Only the node holding the mail
// records a failure: once another node has claimed it (the lease ended),
// that node's outcome is the one that counts.
func (s *Store) MailRetry(ctx context.Context, guid, node, answer string, next time.Time, final bool) error {
	state := xc5.MailQueued
	if final {
		state = xc5.MailFailed
	}
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		res, err := q.ExecContext(ctx, `UPDATE mail_outbox SET state = ?, attempts = attempts + 1, last_error = ?, next_try = ?, claimed_by = '', claimed_until = 0
			WHERE guid = ? AND state = ? AND claimed_by = ?`,
			state, answer, next.UnixMilli(), strings.ToUpper(guid), xc5.MailQueued, node)
		if err != nil {
			return err
		}
		return mailChanged(ctx, q, res, guid)
	})
}

// mailChanged turns an update that changed no row into why: no such mail
// (ENOTFOUND), or one no longer this node's to change (ECONFLICT).
func mailChanged(ctx context.Context, q execer, res sql.Result, guid string) error {
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var state string
	err := q.QueryRowContext(ctx, `SELECT state FROM mail_outbox WHERE guid = ?`, strings.ToUpper(guid)).Scan(&state)
	if err != nil {
		return missing(err, "mail %s not found", guid)
	}
	if state == xc5.MailSent {
		return nil // already marked sent: MailSent is idempotent
	}
	return conflict("mail %s is %s and not held by this node", guid, state)
}

// ListMail implements xc5.MailLister.
func (s *Store) ListMail(ctx context.Context, state string, limit int, fn func(xc5.Mail) error) error {
	where, args := "", []any{}
	if state != "" {
		where, args = "WHERE state = ?", append(args, state)
	}
	lim := ""
	if limit > 0 {
		lim, args = " LIMIT ?", append(args, limit)
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT guid, rcpt, subject, body, attachment_name, state, attempts, last_error, created, next_try, sent_at
		FROM mail_outbox `+where+` ORDER BY created DESC, id DESC`+lim, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMail(rows, false)
		if err != nil {
			return storeErr(err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return storeErr(rows.Err())
}

// scanMail reads a mail's columns in the order ClaimMail and ListMail
// select them (the attachment only when withAttachment).
func scanMail(rows *sql.Rows, withAttachment bool) (xc5.Mail, error) {
	var m xc5.Mail
	var created, next, sent int64
	dest := []any{&m.GUID, &m.To, &m.Subject, &m.Body}
	if withAttachment {
		dest = append(dest, &m.Attachment)
	}
	dest = append(dest, &m.AttachmentName, &m.State, &m.Attempts, &m.LastError, &created, &next, &sent)
	if err := rows.Scan(dest...); err != nil {
		return m, err
	}
	m.Created, m.NextTry = time.UnixMilli(created), time.UnixMilli(next)
	if sent > 0 {
		m.SentAt = time.UnixMilli(sent)
	}
	return m, nil
}
