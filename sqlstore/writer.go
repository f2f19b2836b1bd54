package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"xc5/internal/stat"
)

// runningBatches is how many connections may run batches at once (the
// rest are committing or idle). One gives the largest batches and the
// least work per write for the database; a second keeps a write from
// waiting a whole batch's round trips when the database is across a
// network, and measured as fast on the shared test machine.
const runningBatches = 2

// maxBatch bounds how many writes share one transaction, so that a burst
// cannot make one commit (and the callers waiting on it) arbitrarily slow.
const maxBatch = 256

// execer is what a write function may use: the writer's connection, inside
// the batch's transaction and the write's own savepoint.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type op struct {
	fn   func(ctx context.Context, tx execer) error
	done chan error
	// rerunnable says that fn may run again from the start when the
	// batch's transaction is undone: it sets its results afresh on every
	// run and keeps nothing from an earlier one. Such a write needs no
	// savepoint of its own (see run).
	rerunnable bool
	// bulk marks a write that may take long (an import): its batch is
	// not bounded in time (see pgBatchTimeout).
	bulk bool
	// ticket, when set, receives the write's place in commit order
	// (order.go).
	ticket *uint64
	// keepsRegs marks a write of the registrar's that keeps the
	// registration cache (regcache.go) itself; any other write runs
	// watched by regWatch.
	keepsRegs bool
	// lazySync marks a write that may commit without an fsync on SQLite
	// (the refreshes of live bindings, regbatch.go): a batch of only such
	// writes commits with synchronous=NORMAL.
	lazySync bool
}

// writer owns the writing connections and runs group commits: SQLite has
// one (it allows one writer at a time), PostgreSQL several, which take
// turns gathering the queued writes into a batch and commit in parallel.
// A connection found broken (PostgreSQL restarted, the network cut, the
// session terminated) is replaced by a new one from db on the next batch.
type writer struct {
	d    *dialect
	db   *sql.DB
	ops  chan *op
	quit chan struct{}
	dead chan struct{}
	wg   sync.WaitGroup
	// turns holds a token for each connection gathering and running a
	// batch, up to its COMMIT (see loop); at most runningBatches.
	turns chan struct{}
	// tickets numbers written writes in commit order (order.go);
	// committing holds the first ticket of each batch being committed.
	tmu        sync.Mutex
	tdone      *sync.Cond // on tmu: a batch finished committing
	tickets    uint64
	committing map[uint64]bool
	// catchUp asks the (SQLite) writer to finish the checkpointer's work
	// between two batches, so that its next write restarts the WAL
	// (Store.checkpointer says why).
	catchUp atomic.Bool
	// down is set while no new connection can be had, full while commits
	// fail for want of space: each episode is logged when it starts and
	// when it ends, not once per batch.
	down, full atomic.Bool
	// timeout bounds a batch (a time.Duration; 0: no bound).
	timeout atomic.Int64
	// forget empties db's idle connections after a lost session.
	forget idleForgetter
	// commitTimeout bounds a bounded batch's COMMIT (a time.Duration);
	// lockTimeout a write's wait for a row lock (PostgreSQL).
	commitTimeout, lockTimeout atomic.Int64
	// commitSeconds and batchSize describe the committed batches (from
	// BEGIN to a durable COMMIT), for the metrics endpoint.
	commitSeconds, batchSize *stat.Histogram
	// regs is the registration cache the writes must keep (SQLite; nil
	// on PostgreSQL).
	regs *regCache
}

func startWriter(d *dialect, db *sql.DB, conns []*sql.Conn) *writer {
	w := &writer{d: d, db: db, ops: make(chan *op, maxBatch), quit: make(chan struct{}), dead: make(chan struct{}), committing: map[uint64]bool{},
		turns:         make(chan struct{}, runningBatches),
		commitSeconds: stat.NewHistogram(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5),
		batchSize:     stat.NewHistogram(1, 2, 4, 8, 16, 32, 64, 128, 256)}
	w.tdone = sync.NewCond(&w.tmu)
	if d == postgresDialect {
		w.timeout.Store(int64(pgBatchTimeout))
	}
	w.commitTimeout.Store(int64(pgCommitTimeout))
	w.lockTimeout.Store(int64(pgLockTimeout))
	for _, c := range conns {
		w.wg.Add(1)
		go w.loop(c)
	}
	go func() { w.wg.Wait(); close(w.dead) }()
	return w
}

