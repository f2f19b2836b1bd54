package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"xc5/resource"
)

// The change feed and the read fence between nodes sharing a PostgreSQL
// database (docs/cluster.md has the reasoning in full):
//
//   - every committed change is announced with NOTIFY on feedChannel,
//     carrying the writing node's sequence number for it; every node
//     LISTENs, applies other nodes' changes to its in-memory views and
//     confirms each with a NOTIFY on ackChannel;
//   - every node holds a lease in the nodes table, renewed over its
//     listening connection together with a marker NOTIFY to itself. Since
//     notifications arrive in commit order, receiving its own marker tells
//     a node it has applied everything committed before the marker was
//     sent; it then counts itself fresh until that send time plus the
//     lease, less a margin;
//   - a write is acknowledged once its announcement is sent and every
//     other node holding a lease has confirmed it, or has lost its lease,
//     or the lease time has passed since the announcement (by then a node
//     that has not applied it has stopped counting itself fresh).
//
// A fresh node may therefore answer reads from memory (the API's account
// GETs, cached credentials), and a write acknowledged by one node is read
// through any other at once, as if there were one node.
//
// The channels are named after the store's schema, since LISTEN and
// NOTIFY span the whole database and installations (or tests) in other
// schemas must not hear each other.
const (
	feedChannel = "xc5_changes"
	ackChannel  = "xc5_acks"
)

// The fence's timing. A node that dies holds up writes on the others for
// at most about leaseMillis.
const (
	leaseMillis = 2000                   // how long a renewal keeps a node counted as live
	renewEvery  = 250 * time.Millisecond // renewal (and marker) period
	leaseMargin = 250 * time.Millisecond // a node stops trusting itself this long before its lease ends
	peersStale  = 500 * time.Millisecond // a peer list older than this is re-read before a write waits on it
	// joinGrace is how long after taking its lease a node waits before
	// counting itself fresh: long enough that every other node's peer
	// list names it, so their writes wait for it.
	joinGrace = time.Second
)

// nowMillis is the database's clock, in unix milliseconds: leases are
// compared by one clock whichever node reads them.
const nowMillis = `(extract(epoch from clock_timestamp())*1000)::bigint`

// cluster is one node's side of the feed and the fence.
type cluster struct {
	s  *Store
	id string // this node, in notifications and the nodes table
	// feed and ack are the channel names, feedChannel and ackChannel
	// qualified by the schema.
	feed, ack string
	// epoch anchors the monotonic durations kept in atomics.
	epoch time.Time

	mu       sync.Mutex
	wake     chan struct{} // closed and replaced whenever sent, acked or peers change
	seq      uint64        // the last change this node announced
	sent     uint64        // the last change whose NOTIFY is committed
	queue    []string      // announcements waiting for the sender
	closed   bool
	acked    map[string]uint64   // peer -> the last of our changes it applied
	peers    map[string]struct{} // peers holding a lease, as of peersAt
	peersAt  time.Time
	acks     map[string]uint64 // origin -> the last of its changes we applied, to confirm
	senderUp bool
	ackerUp  bool
	// followDone is closed when the current Follow's goroutine ends;
	// follows counts the Follow calls.
	followDone chan struct{}
	follows    int
	sendWake   chan struct{}
	ackWake    chan struct{}

	// Listener state (its goroutine only, but for freshUntil).
	joinedAt   time.Time
	leaseOK    time.Time // send time of the last successful renewal
	markerSeq  uint64
	markers    map[uint64]time.Time
	seen       map[string]struct{} // the peers as of the last renewal
	freshUntil atomic.Int64        // since epoch; 0 = not fresh
}

func newNodeID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// cl returns the store's cluster state, made on first use.
func (s *Store) cl() *cluster {
	s.clOnce.Do(func() {
		s.clu = &cluster{s: s, id: newNodeID(), epoch: time.Now(), wake: make(chan struct{}),
			feed: channelName(feedChannel, s.schema), ack: channelName(ackChannel, s.schema),
			acked: map[string]uint64{}, peers: map[string]struct{}{}, acks: map[string]uint64{},
			sendWake: make(chan struct{}, 1), ackWake: make(chan struct{}, 1), markers: map[uint64]time.Time{}}
	})
	return s.clu
}

// broadcast wakes every waiter; c.mu is held.
func (c *cluster) broadcast() {
	close(c.wake)
	c.wake = make(chan struct{})
}

// announce queues a committed change for the other nodes and returns its
// sequence number (0 when there is no feed: SQLite, or a closed store).
func (s *Store) announce(ch resource.Change) uint64 {
	if s.d != postgresDialect {
		return 0
	}
	c := s.cl()
	name, guid, del := "*", ch.GUID, "0"
	if ch.Resource != nil {
		name = ch.Resource.Name
	}
	if guid == "" && ch.Record != nil {
		guid = ch.Record.GUID
	}
	if ch.Deleted {
		del = "1"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0
	}
	c.seq++
	c.queue = append(c.queue, strings.Join([]string{"c", c.id, strconv.FormatUint(c.seq, 10), name, ch.Account, guid, del}, "|"))
	if !c.senderUp {
		c.senderUp = true
		go c.sender()
	}
	select {
	case c.sendWake <- struct{}{}:
	default:
	}
	return c.seq
}

