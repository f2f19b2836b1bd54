package sqlstore

import (
	"context"
	"sort"
	"sync"

	"xc5"
)

// regPut is one PutRegistration waiting for its batch.
type regPut struct {
	account, contact, expires, ua, source, at string
	max                                       int           // ContactCap.Max
	now                                       string        // ContactCap.Now
	bindings                                  []xc5.Binding // live after the write, set before done
	done                                      chan error
}

// maxRegBatch bounds the registrations in one write, so that one commit
// (and the REGISTERs waiting on it) cannot grow without end.
const maxRegBatch = 2048

// regBatcher gathers the registrations that arrive while a batch of them
// is being written; the next batch takes all of them at once. At most one
// batch per store is in the writer at a time, which is what lets batches
// grow with the load.
type regBatcher struct {
	mu      sync.Mutex
	pending []*regPut
	busy    bool // a drain goroutine is running
}

// drain writes batches until nothing is pending. On SQLite with
// SetLazyRefreshes a batch is written in two parts: first the refreshes
// of bindings the registration cache knows live, committed without
// waiting for the disk (writeRefreshes), then the rest (new bindings,
// expired ones, anything the cache does not know), committed durably.
func (b *regBatcher) drain(s *Store) {
	for {
		b.mu.Lock()
		batch := b.pending
		if len(batch) > maxRegBatch {
			batch = batch[:maxRegBatch:maxRegBatch]
		}
		b.pending = b.pending[len(batch):]
		if len(batch) == 0 {
			b.pending = nil
			b.busy = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		if s.d == postgresDialect {
			// Capped puts lock their account's row: in account order, two
			// nodes' batches cannot wait on each other's locks.
			sort.SliceStable(batch, func(i, j int) bool { return batch[i].account < batch[j].account })
		}
		refreshes, rest := []*regPut(nil), batch
		if s.lazyRefreshes.Load() {
			refreshes, rest = s.w.regs.split(batch)
		}
		if len(refreshes) > 0 {
			rest = append(rest, s.writeRefreshes(refreshes)...)
		}
		if len(rest) > 0 {
			s.writeRegistrations(rest)
		}
	}
}

// SetLazyRefreshes lets a SQLite store commit the refreshes of live
// bindings without an fsync (synchronous=NORMAL): a process crash loses
// none, a power loss or kernel crash at most those of the last second or
// so (until the next durable commit or the checkpointer syncs the WAL).
// Off by default: the registrar's documented promise is that every
// binding a 200 names is on disk (docs/sip.md, "How bindings are
// written"). It does nothing on PostgreSQL.
func (s *Store) SetLazyRefreshes(on bool) { s.lazyRefreshes.Store(on && s.w.regs != nil) }

// writeRegistrations writes batch in one store write, each binding the
// long way (upsertRegistration), and answers its puts.
func (s *Store) writeRegistrations(batch []*regPut) {
	errs := make([]error, len(batch))
	var st *regStage
	err := s.w.doRegs(context.Background(), func(ctx context.Context, q execer) error {
		st = s.w.regs.stage(ctx, q)
		// Whether any webhook exists is asked once per batch, not once
		// per new binding: one statement fewer each, on most systems.
		hooks := anyHooks(ctx, q)
		for i, p := range batch {
			errs[i] = s.upsertRegistration(ctx, q, p, hooks, st)
		}
		return nil
	})
	st.settle(err == nil)
	for i, p := range batch {
		if err != nil {
			p.done <- err
		} else {
			p.done <- errs[i]
		}
	}
}

// writeRefreshes writes the refreshes of live bindings the registration
// cache knows (SQLite) in one store write committed without an fsync
// (synchronous=NORMAL; docs/sip.md, "The registrar's store"), and answers
// their puts. It returns those it could not write so (the cache dropped
// their account meanwhile), unwritten, for a durable write: only a live
// binding's refresh is ever committed without waiting for the disk.
func (s *Store) writeRefreshes(batch []*regPut) (later []*regPut) {
	done := make([]bool, len(batch))
	var st *regStage
	err := s.w.doRegsLazy(context.Background(), func(ctx context.Context, q execer) error {
		st = s.w.regs.stage(ctx, q)
		for i, p := range batch {
			done[i] = refreshCached(ctx, q, p, st)
		}
		return nil
	})
	st.settle(err == nil)
	for i, p := range batch {
		switch {
		case err != nil:
			p.done <- err
		case done[i]:
			p.done <- nil
		default:
			later = append(later, p)
		}
	}
	return later
}
