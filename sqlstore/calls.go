package sqlstore

import (
	"context"
	"time"
)

// AddActiveCall counts a call for an account until it is removed or
// expires (the longest a call may last).
func (s *Store) AddActiveCall(ctx context.Context, callID, accountGUID string, expires time.Time) error {
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		_, err := q.ExecContext(ctx, `INSERT INTO active_calls (call_id, account, expires) VALUES (?, ?, ?)
			ON CONFLICT (call_id, account) DO NOTHING`, callID, accountGUID, expires.Unix())
		return err
	})
}

// RemoveActiveCall stops counting a call, for every account it counted for.
func (s *Store) RemoveActiveCall(ctx context.Context, callID string) error {
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		_, err := q.ExecContext(ctx, `DELETE FROM active_calls WHERE call_id = ?`, callID)
		return err
	})
}

// RemoveActiveCallFor stops counting a call for one account.
func (s *Store) RemoveActiveCallFor(ctx context.Context, callID, accountGUID string) error {
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		_, err := q.ExecContext(ctx, `DELETE FROM active_calls WHERE call_id = ? AND account = ?`, callID, accountGUID)
		return err
	})
}

// ActiveCalls counts an account's calls in progress on every node.
func (s *Store) ActiveCalls(ctx context.Context, accountGUID string, now time.Time) (int, error) {
	var n int
	err := s.reader().QueryRowContext(ctx, `SELECT count(*) FROM active_calls WHERE account = ? AND expires > ?`,
		accountGUID, now.Unix()).Scan(&n)
	return n, storeErr(err)
}
