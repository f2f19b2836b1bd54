package sipserver

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// cdrQueue writes call detail records a little after their calls end,
// many at once: every CDRDelay it hands every queued record to the store
// together, so that the store's group commit puts them in one transaction
// (one fsync and one write of each shared page) instead of one per call.
// A record was never written before the caller's final answer anyway (it
// needs the end of the call); the delay only widens the window a crash
// could lose, from the few milliseconds of one commit to CDRDelay.
type cdrQueue struct {
	store CallStore
	log   *slog.Logger
	mu    sync.Mutex
	queue []cdrRecord
	kick  chan struct{}
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
	q.mu.Unlock()
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
	var wg sync.WaitGroup
	for _, r := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.store.AddCDR(ctx, r.account, r.vals); err != nil {
				q.log.Error("writing a call detail record failed", "account", r.account, "err", err)
			}
		}()
	}
	wg.Wait()
}

// run flushes every delay until ctx ends, and once more then.
func (q *cdrQueue) run(ctx context.Context, delay time.Duration) {
	t := time.NewTicker(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			q.flush()
			return
		case <-t.C:
		case <-q.kick:
		}
		q.flush()
	}
}
