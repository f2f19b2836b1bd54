package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/storetest"
	"xc5/webhook"
)

// BenchmarkDelivery measures delivery throughput: b.N events about
// `accounts` accounts are queued (not timed), then one sender delivers
// them to a local receiver that answers 200 at once; events/s is what
// the outbox, the claims and the POSTs sustain together (the order per
// account allows one event per account in flight). docs/benchmarks.md,
// "Webhooks and audit".
//
//	go test -run '^$' -bench BenchmarkDelivery -benchtime 2000x ./webhook/
func BenchmarkDelivery(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		for _, accounts := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/accounts=%d", be.Name, accounts), func(b *testing.B) {
				s := be.Open(b)
				defer s.Close()
				s.Bootstrap(ctx, adminPassword)
				var got atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					got.Add(1)
				}))
				defer srv.Close()
				run := benchRun.Add(1)
				company := fmt.Sprintf("c%d.bench", run)
				if _, _, err := s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": company}, resource.Create); err != nil {
					b.Fatal(err)
				}
				var guids []string
				for i := range accounts {
					rec, _, err := s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": fmt.Sprintf("u%d@%s", i, company), "parent": company}, resource.Create)
					if err != nil {
						b.Fatal(err)
					}
					guids = append(guids, rec.GUID)
				}
				if _, _, err := s.Put(ctx, "", resource.Webhook, company, "", resource.Input{"url": srv.URL, "events": "call.ended"}, resource.Create); err != nil {
					b.Fatal(err)
				}
				var recs []xc5.CDR
				for i := range b.N {
					recs = append(recs, xc5.CDR{Account: guids[i%accounts], Values: map[string]any{"direction": "out", "call_id": fmt.Sprint(i)}})
					if len(recs) == 256 || i == b.N-1 {
						if err := s.AddCDRs(ctx, recs); err != nil {
							b.Fatal(err)
						}
						recs = nil
					}
				}
				snd, err := webhook.NewSender(webhook.Config{Outbox: s, Node: "bench", Poll: 10 * time.Millisecond, Parallel: 64, Batch: 64, AllowPrivate: true})
				if err != nil {
					b.Fatal(err)
				}
				c, cancel := ctxWithCancel()
				b.ResetTimer()
				done := make(chan struct{})
				go func() { snd.Run(c); close(done) }()
				for got.Load() < int64(b.N) {
					time.Sleep(time.Millisecond)
				}
				b.StopTimer()
				cancel()
				<-done
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

var benchRun atomic.Int64
