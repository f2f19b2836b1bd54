package sqlite

import (
	"context"
	"time"
)

// CreateSession records a new API session, dropping expired ones.
func (s *Store) CreateSession(ctx context.Context, jti, account string, expires time.Time) error {
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE expires < ?`, time.Now().Unix()); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO sessions (jti, account, expires) VALUES (?, ?, ?)`, jti, account, expires.Unix())
		return mapError(err)
	})
}

// SessionActive reports whether a session exists and has not expired.
func (s *Store) SessionActive(ctx context.Context, jti string) (bool, error) {
	var expires int64
	err := s.reader().QueryRowContext(ctx, `SELECT expires FROM sessions WHERE jti = ?`, jti).Scan(&expires)
	if err != nil {
		return false, nil
	}
	return time.Now().Unix() < expires, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, jti string) error {
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		_, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE jti = ?`, jti)
		return err
	})
}
