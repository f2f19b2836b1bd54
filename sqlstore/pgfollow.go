package sqlstore

// The listening side of the PostgreSQL change feed (pgfeed.go has the
// design and the sending side): following the feed, the lease and its
// marker, applying other nodes' changes, and whether this node is fresh.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"xc5/resource"
)

// Fresh reports whether this store's in-memory views (kept current by
// its change listeners) hold every write acknowledged by any node, so
// that reads may be answered from them. A SQLite store has one node and
// is always fresh; a PostgreSQL store is fresh while it follows the feed
// under a live lease (see Follow).
func (s *Store) Fresh() bool {
	if s.d != postgresDialect {
		return true
	}
	c := s.cl()
	until := c.freshUntil.Load()
	return until != 0 && int64(time.Since(c.epoch)) < until
}

// Follow listens for other nodes' changes until ctx ends, calling the
// store's change listeners for each and confirming it to its writer, and
// takes part in the fence that lets this node's views answer reads (see
// Fresh). Only PostgreSQL stores have a feed. The first connection is made
// before Follow returns, so that a view loaded afterwards misses nothing.
func (s *Store) Follow(ctx context.Context, url string) {
	if s.d != postgresDialect {
		return
	}
	c := s.cl()
	c.mu.Lock()
	prev := c.followDone
	c.mu.Unlock()
	if prev != nil {
		<-prev // an earlier Follow whose ctx ended winds down first
	}
	c.mu.Lock()
	done := make(chan struct{})
	c.followDone = done
	// A store that followed before has missed changes since.
	reload := c.follows > 0
	c.follows++
	if !c.ackerUp {
		c.ackerUp = true
		go c.acker()
	}
	c.mu.Unlock()
	conn, err := c.connect(ctx, url)
	go func() {
		defer close(done)
		for {
			if err == nil {
				err = c.listen(ctx, conn, reload)
				conn.Close(context.Background())
			}
			c.freshUntil.Store(0)
			if ctx.Err() != nil {
				// Leaving: give up the lease, so that other nodes' writes
				// stop waiting for us at once rather than when it runs out.
				dctx, cancel := context.WithTimeout(context.Background(), time.Second)
				c.s.read.ExecContext(dctx, `DELETE FROM nodes WHERE id = $1`, c.id)
				cancel()
				return
			}
			slog.Warn("change feed: connection lost; reconnecting", "err", err)
			time.Sleep(time.Second)
			reload = true // we may have missed changes
			conn, err = c.connect(ctx, url)
		}
	}()
}

// connect opens the listening connection and takes the lease.
func (c *cluster) connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	// Named, so that an operator (or a test) can tell the feeds apart in
	// pg_stat_activity.
	cfg.RuntimeParams["application_name"] = "xc5 feed " + c.feed
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{c.feed}.Sanitize()+"; LISTEN "+pgx.Identifier{c.ack}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	// Leases that ended an hour ago belong to nodes long gone.
	conn.Exec(ctx, `DELETE FROM nodes WHERE lease_until < `+nowMillis+` - 3600000`)
	return conn, nil
}

// listen runs one connection's life: renewals, markers, changes, acks.
func (c *cluster) listen(ctx context.Context, conn *pgx.Conn, reload bool) error {
	if reload {
		c.s.deliver(resource.Change{}) // reload everything, before counting ourselves fresh
	}
	// Every connection starts the join grace again: other nodes may have
	// dropped us (a lease given up, or run out) while we were away.
	c.joinedAt = time.Time{}
	if err := c.renew(ctx, conn); err != nil {
		return err
	}
	next := time.Now().Add(renewEvery)
	for {
		wctx, cancel := context.WithDeadline(ctx, next)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil && (ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed()) {
			return err
		}
		if err == nil {
			c.handle(ctx, n)
		}
		if time.Now().After(next) {
			if err := c.renew(ctx, conn); err != nil {
				return err
			}
			next = time.Now().Add(renewEvery)
		}
	}
}

