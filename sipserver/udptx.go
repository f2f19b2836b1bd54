package sipserver

import (
	"net/netip"
	"sync"
	"time"
)

// udpTxKeep is how long a final response to a REGISTER over UDP is kept
// for retransmissions of the request: Timer J (64*T1, RFC 3261 17.2.2).
const udpTxKeep = 32 * time.Second

// maxUDPTxs bounds the final responses kept; beyond it the oldest is
// forgotten first. At 8,000 registrations a second that is 4 s of them:
// a phone's retransmissions come 0.5, 1.5 and 3.5 s after its request
// (intervals of T1 doubling), the next at 7.5 s; one that comes after its
// response was forgotten is simply handled again.
const maxUDPTxs = 1 << 15

// udpTxs are the REGISTER transactions over UDP, kept as RFC 3261 17.2.2
// keeps non-INVITE server transactions, without timers or goroutines: a
// retransmission (same key: Via branch, sent-by, method, source,
// Call-ID and CSeq number) of a
// REGISTER still in work is absorbed, and one of a REGISTER answered
// within udpTxKeep gets the same final response again, so that the store
// work is never done twice. Stateless answers (challenges, refusals for
// overload) are not kept: a retransmission draws a new one.
type udpTxs struct {
	mu   sync.Mutex
	m    map[string]*udpTx
	ring []*udpTx // completed, oldest first from head
	head int
	n    int
}

// udpTx is one REGISTER transaction: in work until res is set.
type udpTx struct {
	key  string
	done bool
	res  []byte         // the final response, once done
	dest netip.AddrPort // where it went
	at   time.Time      // when it was done
}

func newUDPTxs(size int) *udpTxs {
	return &udpTxs{m: map[string]*udpTx{}, ring: make([]*udpTx, size)}
}

// begin starts the transaction key. It returns the new transaction; or
// nil and the kept response (nil when the transaction is still in work:
// the retransmission is absorbed).
func (t *udpTxs) begin(key string, now time.Time) (tx *udpTx, res []byte, dest netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.m[key]; old != nil {
		if old.done && now.Sub(old.at) < udpTxKeep {
			return nil, old.res, old.dest
		}
		if !old.done {
			return nil, nil, dest
		}
	}
	tx = &udpTx{key: key}
	t.m[key] = tx
	return tx, nil, dest
}

// complete keeps tx's final response res, sent to dest, for its
// retransmissions, and forgets the responses older than udpTxKeep (or the
// oldest, when full).
func (t *udpTxs) complete(tx *udpTx, res []byte, dest netip.AddrPort, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[tx.key] != tx {
		return // forgotten meanwhile: not kept
	}
	tx.done, tx.res, tx.dest, tx.at = true, res, dest, now
	for t.n > 0 && (t.n == len(t.ring) || now.Sub(t.ring[t.head].at) >= udpTxKeep) {
		t.dropHead()
	}
	t.ring[(t.head+t.n)%len(t.ring)] = tx
	t.n++
}

func (t *udpTxs) dropHead() {
	old := t.ring[t.head]
	t.ring[t.head] = nil
	t.head = (t.head + 1) % len(t.ring)
	t.n--
	if t.m[old.key] == old {
		delete(t.m, old.key)
	}
}

// forget ends tx without keeping a response (answered statelessly, or
// not at all).
func (t *udpTxs) forget(tx *udpTx) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[tx.key] == tx && !tx.done {
		delete(t.m, tx.key)
	}
}

// len is how many transactions are known (in work or kept).
func (t *udpTxs) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
