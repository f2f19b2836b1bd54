package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

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
	// lag is how long the last marker took to come back through the
	// feed (a time.Duration): how far behind the feed runs.
	lag atomic.Int64
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