// renew extends the lease, sends a marker to ourselves and re-reads the
// peers. A node whose lease lapsed (others may have stopped waiting for
// it) starts its grace again.
func (c *cluster) renew(ctx context.Context, conn *pgx.Conn) error {
	sent, prev := time.Now(), c.leaseOK
	c.markerSeq++
	_, err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO nodes (id, lease_until) VALUES ('%s', %s + %d)
		ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until; SELECT pg_notify(%s, 'm|%s|%d')`,
		c.id, nowMillis, leaseMillis, quoteLiteral(c.feed), c.id, c.markerSeq))
	if err != nil {
		return err
	}
	// The previous lease ran until at least prev + the lease time; if
	// this renewal may have come later than that, other nodes may have
	// dropped us meanwhile: start the join grace again (from now, when
	// the lease is surely committed).
	if done := time.Now(); c.joinedAt.IsZero() || prev.IsZero() || done.Sub(prev) > leaseMillis*time.Millisecond-leaseMargin {
		c.joinedAt = done
	}
	c.leaseOK = sent
	c.markers[c.markerSeq] = sent
	if err := c.refreshPeers(ctx, conn); err != nil {
		return err
	}
	return c.checkDeparted(ctx, conn)
}

// checkDeparted reloads everything when a peer's lease ran out without
// the peer giving it up: a node that died may have committed a write it
// never announced (its NOTIFY comes after the commit), which no view
// would otherwise ever see. The write was never acknowledged, so serving
// the old state until now was right; keeping it for good would not be.
func (c *cluster) checkDeparted(ctx context.Context, conn *pgx.Conn) error {
	c.mu.Lock()
	now := c.peers
	c.mu.Unlock()
	var gone []string
	for id := range c.seen {
		if _, ok := now[id]; !ok {
			gone = append(gone, id)
		}
	}
	c.seen = now
	if len(gone) == 0 {
		return nil
	}
	var died int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE id = ANY($1)`, gone).Scan(&died); err != nil {
		return err
	}
	if died > 0 {
		slog.Warn("change feed: a node's lease ran out; reloading in case it committed a change it never announced", "nodes", gone)
		c.freshUntil.Store(0)
		c.s.deliver(resource.Change{})
	}
	return nil
}

// handle applies one notification.
func (c *cluster) handle(ctx context.Context, n *pgconn.Notification) {
	p := strings.Split(n.Payload, "|")
	switch {
	case n.Channel == c.ack && len(p) == 3 && p[0] == c.id:
		seq, _ := strconv.ParseUint(p[2], 10, 64)
		c.mu.Lock()
		if seq > c.acked[p[1]] {
			c.acked[p[1]] = seq
			c.broadcast()
		}
		c.mu.Unlock()
	case n.Channel != c.feed:
	case len(p) == 3 && p[0] == "m" && p[1] == c.id:
		k, _ := strconv.ParseUint(p[2], 10, 64)
		sent, ok := c.markers[k]
		if ok {
			c.lag.Store(int64(time.Since(sent)))
		}
		for m := range c.markers {
			if m <= k {
				delete(c.markers, m)
			}
		}
		if ok && !c.joinedAt.IsZero() && !sent.Before(c.joinedAt.Add(joinGrace)) {
			// Everything committed before sent is applied.
			c.freshUntil.Store(int64(sent.Add(leaseMillis*time.Millisecond - leaseMargin).Sub(c.epoch)))
		}
	case len(p) == 7 && p[0] == "c" && p[1] != c.id:
		seq, _ := strconv.ParseUint(p[2], 10, 64)
		asOf := c.s.w.settledTicket() // every local write ticketed so far is committed, so in the read
		c.s.deliverOrdered(c.s.changeFromFeed(ctx, p[3], p[4], p[5], p[6] == "1"), asOf, true)
		c.mu.Lock()
		c.acks[p[1]] = max(c.acks[p[1]], seq)
		if !c.closed {
			select {
			case c.ackWake <- struct{}{}:
			default:
			}
		}
		c.mu.Unlock()
	}
}

// changeFromFeed rebuilds another node's change, with the written record
// read back when it names one, so that views apply it without reloading
// the whole account.
func (s *Store) changeFromFeed(ctx context.Context, name, acct, guid string, deleted bool) resource.Change {
	ch := resource.Change{Account: acct, GUID: guid, Deleted: deleted, Remote: true}
	if name == "*" {
		return ch
	}
	ch.Resource = resource.ByName(name)
	if ch.Resource == nil || deleted || guid == "" {
		return ch
	}
	switch ch.Resource.Routing { // the records the view applies as they are
	case resource.RoutingAccount:
		if rec, err := account(ctx, s.reader(), "", guid); err == nil {
			ch.Record = &rec
		}
	case resource.RoutingRecord:
		if rec, err := get(ctx, s.reader(), "", ch.Resource, acct, guid); err == nil {
			ch.Record = &rec
		}
	}
	return ch
}

// closeFeed announces what was committed (waiting up to the lease time),
// then stops the sender and acker; waiters are released.
func (s *Store) closeFeed() {
	if s.d != postgresDialect {
		return
	}
	c := s.cl()
	c.mu.Lock()
	// Announce what was committed before closing: other nodes would
	// otherwise miss those changes until they reconnect.
	c.waitLocked(func() bool { return c.sent >= c.seq || c.closed }, time.Now().Add(leaseMillis*time.Millisecond))
	if !c.closed {
		c.closed = true
		c.broadcast()
		close(c.sendWake)
		close(c.ackWake)
	}
	c.mu.Unlock()
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// channelName qualifies a channel by the schema, within PostgreSQL's
// 63-byte limit on names.
func channelName(channel, schema string) string {
	n := channel + "." + schema
	if len(n) > 63 {
		n = n[:63]
	}
	return n
}
