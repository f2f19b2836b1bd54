package sqlstore

import (
	"context"

	"xc5"
)

// Trunks returns every trunk, lowest priority first (then oldest first),
// passwords included, for the SIP service to match inbound calls against
// and to choose the trunk for outbound ones.
func (s *Store) Trunks(ctx context.Context) ([]xc5.Trunk, error) {
	ts, err := s.trunks(ctx)
	return ts, storeErr(err)
}

func (s *Store) trunks(ctx context.Context) ([]xc5.Trunk, error) {
	rows, err := s.reader().QueryContext(ctx, `SELECT guid, name, address, port, inbound_auth, proxy, transport, username, password, enabled, priority
		FROM trunks ORDER BY priority, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []xc5.Trunk
	for rows.Next() {
		var t xc5.Trunk
		var enabled, priority, port, auth int64
		if err := rows.Scan(&t.GUID, &t.Name, &t.Address, &port, &auth, &t.Proxy, &t.Transport, &t.Username, &t.Password, &enabled, &priority); err != nil {
			return nil, err
		}
		t.Enabled = enabled != 0
		t.Priority = int(priority)
		t.Port, t.InboundAuth = int(port), auth != 0
		out = append(out, t)
	}
	return out, rows.Err()
}
