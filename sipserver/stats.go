package sipserver

import (
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

	"xc5/ratelimit"
)

// otherMethod is the counters' slot for methods outside knownMethods.
const otherMethod = 14

// counters are the SIP service's event counts for the metrics endpoint:
// atomic adds on the request path, read whole by a scrape (Stats).
type counters struct {
	requests  [otherMethod + 1]atomic.Int64
	responses [otherMethod + 1][600]atomic.Int64 // by status code - 100
	started   atomic.Int64                       // calls begun (INVITEs that became calls)
	answered  atomic.Int64                       // calls answered
}

// methodSlot is m's slot in the counters.
func methodSlot(m sip.RequestMethod) int {
	for i, k := range knownMethods[:otherMethod] {
		if k == m {
			return i
		}
	}
	return otherMethod
}

// slotMethod names a slot.
func slotMethod(i int) string {
	if i == otherMethod {
		return "other"
	}
	return string(knownMethods[i])
}

// countedTx counts the responses sent in a server transaction.
type countedTx struct {
	sip.ServerTransaction
	c    *counters
	slot int
}

func (t countedTx) Respond(res *sip.Response) error {
	if code := res.StatusCode; code >= 100 && code < 700 {
		t.c.responses[t.slot][code-100].Add(1)
	}
	return t.ServerTransaction.Respond(res)
}

// Stats are the SIP service's counts since it was made.
type Stats struct {
	// Requests counts the requests received (and not dropped by the
	// throttle) by method: an RFC 3261 family name or "other".
	Requests map[string]int64
	// Responses counts the responses sent by request method and code
	// (retransmissions by the transaction layer are not counted again).
	Responses map[string]map[int]int64
	// CallsStarted counts INVITEs that became calls, CallsAnswered the
	// calls that were answered; Calls (the method) is those in progress.
	CallsStarted, CallsAnswered int64
}

// Stats reads the counters: the cost is a scrape's, never a request's.
func (s *Server) Stats() Stats {
	st := Stats{Requests: map[string]int64{}, Responses: map[string]map[int]int64{},
		CallsStarted: s.count.started.Load(), CallsAnswered: s.count.answered.Load()}
	for i := range s.count.requests {
		if n := s.count.requests[i].Load(); n > 0 {
			st.Requests[slotMethod(i)] = n
		}
		for code := range s.count.responses[i] {
			if n := s.count.responses[i][code].Load(); n > 0 {
				m := st.Responses[slotMethod(i)]
				if m == nil {
					m = map[int]int64{}
					st.Responses[slotMethod(i)] = m
				}
				m[code+100] = n
			}
		}
	}
	return st
}

// AuthStats reports the digest limiter's counters: passwords checked,
// attempts refused without a check (rate-limited), checks that failed.
func (s *Server) AuthStats() ratelimit.Stats { return s.limiter.Stats() }
