package sqlite

import (
	"context"
	"time"
)

// AddFailure records a failed login under key (a source address or a
// username) and returns how many this minute has seen on all nodes.
func (s *Store) AddFailure(ctx context.Context, key string, now time.Time) (int, error) {
	minute := now.Unix() / 60
	var n int
	err := s.w.do(ctx, func(ctx context.Context, q execer) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM auth_failures WHERE minute < ?`, minute-5); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, `INSERT INTO auth_failures (key, minute, count) VALUES (?, ?, 1)
			ON CONFLICT (key, minute) DO UPDATE SET count = auth_failures.count + 1 RETURNING count`, key, minute).Scan(&n)
	})
	return n, err
}

// Failures returns the failed logins of key this minute on all nodes.
func (s *Store) Failures(ctx context.Context, key string, now time.Time) (int, error) {
	var n int
	err := s.reader().QueryRowContext(ctx, `SELECT count FROM auth_failures WHERE key = ? AND minute = ?`, key, now.Unix()/60).Scan(&n)
	if err != nil {
		return 0, nil
	}
	return n, nil
}
