package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// InstallationKey returns the installation's secret key, creating it on
// first use. Nodes sharing a database share the key, so a session cookie
// or a SIP nonce made by one node is good on the others.
func (s *Store) InstallationKey(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	var value string
	err := s.w.do(ctx, func(ctx context.Context, q execer) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('installation_key', ?) ON CONFLICT (name) DO NOTHING`,
			hex.EncodeToString(fresh)); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'installation_key'`).Scan(&value)
	})
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(value)
}
