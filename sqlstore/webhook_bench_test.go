package sqlstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"xc5"
	"xc5/resource"
	"xc5/storetest"
)

// BenchmarkWriteTrail measures a number create (the API's commonest
// write) through the store, 16 at a time: plain (no origin, no webhook:
// what the SIP side and imports pay), audited (an API write: one audit
// row more), and audited with a webhook taking number.changed (one
// outbox row more). docs/benchmarks.md, "Webhooks and audit".
//
//	go test -run '^$' -bench BenchmarkWriteTrail -benchtime 3000x ./sqlstore/
func BenchmarkWriteTrail(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		for _, mode := range []string{"plain", "audited", "audited+webhook"} {
			b.Run(be.Name+"/"+mode, func(b *testing.B) {
				s := be.Open(b)
				defer s.Close()
				if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
					b.Fatal(err)
				}
				acct := fmt.Sprintf("bench%d.test", benchRuns.Add(1)) // a run may reopen the last one's database
				if _, _, err := s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": acct}, resource.Create); err != nil {
					b.Fatal(err)
				}
				if mode == "audited+webhook" {
					if _, _, err := s.Put(ctx, "", resource.Webhook, acct, "", resource.Input{"url": "http://127.0.0.1:9/", "events": "number.changed"}, resource.Create); err != nil {
						b.Fatal(err)
					}
				}
				wctx := ctx
				if mode != "plain" {
					wctx = xc5.WithOrigin(ctx, xc5.Origin{Account: "admin", Source: "127.0.0.1", Method: "PUT", Path: "/api-sys/account/x/number"})
				}
				b.SetParallelism(8) // 16 writers on 2 cores
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						num := fmt.Sprintf("6497%07d", benchNumbers.Add(1))
						if _, _, err := s.Put(wctx, "", resource.Number, acct, "", resource.Input{"number": num}, resource.Create); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

var benchRuns, benchNumbers atomic.Int64