// do runs fn in a transaction shared with concurrent writes and returns
// once that transaction is durably committed (or fn's error). The
// request's context only bounds the wait: once queued, a write is never
// cancelled half way, so that it is either wholly done or not at all.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx execer) error) error {
	return w.submit(ctx, &op{fn: fn, done: make(chan error, 1)})
}

// doRerunnable is do for a write that may run more than once: fn must
// set its results (and every variable it shares with its caller) afresh
// on each run, since only the run whose transaction commits counts. In
// exchange it runs without a savepoint, two round trips fewer on
// PostgreSQL.
func (w *writer) doRerunnable(ctx context.Context, fn func(ctx context.Context, tx execer) error) error {
	return w.submit(ctx, &op{fn: fn, done: make(chan error, 1), rerunnable: true})
}

// doBulk is do for a write that may take long (an import, a seed): one
// transaction of its own as any, but with no bound on its time.
func (w *writer) doBulk(ctx context.Context, fn func(ctx context.Context, tx execer) error) error {
	return w.submit(ctx, &op{fn: fn, done: make(chan error, 1), bulk: true})
}

// doRegs is do for a write of the registrar's that keeps the
// registration cache itself (regcache.go).
func (w *writer) doRegs(ctx context.Context, fn func(ctx context.Context, tx execer) error) error {
	return w.submit(ctx, &op{fn: fn, done: make(chan error, 1), keepsRegs: true})
}

// doRegsLazy is doRegs for the refreshes of live bindings, whose batch
// may commit without an fsync (writer.syncFor).
func (w *writer) doRegsLazy(ctx context.Context, fn func(ctx context.Context, tx execer) error) error {
	return w.submit(ctx, &op{fn: fn, done: make(chan error, 1), keepsRegs: true, lazySync: true})
}

func (w *writer) submit(ctx context.Context, o *op) error {
	o.ticket, _ = ctx.Value(ticketKey{}).(*uint64)
	o.fn = wrapTrail(ctx, o.fn)
	if w.regs != nil && !o.keepsRegs {
		fn, c := o.fn, w.regs
		o.fn = func(ctx context.Context, q execer) error { return fn(ctx, regWatch{q, c}) }
	}
	select {
	case w.ops <- o:
	case <-w.dead:
		return errClosed
	case <-ctx.Done():
		// Every writer is busy past the request's time: for the client
		// the database is not answering, which is what 503 says.
		return fmt.Errorf("%w: waiting for a writer: %w", errBusy, ctx.Err())
	}
	select {
	case err := <-o.done:
		return err
	case <-w.dead:
		// Every loop has ended, so o was either answered or never taken.
		select {
		case err := <-o.done:
			return err
		default:
			return errClosed
		}
	}
}

// stop ends the loops, which close their connections.
func (w *writer) stop() {
	close(w.quit)
	<-w.dead
}

func (w *writer) loop(conn *sql.Conn) {
	defer w.wg.Done()
	c := w.attach(conn)
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for {
		// At most runningBatches connections at a time gather and run a
		// batch; the others meanwhile wait for their COMMITs (the WAL
		// flush) or for a turn. Writes that arrive while batches run so
		// queue up for the next one instead of each taking an idle
		// connection for itself: with eight connections each grabbing the
		// first write that came, batches were of one write, and every
		// create paid a BEGIN and a COMMIT of its own.
		w.turns <- struct{}{}
		var first *op
		select {
		case first = <-w.ops:
		case <-w.quit:
			<-w.turns
			return
		}
		batch := []*op{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case o := <-w.ops:
				batch = append(batch, o)
			default:
				break drain
			}
		}
		if c = w.runBatch(c, batch); c == nil {
			continue // broken; replaced when the next batch begins
		}
		if w.catchUp.Swap(false) {
			if _, err := c.q.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
				slog.Warn("wal checkpoint", "err", err)
			}
		}
	}
}

