package sipserver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"xc5"
	"xc5/resource"
)

// cdrQueue writes call detail records a little after their calls end,
// many at once: every CDRDelay it writes every queued record, in order, in
// one store write (one transaction, one fsync, each shared page written
// once) instead of one commit per call.
// A record was never written before the caller's final answer anyway (it
// needs the end of the call); the delay only widens the window a crash
// could lose, from the few milliseconds of one commit to CDRDelay.
type cdrQueue struct {
	store xc5.CDRStore
	log   *slog.Logger
	mu    sync.Mutex
	queue []cdrRecord
	kick  chan struct{}
	// closed is set once run has ended: records of calls that end later
	// (a shutdown cancels ringing legs, whose calls end afterwards) are
	// written at once instead of queued for a flush that will not come.
	closed bool
	// While the database is unavailable the records stay queued (at most
	// maxHeldCDRs, the oldest dropped past that) and flushes wait until
	// retryAt, backoff doubling while writes keep failing.
	retryAt time.Time
	backoff time.Duration
	dropped int
}

type cdrRecord struct {
	event   string // a webhook event's type (xc5.CDR.Event), "" for a record
	account string
	vals    map[string]any
	guid    string // chosen once, so that a retry cannot write it twice
	retry   bool   // a write of it failed: it may be in the database already
}

// maxHeldCDRs bounds the records kept while the database is unavailable:
// about an hour of 25 calls a second, a few hundred bytes each.
const maxHeldCDRs = 100000

// cdrRetry is the first wait after a failed write; it doubles up to
// cdrRetryMax while the database stays away.
const (
	cdrRetry    = 500 * time.Millisecond
	cdrRetryMax = 30 * time.Second
)

// maxQueuedCDRs starts a write before the delay is up, so that a burst
// does not build one huge transaction.
const maxQueuedCDRs = 256

func newCDRQueue(store xc5.CDRStore, log *slog.Logger) *cdrQueue {
	return &cdrQueue{store: store, log: log, kick: make(chan struct{}, 1)}
}

func (q *cdrQueue) add(account string, vals map[string]any) {
	q.push(cdrRecord{account: account, vals: vals, guid: resource.NewGUID()})
}

// event queues a webhook event of typ about a call for account, in order
// with the records (a call's call.started before its call.ended).
func (q *cdrQueue) event(account, typ string, call map[string]any) {
	q.push(cdrRecord{event: typ, account: account, vals: call, guid: resource.NewGUID()})
}

func (q *cdrQueue) push(r cdrRecord) {
	q.mu.Lock()
	q.queue = append(q.queue, r)
	full := len(q.queue) >= maxQueuedCDRs
	closed := q.closed
	q.mu.Unlock()
	if closed {
		q.flush()
		return
	}
	if full {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

// flush writes what is queued, a write of at most maxFlushCDRs at a
// time, and waits for it. When the database is unavailable the records
// go back to the front of the queue for a later flush.
func (q *cdrQueue) flush() {
	for {
		q.mu.Lock()
		if !q.closed && time.Now().Before(q.retryAt) {
			q.mu.Unlock()
			return
		}
		n := min(len(q.queue), maxFlushCDRs)
		batch := q.queue[:n:n]
		q.queue = q.queue[n:]
		if len(q.queue) == 0 {
			q.queue = nil
		}
		q.mu.Unlock()
		if len(batch) == 0 || !q.write(batch) {
			return
		}
	}
}

// maxFlushCDRs bounds one write of the queue (after an outage it may hold
// many records).
const maxFlushCDRs = 4 * maxQueuedCDRs

// write writes batch in one store write; it reports false when the batch
// was requeued for later.
func (q *cdrQueue) write(batch []cdrRecord) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs := make([]xc5.CDR, len(batch))
	for i, r := range batch { // in order, so that records list in the order their calls ended
		recs[i] = xc5.CDR{Account: r.account, Values: r.vals, GUID: r.guid, Retry: r.retry, Event: r.event}
	}
	err := q.store.AddCDRs(ctx, recs)
	if unavailable(err) {
		q.requeue(batch, err)
		return false
	}
	if err != nil {
		q.log.Error("writing call detail records failed", "records", len(recs), "err", err)
	}
	q.recovered()
	return true
}

// requeue puts a batch the database could not take back at the front of
// the queue, marked as retries, and backs the next flush off.
func (q *cdrQueue) requeue(batch []cdrRecord, err error) {
	for i := range batch {
		batch[i].retry = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = append(batch, q.queue...)
	if over := len(q.queue) - maxHeldCDRs; over > 0 {
		q.queue = q.queue[over:]
		q.dropped += over
		q.log.Error("call detail records dropped: too many wait for the database", "dropped", over, "held", len(q.queue))
	}
	q.backoff = min(max(2*q.backoff, cdrRetry), cdrRetryMax)
	q.retryAt = time.Now().Add(q.backoff)
	if q.backoff == cdrRetry {
		q.log.Warn("call detail records held until the database is back", "err", err)
	}
}

// recovered ends a back-off once a write went through.
func (q *cdrQueue) recovered() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.backoff > 0 {
		q.log.Info("call detail records written again", "held", len(q.queue), "dropped", q.dropped)
	}
	q.backoff, q.retryAt, q.dropped = 0, time.Time{}, 0
}

// run flushes every delay until ctx ends, and once more then.
func (q *cdrQueue) run(ctx context.Context, delay time.Duration) {
	t := time.NewTicker(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			q.mu.Lock()
			q.closed = true
			q.mu.Unlock()
			q.flush()
			return
		case <-t.C:
		case <-q.kick:
		}
		q.flush()
	}
}
