package sipserver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"xc5/sqlite"
)

// cdrQueue writes call detail records a little after their calls end,
// many at once: every CDRDelay it writes every queued record, in order, in
// one store write (one transaction, one fsync, each shared page written
// once) instead of one commit per call.
// A record was never written before the caller's final answer anyway (it
// needs the end of the call); the delay only widens the window a crash
// could lose, from the few milliseconds of one commit to CDRDelay.
type cdrQueue struct {
	store CallStore
	log   *slog.Logger
	mu    sync.Mutex
	queue []cdrRecord
	kick  chan struct{}
	// closed is set once run has ended: records of calls that end later
	// (a shutdown cancels ringing legs, whose calls end afterwards) are
	// written at once instead of queued for a flush that will not come.
	closed bool
}

type cdrRecord struct {
	account string
	vals    map[string]any
}

// maxQueuedCDRs starts a write before the delay is up, so that a burst
// does not build one huge transaction.
const maxQueuedCDRs = 256

func newCDRQueue(store CallStore, log *slog.Logger) *cdrQueue {
	return &cdrQueue{store: store, log: log, kick: make(chan struct{}, 1)}
}

func (q *cdrQueue) add(account string, vals map[string]any) {
	q.mu.Lock()
	q.queue = append(q.queue, cdrRecord{account, vals})
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

// flush writes what is queued and waits for it.
func (q *cdrQueue) flush() {
	q.mu.Lock()
	batch := q.queue
	q.queue = nil
	q.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if bs, ok := q.store.(cdrBatchStore); ok {
		recs := make([]sqlite.CDR, len(batch))
		for i, r := range batch {
			recs[i] = sqlite.CDR{Account: r.account, Values: r.vals}
		}
		if err := bs.AddCDRs(ctx, recs); err != nil {
			q.log.Error("writing call detail records failed", "records", len(recs), "err", err)
		}
		return
	}
	for _, r := range batch { // in order, so that records list in the order their calls ended
		if err := q.store.AddCDR(ctx, r.account, r.vals); err != nil {
			q.log.Error("writing a call detail record failed", "account", r.account, "err", err)
		}
	}
}

// cdrBatchStore is a store that writes many records in one commit:
// *sqlite.Store's AddCDRs.
type cdrBatchStore interface {
	AddCDRs(ctx context.Context, recs []sqlite.CDR) error
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
