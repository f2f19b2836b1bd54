package sipserver

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"xc5/sqlite"
)

// trunkCache keeps the trunks in memory: every INVITE from an unknown
// address is matched against them. It reloads when the store reports a
// trunk write and at least every ttl (writes made on other nodes).
type trunkCache struct {
	store CallStore
	ttl   time.Duration
	log   *slog.Logger

	mu     sync.Mutex
	loaded time.Time
	valid  bool
	list   []trunkEntry
}

type trunkEntry struct {
	sqlite.Trunk
	nets []netip.Prefix
}

func newTrunkCache(store CallStore, ttl time.Duration, log *slog.Logger) *trunkCache {
	return &trunkCache{store: store, ttl: ttl, log: log}
}

func (tc *trunkCache) invalidate() {
	tc.mu.Lock()
	tc.valid = false
	tc.mu.Unlock()
}

// get returns the trunks, reloading them when stale; a failed reload keeps
// the previous list.
func (tc *trunkCache) get(ctx context.Context) []trunkEntry {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.valid && time.Since(tc.loaded) < tc.ttl {
		return tc.list
	}
	ts, err := tc.store.Trunks(ctx)
	if err != nil {
		tc.log.Error("loading trunks failed", "err", err)
		return tc.list
	}
	list := make([]trunkEntry, 0, len(ts))
	for _, t := range ts {
		e := trunkEntry{Trunk: t}
		for _, a := range strings.Split(t.Address, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			if p, err := netip.ParsePrefix(a); err == nil {
				e.nets = append(e.nets, p.Masked())
			} else if ip, err := netip.ParseAddr(a); err == nil {
				ip = ip.Unmap()
				e.nets = append(e.nets, netip.PrefixFrom(ip, ip.BitLen()))
			}
		}
		list = append(list, e)
	}
	tc.list, tc.loaded, tc.valid = list, time.Now(), true
	return list
}

// inbound returns the enabled trunk whose addresses hold ip, or nil.
func (tc *trunkCache) inbound(ctx context.Context, ip string) *sqlite.Trunk {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	addr = addr.Unmap()
	for _, e := range tc.get(ctx) {
		if !e.Enabled {
			continue
		}
		for _, n := range e.nets {
			if n.Contains(addr) {
				t := e.Trunk
				return &t
			}
		}
	}
	return nil
}

// outbound returns the trunk external calls go to: the enabled trunk with
// a proxy and the lowest priority, or nil.
func (tc *trunkCache) outbound(ctx context.Context) *sqlite.Trunk {
	for _, e := range tc.get(ctx) {
		if e.Enabled && e.Proxy != "" {
			t := e.Trunk
			return &t
		}
	}
	return nil
}
