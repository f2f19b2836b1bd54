package sipserver

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRegister measures complete registrations over UDP loopback:
// REGISTER, 401 with challenges, REGISTER with the SHA-256 answer, 200,
// the binding written to a real SQLite store holding 10,000 accounts.
// Parallel phones spread over the accounts; one op is one registration.
func BenchmarkRegister(b *testing.B) {
	store := newStore(b)
	const accounts = 10000
	if err := store.Seed(context.Background(), accounts, 0, "seed-pw"); err != nil {
		b.Fatal(err)
	}
	srv := startServer(b, Config{AuthFailures: -1, SourceRate: -1}, store)
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		p := newPhone(b, srv.addr, "UDP")
		for pb.Next() {
			i := next.Add(1)
			k := i % accounts
			if k%10 == 0 { // companies; register their first user instead
				k++
			}
			user := fmt.Sprintf("u%d@seed-%d.test", k%10, k/10)
			contact := fmt.Sprintf("<sip:u@127.0.0.1:%d>", 10000+i%50000)
			res := p.login(p.register(user, []string{contact}, 3600), "SHA-256", user, "seed-pw")
			if res.StatusCode != 200 {
				b.Fatalf("%s: %d %s", user, res.StatusCode, res.Reason)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reg/s")
}
