package sipserver

import (
	"context"
	"sync"
	"time"

	"xc5/sqlite"
)

// extender is what a store offers for writing refreshes behind:
// *sqlite.Store's ExtendRegistrations.
type extender interface {
	ExtendRegistrations(ctx context.Context, ext []sqlite.Extension) error
}

// refresher writes the expiry of refreshed bindings behind, in one write
// per RefreshDelay, instead of one write per REGISTER. Only a refresh that
// changes nothing but the expiry of a binding that is stored and valid
// well beyond the next flush comes here (see handleRegister); new
// bindings, changed ones and removals are written before the 200. So the
// stored binding is always there and valid while its refresh waits, for
// this node's calls and for every other node alike; what a crash can lose
// is at most RefreshDelay of expiry extensions, after which the binding
// keeps the expiry of its previous REGISTER (Kamailio's usrloc db_mode 2
// loses every change of its timer_interval, 60 s by default).
type refresher struct {
	store   extender
	mu      sync.Mutex
	pending map[bindingKey]time.Time
}

type bindingKey struct{ account, contact string }

func newRefresher(store extender) *refresher {
	return &refresher{store: store, pending: map[bindingKey]time.Time{}}
}

// add queues a later expiry for a stored binding.
func (r *refresher) add(account, contact string, expires time.Time) {
	r.mu.Lock()
	k := bindingKey{account, contact}
	if expires.After(r.pending[k]) {
		r.pending[k] = expires
	}
	r.mu.Unlock()
}

// expiry is the queued expiry of a binding, zero if none.
func (r *refresher) expiry(account, contact string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending[bindingKey{account, contact}]
}

// drop forgets a queued refresh: the binding was just written through.
func (r *refresher) drop(account, contact string) {
	r.mu.Lock()
	delete(r.pending, bindingKey{account, contact})
	r.mu.Unlock()
}

// flush writes what is queued, in one store write. On failure the
// refreshes are queued again, unless a later one came meanwhile.
func (r *refresher) flush(ctx context.Context) error {
	r.mu.Lock()
	if len(r.pending) == 0 {
		r.mu.Unlock()
		return nil
	}
	batch := r.pending
	r.pending = map[bindingKey]time.Time{}
	r.mu.Unlock()
	ext := make([]sqlite.Extension, 0, len(batch))
	for k, exp := range batch {
		ext = append(ext, sqlite.Extension{Account: k.account, Contact: k.contact, Expires: exp})
	}
	err := r.store.ExtendRegistrations(ctx, ext)
	if err != nil {
		for k, exp := range batch {
			r.add(k.account, k.contact, exp)
		}
	}
	return err
}
