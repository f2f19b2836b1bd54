package sqlstore

import (
	"context"
	"strings"
	"time"
)

// AddFailures records one failed login under each of keys (its source
// address, username, and the pair: see package ratelimit) in one
// transaction, where every node sharing the database sees it.
func (s *Store) AddFailures(ctx context.Context, keys []string, now time.Time) error {
	minute := now.Unix() / 60
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM auth_failures WHERE minute < ?`, minute-5); err != nil {
			return err
		}
		for _, key := range keys {
			if _, err := q.ExecContext(ctx, `INSERT INTO auth_failures (key, minute, count) VALUES (?, ?, 1)
				ON CONFLICT (key, minute) DO UPDATE SET count = auth_failures.count + 1`, key, minute); err != nil {
				return err
			}
		}
		return nil
	})
}

// Failures returns the failed logins of each of keys this minute on all
// nodes, in the order of keys.
func (s *Store) Failures(ctx context.Context, keys []string, now time.Time) ([]int, error) {
	out := make([]int, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := []any{now.Unix() / 60}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT key, count FROM auth_failures WHERE minute = ? AND key IN (?`+
		strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return out, readError(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var n int
		if err := rows.Scan(&key, &n); err != nil {
			return out, readError(err, "")
		}
		for i, k := range keys {
			if k == key {
				out[i] = n
			}
		}
	}
	return out, storeErr(rows.Err())
}
