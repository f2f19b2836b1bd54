package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"xc5/resource"
)

// The change feed between nodes sharing a PostgreSQL database: every
// committed write is announced with NOTIFY on this channel, and every node
// LISTENs, so that its in-memory views reload what another node changed.
// A node that loses the connection announces a full reload when it is back,
// since it may have missed notifications meanwhile.
const feedChannel = "xc5_changes"

// nodeID tells this process's notifications from other nodes'.
var nodeID = func() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}()

// announce tells the other nodes about a committed change. The NOTIFY is
// sent by a background sender, so that it adds no round trip to the write;
// other nodes hear of it within milliseconds either way.
func (s *Store) announce(c resource.Change) {
	if s.d != postgresDialect {
		return
	}
	name := "*"
	if c.Resource != nil {
		name = c.Resource.Name
	}
	s.feedOnce.Do(func() {
		s.feed = make(chan string, 4096)
		go s.notifier()
	})
	s.feed <- nodeID + "|" + name + "|" + c.Account
}

// notifier sends the queued announcements in order.
func (s *Store) notifier() {
	for payload := range s.feed {
		if _, err := s.read.ExecContext(context.Background(), `SELECT pg_notify($1, $2)`, feedChannel, payload); err != nil {
			slog.Warn("change feed: notify failed", "err", err)
		}
	}
}

// Follow listens for other nodes' changes until ctx ends, calling the
// store's change listeners for each. Only PostgreSQL stores have a feed.
func (s *Store) Follow(ctx context.Context, url string) {
	if s.d != postgresDialect {
		return
	}
	go func() {
		first := true
		for ctx.Err() == nil {
			err := s.listen(ctx, url, !first)
			first = false
			if ctx.Err() != nil {
				return
			}
			slog.Warn("change feed: connection lost; reconnecting", "err", err)
			time.Sleep(time.Second)
		}
	}()
}

func (s *Store) listen(ctx context.Context, url string, reload bool) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+feedChannel); err != nil {
		return err
	}
	if reload {
		s.deliver(resource.Change{}) // we may have missed changes: reload everything
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		parts := strings.SplitN(n.Payload, "|", 3)
		if len(parts) != 3 || parts[0] == nodeID {
			continue
		}
		c := resource.Change{Account: parts[2]}
		if parts[1] != "*" {
			c.Resource = resource.ByName(parts[1])
		}
		s.deliver(c)
	}
}
