package sqlstore

import (
	"context"
	"strings"
	"time"

	"xc5"
)

// ClaimRoom implements xc5.RoomStore: one statement takes a free or
// lapsed room for node, or renews node's own claim; whoever holds the
// room afterwards is returned.
func (s *Store) ClaimRoom(ctx context.Context, room, node string, ttl time.Duration) (string, error) {
	if strings.TrimSpace(room) == "" || strings.TrimSpace(node) == "" {
		return "", invalid("a room claim needs a room and a node")
	}
	var holder string
	err := s.w.do(ctx, func(ctx context.Context, q execer) error {
		now := time.Now()
		if _, err := q.ExecContext(ctx, `INSERT INTO media_rooms (room, node, expires) VALUES (?, ?, ?)
			ON CONFLICT (room) DO UPDATE SET node = excluded.node, expires = excluded.expires
			WHERE media_rooms.node = excluded.node OR media_rooms.expires < ?`,
			room, node, now.Add(ttl).UnixMilli(), now.UnixMilli()); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, `SELECT node FROM media_rooms WHERE room = ?`, room).Scan(&holder)
	})
	return holder, err
}

// TakeRoom implements xc5.RoomStore: the room moves from a holder that
// did not answer to node (unless another node took it meanwhile).
func (s *Store) TakeRoom(ctx context.Context, room, from, node string, ttl time.Duration) (string, error) {
	var holder string
	err := s.w.do(ctx, func(ctx context.Context, q execer) error {
		if _, err := q.ExecContext(ctx, `UPDATE media_rooms SET node = ?, expires = ? WHERE room = ? AND node = ?`,
			node, time.Now().Add(ttl).UnixMilli(), room, from); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, `SELECT node FROM media_rooms WHERE room = ?`, room).Scan(&holder)
	})
	return holder, err
}

var _ xc5.RoomStore = (*Store)(nil)
