package sipserver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"io"
	"sync"
	"time"

	"xc5/ratelimit"
)

// nonces makes and checks stateless nonces: an issue time, 8 random bytes
// and an HMAC over both, the realm and the source address it was sent to
// (as ratelimit.AddrKey counts it), so that any node holding the key can
// check a nonce without having stored it, and an answer from an address
// the challenge was not sent to is known forged before anything is
// counted (Kamailio's auth_checks with the source IP).
type nonces struct {
	key  []byte
	ttl  time.Duration
	macs sync.Pool // hash.Hash: keyed HMAC-SHA256s, reset and reused
}

// nonceID identifies a nonce in the replay guard: its time and random part.
type nonceID [16]byte

const nonceRaw = 32 // 8 time + 8 random + 16 MAC

// mac is the nonce's signature. The keyed HMACs are pooled: making one
// per call (three per registration) was a dozen allocations and two extra
// SHA-256 blocks each.
func (n *nonces) mac(id []byte, realm, addr string) [16]byte {
	m, _ := n.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, n.key)
	}
	m.Reset()
	m.Write(id)
	io.WriteString(m, realm)
	m.Write([]byte{0})
	io.WriteString(m, ratelimit.AddrKey(addr))
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	n.macs.Put(m)
	return [16]byte(sum[:16])
}

// make returns a fresh nonce for realm, to be sent to addr.
func (n *nonces) make(realm, addr string, now time.Time) string {
	var raw [nonceRaw]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.Unix()))
	rand.Read(raw[8:16])
	mac := n.mac(raw[:16], realm, addr)
	copy(raw[16:], mac[:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// check verifies a nonce's signature for realm and the address it comes
// from, and reports its identity and issue time (Unix seconds).
func (n *nonces) check(nonce, realm, addr string) (id nonceID, issued int64, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != nonceRaw {
		return id, 0, false
	}
	if mac := n.mac(raw[:16], realm, addr); !hmac.Equal(raw[16:], mac[:]) {
		return id, 0, false
	}
	copy(id[:], raw[:16])
	return id, int64(binary.BigEndian.Uint64(raw[:8])), true
}

// replayGuard remembers, per nonce, the highest nonce-count used, so that
// a captured request cannot be sent again: nc must grow with each use of
// a nonce. Nonces are kept in buckets by issue time and forgotten once
// they are stale anyway; when the guard is full the oldest bucket goes
// early and its nonces (issued before floor) count as stale.
type replayGuard struct {
	mu      sync.Mutex
	ttl     int64 // seconds
	width   int64 // seconds of issue time per bucket
	max     int
	size    int
	floor   int64
	buckets map[int64]map[nonceID]uint32
}

func newReplayGuard(ttl time.Duration, max int) *replayGuard {
	sec := int64(ttl / time.Second)
	return &replayGuard{ttl: sec, width: max64(1, sec/10), max: max, buckets: map[int64]map[nonceID]uint32{}}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// use records the use of nonce id (issued at issued) with count nc. It
// reports replay when nc is not above the last count seen, and stale when
// the nonce was issued before the guard's floor.
func (g *replayGuard) use(id nonceID, issued int64, nc uint32) (replay, stale bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if issued < g.floor {
		return false, true
	}
	k := issued / g.width
	b := g.buckets[k]
	if last, seen := b[id]; seen {
		if nc <= last {
			return true, false
		}
		b[id] = nc
		return false, false
	}
	for g.size >= g.max && len(g.buckets) > 0 {
		oldest := k
		for bk := range g.buckets {
			oldest = min(oldest, bk)
		}
		g.size -= len(g.buckets[oldest])
		delete(g.buckets, oldest)
		g.floor = max64(g.floor, (oldest+1)*g.width)
		if oldest == k {
			return false, true
		}
	}
	if b == nil {
		b = map[nonceID]uint32{}
		g.buckets[k] = b
	}
	b[id] = nc
	g.size++
	return false, false
}

// prune forgets the nonces that are stale at now.
func (g *replayGuard) prune(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cutoff := now.Unix() - g.ttl
	for k, b := range g.buckets {
		if (k+1)*g.width <= cutoff {
			g.size -= len(b)
			delete(g.buckets, k)
		}
	}
}
