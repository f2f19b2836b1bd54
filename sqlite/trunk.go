package sqlite

import "context"

// Trunk is a carrier trunk as the SIP service needs it. Unlike the API's
// view of the trunk resource it carries the digest password: xc5 has to
// send it to the carrier, so the SIP service is the one reader allowed it.
type Trunk struct {
	GUID        string
	Name        string
	Address     string // comma-separated IP addresses and CIDR ranges allowed to send calls in
	Port        int    // UDP source port calls come from; 0 for any
	InboundAuth bool   // challenge the carrier's INVITEs; accept answers made with Username and Password
	Proxy       string // host:port external calls are sent to; "" for inbound-only trunks
	Transport   string // udp, tcp or tls
	Username    string // digest username the carrier asks for (or, with InboundAuth, answers with)
	Password    string
	Enabled     bool
	Priority    int // external calls use the enabled trunk with a proxy and the lowest priority
}

// Trunks returns every trunk, lowest priority first (then oldest first),
// passwords included, for the SIP service to match inbound calls against
// and to choose the trunk for outbound ones.
func (s *Store) Trunks(ctx context.Context) ([]Trunk, error) {
	ts, err := s.trunks(ctx)
	return ts, storeErr(err)
}

func (s *Store) trunks(ctx context.Context) ([]Trunk, error) {
	rows, err := s.reader().QueryContext(ctx, `SELECT guid, name, address, port, inbound_auth, proxy, transport, username, password, enabled, priority
		FROM trunks ORDER BY priority, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Trunk
	for rows.Next() {
		var t Trunk
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
