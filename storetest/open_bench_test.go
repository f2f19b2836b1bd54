package storetest_test

import (
	"os"
	"testing"

	"xc5/storetest"
)

// BenchmarkOpenPostgres times one storetest.Open on PostgreSQL: a fresh
// store for one test, migrated and bootstrapped, closed and dropped again
// (the drop is timed too, as each test pays it). Every test of CI's
// PostgreSQL pass (XC5_TEST_STORE=postgres) starts with one.
//
//	XC5_TEST_POSTGRES=postgres://… go test -run '^$' -bench OpenPostgres ./storetest
func BenchmarkOpenPostgres(b *testing.B) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		b.Skip("set " + storetest.EnvPostgres + " to time the PostgreSQL test stores")
	}
	b.Setenv(storetest.EnvStore, "postgres")
	for i := 0; i < b.N; i++ {
		tb := &iteration{TB: b}
		storetest.Open(tb, "bench-Admin-pw1")
		tb.end()
	}
}

// BenchmarkOpenPostgresParallel is BenchmarkOpenPostgres from several
// goroutines at once (-cpu sets how many), as parallel tests and packages
// tested at once open their stores.
func BenchmarkOpenPostgresParallel(b *testing.B) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		b.Skip("set " + storetest.EnvPostgres + " to time the PostgreSQL test stores")
	}
	b.Setenv(storetest.EnvStore, "postgres")
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tb := &iteration{TB: b}
			storetest.Open(tb, "bench-Admin-pw1")
			tb.end()
		}
	})
}

// iteration is one benchmark iteration as a test of its own: its
// cleanups run at its end rather than the benchmark's.
type iteration struct {
	testing.TB
	cleanups []func()
}

func (it *iteration) Cleanup(f func()) { it.cleanups = append(it.cleanups, f) }

func (it *iteration) end() {
	for i := len(it.cleanups) - 1; i >= 0; i-- {
		it.cleanups[i]()
	}
}
