package sqlstore_test

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"xc5"
	"xc5/sqlstore"
	"xc5/storetest"
)

// BenchmarkPutRegistration is a registration storm as the registrar makes
// it: 128 callers at once refresh the bindings of 10,000 accounts, one in
// twenty REGISTERs bringing a new contact, each capped at 10 contacts as
// sipserver does. It reports the process's CPU per registration (cpu-ns/op)
// beside the wall time, since the batch's commit waits on the disk. On
// SQLite it runs again with SetLazyRefreshes (sqlite-lazy), on the same
// database, warm.
// docs/benchmarks.md, "Issue 11".
//
//	go test -run '^$' -bench BenchmarkPutRegistration -benchtime 20000x -count 5 ./sqlstore/
func BenchmarkPutRegistration(b *testing.B) {
	const accounts = 10000
	for _, be := range storetest.Backends(b) {
		s := be.Open(b)
		if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
			b.Fatal(err)
		}
		if err := s.Seed(ctx, accounts, 0, "pw"); err != nil {
			b.Fatal(err)
		}
		creds, err := s.AllSIPCredentials(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		var guids []string
		for _, c := range creds {
			if c.Username != "admin" && c.Username[0] != '_' {
				guids = append(guids, c.GUID)
			}
		}
		fillRegistrations(b, s, guids)
		b.Run(be.Name, func(b *testing.B) { benchRegister(b, s, guids) })
		if be.Name == "sqlite" { // then with the refreshes of live bindings committed without an fsync
			s.SetLazyRefreshes(true)
			b.Run(be.Name+"-lazy", func(b *testing.B) { benchRegister(b, s, guids) })
		}
		s.Close()
	}
}

// fillRegistrations gives each account its one phone's binding, 64 puts
// at a time.
func fillRegistrations(b *testing.B, s *sqlstore.Store, guids []string) {
	sem := make(chan struct{}, 64)
	errs := make(chan error, len(guids))
	for i, g := range guids {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := s.PutRegistration(ctx, g, phoneContact(i), time.Now().Add(time.Hour), "Bench/1", "udp:10.0.0.1:5060", xc5.ContactCap{Max: 10, Now: time.Now()})
			errs <- err
		}()
	}
	for range guids {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

func phoneContact(i int) string { return fmt.Sprintf("sip:u%d@10.0.%d.%d:5060", i, i/250%250, i%250) }

var benchRegs atomic.Int64

func benchRegister(b *testing.B, s *sqlstore.Store, guids []string) {
	b.SetParallelism(64) // 128 callers on 2 cores
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := int(benchRegs.Add(1))
			i := n % len(guids)
			contact := phoneContact(i)
			if n%20 == 0 {
				contact = fmt.Sprintf("sip:new%d@10.1.%d.%d:5060", n, n/250%250, n%250)
			}
			now := time.Now()
			bs, err := s.PutRegistration(ctx, guids[i], contact, now.Add(time.Hour), "Bench/1", "udp:10.0.0.1:5060", xc5.ContactCap{Max: 10, Now: now})
			if err == xc5.ErrTooManyContacts {
				continue
			}
			if err != nil || len(bs) == 0 {
				b.Errorf("PutRegistration = %v, %v", bs, err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU so far, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
