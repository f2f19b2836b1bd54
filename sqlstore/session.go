package sqlstore

import (
	"context"
	"database/sql"
	"errors"
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
	if !storable(jti) {
		return false, nil
	}
	err := s.reader().QueryRowContext(ctx, `SELECT expires FROM sessions WHERE jti = ?`, jti).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, readError(err, "")
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

// endSessions ends the sessions of an account, inside the write that
// changed its password or username or disabled it (see docs/api.md,
// Authentication): a session must not outlive the credentials it was
// opened with.
func endSessions(ctx context.Context, q execer, account string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE account = ?`, account)
	return err
}