// settle returns once the change seq may be acknowledged: its NOTIFY is
// committed, and every other node holding a lease has applied it (or lost
// the lease, or the lease time has passed since).
func (s *Store) settle(seq uint64) {
	if seq == 0 {
		return
	}
	c := s.cl()
	c.mu.Lock()
	c.waitLocked(func() bool { return c.sent >= seq || c.closed }, time.Time{})
	if c.follows == 0 || c.closed {
		// A store that never followed the feed (a command such as
		// import) takes no part in the fence; its changes still reach
		// the nodes.
		c.mu.Unlock()
		return
	}
	// A node that has stopped following can no longer hear confirmations:
	// its writes then wait out the lease time for each peer, which is
	// slow but never acknowledges a write a fresh peer has not applied.
	deadline := time.Now().Add(leaseMillis * time.Millisecond)
	if time.Since(c.peersAt) > peersStale {
		c.mu.Unlock()
		err := c.refreshPeers(context.Background(), nil)
		c.mu.Lock()
		if err != nil && time.Since(c.peersAt) > peersStale {
			// We cannot tell which nodes hold a lease (one may have
			// joined): wait out the lease time, after which any node that
			// has not applied this change has stopped trusting itself.
			slog.Warn("change feed: cannot read the nodes; waiting out the lease", "err", err)
			c.mu.Unlock()
			time.Sleep(time.Until(deadline))
			return
		}
	}
	waiting := ""
	confirmed := c.waitLocked(func() bool {
		waiting = ""
		for p := range c.peers {
			if c.acked[p] < seq {
				waiting = p
				return c.closed
			}
		}
		return true
	}, deadline)
	c.mu.Unlock()
	if !confirmed {
		slog.Warn("change feed: a node did not confirm a change within its lease; acknowledging", "node", waiting, "seq", seq)
	}
}

// waitLocked waits, with c.mu held, until done reports true or the
// deadline passes (a zero deadline: no limit), and returns done's last
// answer. done is called with c.mu held, after every wake-up.
func (c *cluster) waitLocked(done func() bool, deadline time.Time) bool {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	for !done() {
		w := c.wake
		c.mu.Unlock()
		select {
		case <-w:
			c.mu.Lock()
		case <-timeout:
			c.mu.Lock()
			return done()
		}
	}
	return true
}

// sender sends the queued announcements in order, many in one statement.
func (c *cluster) sender() {
	for range c.sendWake {
		for {
			c.mu.Lock()
			batch := c.queue
			if len(batch) > 100 {
				batch = batch[:100]
			}
			c.queue = c.queue[len(batch):]
			last := c.sent + uint64(len(batch))
			closed := c.closed
			c.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			// Never counted as sent unless it was: a write acknowledged
			// after a lost announcement would leave fresh peers stale.
			// So a failing database holds writes up here, retried, until
			// it answers again or the store closes.
			for wait := 50 * time.Millisecond; !closed; wait = min(2*wait, time.Second) {
				err := c.notify(c.feed, batch)
				if err == nil {
					break
				}
				slog.Error("change feed: notify failed; writes wait until it succeeds", "err", err, "count", len(batch))
				time.Sleep(wait)
				c.mu.Lock()
				closed = c.closed
				c.mu.Unlock()
			}
			c.mu.Lock()
			c.sent = last
			c.broadcast()
			c.mu.Unlock()
		}
	}
}

// notify sends payloads on channel in one statement.
func (c *cluster) notify(channel string, payloads []string) error {
	var q strings.Builder
	args := []any{channel}
	q.WriteString("SELECT ")
	for i, p := range payloads {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "pg_notify($1, $%d)", i+2)
		args = append(args, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.s.read.ExecContext(ctx, q.String(), args...)
	return err
}

// acker confirms applied changes to the nodes that made them, the latest
// per node only.
func (c *cluster) acker() {
	for range c.ackWake {
		c.mu.Lock()
		acks := c.acks
		c.acks = map[string]uint64{}
		closed := c.closed
		c.mu.Unlock()
		if closed || len(acks) == 0 {
			continue
		}
		payloads := make([]string, 0, len(acks))
		for origin, seq := range acks {
			payloads = append(payloads, origin+"|"+c.id+"|"+strconv.FormatUint(seq, 10))
		}
		if err := c.notify(c.ack, payloads); err != nil {
			// The writers wait out the lease time instead; the changes
			// are applied here either way.
			slog.Warn("change feed: confirmation failed", "err", err)
		}
	}
}

// refreshPeers reads which other nodes hold a lease, through conn or,
// when nil, the store's pool.
func (c *cluster) refreshPeers(ctx context.Context, conn *pgx.Conn) error {
	at := time.Now()
	q := `SELECT id FROM nodes WHERE lease_until > ` + nowMillis + ` AND id <> $1`
	var rows interface {
		Next() bool
		Scan(...any) error
		Err() error
	}
	if conn != nil {
		r, err := conn.Query(ctx, q, c.id)
		if err != nil {
			return err
		}
		defer r.Close()
		rows = r
	} else {
		r, err := c.s.read.QueryContext(ctx, q, c.id)
		if err != nil {
			return err
		}
		defer r.Close()
		rows = r
	}
	peers := map[string]struct{}{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		peers[id] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if at.After(c.peersAt) { // an older read finishing late must not undo a newer one
		c.peers, c.peersAt = peers, at
		c.broadcast()
	}
	c.mu.Unlock()
	return nil
}

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
	ch := resource.Change{Account: acct, GUID: guid, Deleted: deleted}
	if name == "*" {
		return ch
	}
	ch.Resource = resource.ByName(name)
	if ch.Resource == nil || deleted || guid == "" {
		return ch
	}
	switch ch.Resource {
	case resource.Account, resource.Child:
		if rec, err := account(ctx, s.reader(), "", guid); err == nil {
			ch.Record = &rec
		}
	case resource.Number, resource.Route, resource.CallRule, resource.Fork, resource.Prompt:
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