// runBatch runs and commits one batch on c, or on a new connection when
// c is nil or broken, and returns the connection for the next batch (nil
// when it broke). It gives the writer's turn back once the batch has run,
// before its COMMIT.
func (w *writer) runBatch(c *wconn, batch []*op) *wconn {
	ctx, cancel := context.Background(), func() {}
	bulk := slices.ContainsFunc(batch, func(o *op) bool { return o.bulk })
	bounded := w.timeout.Load() > 0 && !bulk
	if bounded {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(w.timeout.Load()))
	}
	defer cancel()
	var err error
	began := time.Now()
	if err = w.syncFor(ctx, c, batch); err == nil {
		c, err = w.begin(ctx, c, bulk)
	}
	if err != nil {
		<-w.turns
		for _, o := range batch {
			o.done <- err
		}
		return c
	}
	results, ok := w.run(ctx, c, batch)
	<-w.turns
	if ok {
		// The COMMIT has a watchdog of its own: once sent, it may be
		// waiting on a synchronous standby having committed locally, and
		// giving it up answers "unknown" for a write that is done.
		cctx, ccancel := context.Background(), func() {}
		if bounded {
			cctx, ccancel = context.WithTimeout(cctx, time.Duration(w.commitTimeout.Load()))
		}
		w.commit(cctx, c, batch, results, began)
		ccancel()
	}
	if w.broken(c.conn) {
		c.close()
		return nil
	}
	return c
}

// run executes one batch in one transaction, up to its COMMIT, which
// is left to commit. It returns each write's result, or false when it
// has already answered every write (the transaction failed as a whole,
// or the batch's only write failed and was rolled back).
//
// Rerunnable writes run without savepoints: on PostgreSQL a SAVEPOINT
// and its RELEASE are a round trip each, two more than a number create
// itself once its checks are folded into its INSERT, and every savepoint of a
// writing batch holds a subtransaction ID (past 64 of them each other
// session's snapshots get slower). A write that fails without having
// written anything, in a transaction still usable, is simply answered
// with its error. One that fails after writing (or that left PostgreSQL's
// transaction aborted) cannot be undone alone: then the run of
// savepoint-free writes it belongs to is rolled back and run again, each
// write in its own savepoint, as every write other than a rerunnable one
// always is. Either way each caller sees its write wholly committed or
// wholly absent, as if it had had a transaction of its own.
func (w *writer) run(ctx context.Context, c *wconn, batch []*op) ([]error, bool) {
	conn, q := c.conn, c.q
	fail := func(err error) {
		err = w.failed(conn, err)
		for _, o := range batch {
			o.done <- err
		}
	}
	results := make([]error, len(batch))
	if len(batch) == 1 {
		// Alone in its transaction, a write needs no savepoint: a failure
		// rolls the whole transaction back. Two round trips fewer.
		if results[0] = runAlone(ctx, q, batch[0]); results[0] != nil {
			q.ExecContext(ctx, "ROLLBACK")
			batch[0].done <- w.failed(conn, results[0])
			return nil, false
		}
	} else {
		seg := 0     // the first write of the current run of savepoint-free writes
		bare := true // false once such a run had to be undone: the rest take savepoints
		for i, o := range batch {
			if !bare || !o.rerunnable {
				results[i] = w.runOne(ctx, conn, q, o)
				seg = i + 1
				continue
			}
			if i == seg && seg > 0 {
				// Mark the start of the run, so that undoing it keeps
				// the writes before it. (At the start of the batch the
				// transaction's start is the mark.)
				if _, err := q.ExecContext(ctx, "SAVEPOINT s"); err != nil {
					bare = false
					results[i] = w.runOne(ctx, conn, q, o)
					seg = i + 1
					continue
				}
			}
			clean, err := runBare(ctx, q, o)
			if (err == nil || clean) && w.usable(conn) {
				results[i] = err
				continue
			}
			// Undo the run, then redo its writes each in a savepoint.
			if err := w.undoRun(ctx, c, seg); err != nil {
				slog.Error("group commit: undoing a failed write failed", "err", err, "writes", len(batch))
				q.ExecContext(ctx, "ROLLBACK")
				fail(err)
				return nil, false
			}
			bare = false
			for j := seg; j <= i; j++ {
				results[j] = w.runOne(ctx, conn, q, batch[j])
			}
		}
	}
	if w.broken(conn) {
		// The connection broke under the batch: whatever each write
		// reported, none of it is committed.
		fail(errUnreachable)
		return nil, false
	}
	if !w.usable(conn) {
		// A write swallowed the error of a statement that aborted the
		// transaction. PostgreSQL would answer the COMMIT with a silent
		// rollback, and every write of the batch would be acknowledged
		// but lost.
		slog.Error("group commit: the transaction was aborted by a write that reported success", "writes", len(batch))
		q.ExecContext(ctx, "ROLLBACK")
		fail(errAborted)
		return nil, false
	}
	return results, true
}

