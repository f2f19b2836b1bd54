package sqlstore

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"xc5/resource"
)

// Changes reach the in-memory views (the routing view, credential caches)
// in the order they were committed, per record. Writes that share a group
// commit are answered together, and their goroutines would otherwise
// deliver their records in whatever order they are scheduled: two PATCHes
// of one account at once could leave the view with the earlier one for
// good. So the writer numbers the writes it commits, in commit order (a
// ticket), and a record's change is applied only if no later ticket of
// the same record has been applied already.
//
// A change read back from the database (another node's, through the
// feed) is read only once every local write ticketed so far is committed,
// and counts as of the last of those tickets: all of them are in what it
// read. (A local write ticketed after the read began may still be applied
// over it; if another node wrote the record in between, that write's own
// announcement is read back later and puts the view right.)

// ticketKey carries, in a write's context, where the writer puts the
// write's ticket.
type ticketKey struct{}

// withTicket returns a context in which writes record their ticket in *t.
func withTicket(ctx context.Context, t *uint64) context.Context {
	return context.WithValue(ctx, ticketKey{}, t)
}

// orderStripes spreads records over locks: one record's changes are
// applied one at a time, different records' in parallel.
const orderStripes = 64

// orderForget is how long a record's last ticket is remembered (two to
// four times this, as two generations): the reordering it guards against
// spans microseconds to milliseconds, and at 10,000 creates a second a
// longer memory costs tens of MiB.
const orderForget = 2 * time.Second

type changeOrder struct {
	seed    maphash.Seed
	stripes [orderStripes]struct {
		sync.Mutex
		cur, prev map[string]uint64
		rotated   time.Time
	}
}

func newChangeOrder() *changeOrder {
	o := &changeOrder{seed: maphash.MakeSeed()}
	for i := range o.stripes {
		o.stripes[i].cur, o.stripes[i].prev = map[string]uint64{}, map[string]uint64{}
	}
	return o
}

// orderKey names the record a change is about, or "" for changes that
// carry no record (reloads), which are always applied.
func orderKey(c resource.Change) string {
	guid := c.GUID
	if guid == "" && c.Record != nil {
		guid = c.Record.GUID
	}
	if c.Resource == nil || guid == "" {
		return ""
	}
	return c.Resource.Stored().Name + "/" + guid // child is account: one table, one record
}

// deliverOrdered delivers c unless a later change of the same record was
// delivered already. ticket 0 means unknown: always delivered. read says
// c was read back from the database as of ticket, and so supersedes
// local writes up to and including it.
func (s *Store) deliverOrdered(c resource.Change, ticket uint64, read bool) {
	key := orderKey(c)
	if key == "" || ticket == 0 {
		s.deliver(c)
		return
	}
	st := &s.order.stripes[maphash.String(s.order.seed, key)%orderStripes]
	st.Lock()
	defer st.Unlock()
	if now := time.Now(); now.Sub(st.rotated) > orderForget {
		st.prev, st.cur, st.rotated = st.cur, map[string]uint64{}, now
	}
	last, ok := st.cur[key]
	if !ok {
		last = st.prev[key]
	}
	if last > ticket || (last == ticket && !read) {
		return // a later state of this record is applied already
	}
	st.cur[key] = ticket
	s.deliver(c)
}
