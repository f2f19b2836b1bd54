package sqlstore

// The audit trail's reads and retention (xc5.AuditLog); entries are
// written by the writes themselves (trail.go).

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"xc5"
)

// ListAudit implements xc5.AuditLog.
func (s *Store) ListAudit(ctx context.Context, path string, system bool, limit int, fn func(xc5.AuditEntry) error) error {
	// Paths are GUIDs and slashes: the range [path, path+"0") holds every
	// path that starts with it ('0' follows '/').
	if path == "" {
		path = "/"
	}
	where, args := "(path >= ? AND path < ?)", []any{path, path[:len(path)-1] + "0"}
	if system {
		where += " OR path = ''"
	}
	lim := ""
	if limit > 0 {
		lim, args = " LIMIT ?", append(args, limit)
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT guid, at, actor, source, method, uri, resource, record, old_json, new_json
		FROM audit WHERE `+where+` ORDER BY id DESC`+lim, args...)
	if err != nil {
		return storeErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var e xc5.AuditEntry
		var at int64
		if err := rows.Scan(&e.GUID, &at, &e.Origin.Account, &e.Origin.Source, &e.Origin.Method, &e.Origin.Path,
			&e.Resource, &e.Record, &e.Before, &e.After); err != nil {
			return storeErr(err)
		}
		e.At = time.UnixMilli(at)
		if err := fn(e); err != nil {
			return err
		}
	}
	return storeErr(rows.Err())
}

// PurgeAudit implements xc5.AuditLog. It also removes the webhook
// deliveries done (delivered or given up) before before: what is left of
// them is their webhook's last success and last error.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	cutoff := before.UnixMilli()
	deleted := 0
	for _, stmt := range []string{
		`DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? LIMIT ?)`,
		`DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox WHERE done_at > 0 AND done_at < ? LIMIT ?)`,
	} {
		for {
			var n int64
			err := s.w.do(ctx, func(ctx context.Context, q execer) error {
				res, err := q.ExecContext(ctx, stmt, cutoff, batch)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return deleted, fmt.Errorf("purge audit: %w", err)
			}
			deleted += int(n)
			if n < int64(batch) {
				break
			}
		}
	}
	return deleted, nil
}

// RetainAudit keeps the audit trail of the last keep, purging older
// entries now and then every every, until the returned stop is called
// (as RetainCDRs).
func (s *Store) RetainAudit(keep, every time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n, err := s.PurgeAudit(ctx, time.Now().Add(-keep), cdrPurgeBatch)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Error("audit retention", "err", err)
			case n > 0:
				log.Info("audit retention: purged old entries and deliveries", "rows", n, "kept", keep)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}
