package metrics_test

import (
	"net/http"
	"testing"
	"time"

	"xc5/metrics"
)

// BenchmarkObserve is what every API request pays for its metrics.
func BenchmarkObserve(b *testing.B) {
	m := metrics.New(metrics.Sources{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe("account", http.MethodGet, http.StatusOK, 3*time.Millisecond)
		}
	})
}