// commit commits the batch that run left open and answers its writes:
// each with its own result once the COMMIT is durable, or all with the
// COMMIT's error. It reports whether the COMMIT succeeded. A committed
// batch shows in the commit histograms (from began) before any of its
// writers is answered, so a writer that returned is counted.
func (w *writer) commit(ctx context.Context, c *wconn, batch []*op, results []error, began time.Time) bool {
	q := c.q
	// Tickets are taken before the COMMIT, while the batch still holds its
	// row locks: a later batch writing the same rows waits for this
	// COMMIT, so it can only take its tickets after these. (Taken after
	// the COMMIT returned, two PostgreSQL batches could take them in the
	// wrong order.)
	first := w.takeTickets(len(batch))
	defer w.committed(first)
	if _, err := q.ExecContext(ctx, "COMMIT"); err != nil {
		if !storageFull(err) || !w.full.Swap(true) {
			slog.Error("group commit failed", "err", err, "writes", len(batch))
		}
		q.ExecContext(ctx, "ROLLBACK")
		if commitUnanswered(w.d, err) {
			err = fmt.Errorf("%w: commit: %w", errOutcomeUnknown, err)
		} else {
			err = w.failed(c.conn, fmt.Errorf("commit: %w", err))
		}
		for _, o := range batch {
			o.done <- err
		}
		return false
	}
	if w.full.Swap(false) {
		slog.Warn("group commit: writes commit again")
	}
	w.commitSeconds.Observe(time.Since(began).Seconds())
	w.batchSize.Observe(float64(len(batch)))
	for i, o := range batch {
		if o.ticket != nil && results[i] == nil {
			*o.ticket = first + uint64(i)
		}
		o.done <- storeErr(results[i])
	}
	return true
}

// takeTickets numbers n writes about to be committed.
func (w *writer) takeTickets(n int) uint64 {
	w.tmu.Lock()
	defer w.tmu.Unlock()
	first := w.tickets + 1
	w.tickets += uint64(n)
	w.committing[first] = true
	return first
}

// committed marks the batch whose tickets start at first as done.
func (w *writer) committed(first uint64) {
	w.tmu.Lock()
	delete(w.committing, first)
	w.tdone.Broadcast()
	w.tmu.Unlock()
}

// settledTicket returns the last ticket taken, once every write up to it
// is committed (or failed): a read that starts then sees all of them.
// The wait is for the commits already under way, a few milliseconds.
func (w *writer) settledTicket() uint64 {
	w.tmu.Lock()
	defer w.tmu.Unlock()
	t := w.tickets
	for w.committingUpTo(t) {
		w.tdone.Wait()
	}
	return t
}

// committingUpTo reports whether a batch holding tickets up to t is still
// committing; tmu is held.
func (w *writer) committingUpTo(t uint64) bool {
	for first := range w.committing {
		if first <= t {
			return true
		}
	}
	return false
}
