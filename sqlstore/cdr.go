package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"xc5"
	"xc5/resource"
)

// AddCDR writes a call detail record for an account. vals holds the CDR
// resource's fields (direction, from, to, started, answered, ended,
// duration, outcome, answered_by, code, call_id).
func (s *Store) AddCDR(ctx context.Context, accountGUID string, vals map[string]any) error {
	t := tables[resource.CDR]
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		return t.insert(ctx, q, resource.NewGUID(), accountGUID, nil, merge(resource.CDR.Defaults(), vals))
	})
}

// insertCDR writes r in q's transaction, unless r is a retry of a record
// an earlier try already wrote (its COMMIT went through unanswered).
func insertCDR(ctx context.Context, q execer, r xc5.CDR) error {
	if r.Event != "" {
		return insertCallEvent(ctx, q, r)
	}
	guid := r.GUID
	if guid == "" {
		guid = resource.NewGUID()
	} else if r.Retry {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM cdrs WHERE guid = ?`, guid).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	vals := merge(resource.CDR.Defaults(), r.Values)
	if err := tables[resource.CDR].insert(ctx, q, guid, r.Account, nil, vals); err != nil {
		return err
	}
	call := map[string]any{"guid": guid}
	for k, v := range vals {
		call[k] = v
	}
	return queueEvent(ctx, q, r.Account, xc5.Event{Type: xc5.EventCallEnded, Call: call})
}

// insertCallEvent queues the webhook event r stands for, unless r is a
// retry of one an earlier try already queued.
func insertCallEvent(ctx context.Context, q execer, r xc5.CDR) error {
	if r.Retry && r.GUID != "" {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM webhook_outbox WHERE event = ?`, r.GUID).Scan(&n); err != nil || n > 0 {
			return err
		}
	}
	return queueEvent(ctx, q, r.Account, xc5.Event{ID: r.GUID, Type: r.Event, Call: r.Values})
}

// AddCDRs writes several call detail records, in order, in one write (one
// commit): what the SIP service does with the records of the calls that
// ended in the last moment. When one fails (its account was deleted),
// the others are written one by one.
//
// A record with a GUID is written under it, and when marked Retry only if
// no record has it yet. When the database is unavailable the error is
// returned at once (EUNAVAILABLE), for the caller to try again later.
func (s *Store) AddCDRs(ctx context.Context, recs []xc5.CDR) error {
	defer s.eventQueued()
	err := s.w.do(ctx, func(ctx context.Context, q execer) error {
		for _, r := range recs {
			if err := insertCDR(ctx, q, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(recs) == 1 || xc5.ErrorCode(err) == xc5.EUNAVAILABLE {
		return err
	}
	var errs []error
	for _, r := range recs {
		err := s.w.do(ctx, func(ctx context.Context, q execer) error { return insertCDR(ctx, q, r) })
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PurgeCDRs deletes the records of calls started before before, at most
// batch rows per write, so that no write holds the database for long
// while a year of records goes (other writes take turns between the
// batches). It reports how many records went and in how many writes.
func (s *Store) PurgeCDRs(ctx context.Context, before time.Time, batch int) (deleted, writes int, err error) {
	if batch <= 0 {
		batch = 1000
	}
	cutoff := sqlTime(before)
	for {
		var n int64
		err := s.w.do(ctx, func(ctx context.Context, q execer) error {
			res, err := q.ExecContext(ctx, `DELETE FROM cdrs WHERE id IN (SELECT id FROM cdrs WHERE started < ? LIMIT ?)`, cutoff, batch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return deleted, writes, fmt.Errorf("purge CDRs: %w", err)
		}
		deleted += int(n)
		writes++
		if n < int64(batch) {
			return deleted, writes, nil
		}
	}
}

// cdrPurgeBatch is the number of records one purge write deletes: a few
// milliseconds of the writer.
const cdrPurgeBatch = 1000

// RetainCDRs keeps the records of the calls of the last keep: it purges
// older ones now and then every every (the records that aged meanwhile),
// until the returned stop is called; stop waits for a purge in progress.
// A failed purge is logged and tried again next time.
func (s *Store) RetainCDRs(keep, every time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n, writes, err := s.PurgeCDRs(ctx, time.Now().Add(-keep), cdrPurgeBatch)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Error("CDR retention", "err", err)
			case n > 0:
				log.Info("CDR retention: purged old records", "records", n, "writes", writes, "kept", keep)
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
