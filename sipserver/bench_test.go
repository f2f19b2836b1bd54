package sipserver

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"xc5/internal/poll"
)

// BenchmarkRegister measures complete registrations over UDP loopback:
// REGISTER, 401 with an MD5 challenge (the default), REGISTER with the
// answer, 200, the binding written to a real SQLite store holding 10,000
// accounts. Parallel phones (bare UDP sockets, so that little of the
// process's CPU is theirs) spread over the accounts; one op is one
// registration. cpu-µs/op is the process's CPU time (getrusage: server
// and phones) per registration, which varies less with other load on
// the machine than ns/op; allocs/op does not vary with it at all.
func BenchmarkRegister(b *testing.B) {
	store := newStore(b)
	const accounts = 10000
	if err := store.Seed(context.Background(), accounts, 0, "seed-pw"); err != nil {
		b.Fatal(err)
	}
	srv := startServer(b, Config{AuthFailures: -1, SourceRate: -1, DigestAlgorithms: []string{"MD5"}}, store)
	if c, ok := srv.reg.(*credCache); ok && c.list != nil { // a one-off at start, not per registration
		poll.Until(b, 10*time.Second, "the credentials cache warm-up", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return len(c.m) >= accounts/2
		})
	}
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		p := newRawPhone(b, "127.0.0.1:0", srv.addr, "", "seed-pw")
		for pb.Next() {
			k := next.Add(1) % accounts
			if k%10 == 0 { // companies; register their first user instead
				k++
			}
			p.user = fmt.Sprintf("u%d@seed-%d.test", k%10, k/10)
			if code := p.register(); code != 200 {
				b.Fatalf("%s: %d", p.user, code)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reg/s")
	b.ReportMetric(float64((processCPU()-cpu)/time.Microsecond)/float64(b.N), "cpu-µs/op")
}
