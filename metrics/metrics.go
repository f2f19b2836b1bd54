// Package metrics builds xc5's Prometheus metrics and health checks from
// the counters the other packages keep. None of those packages imports a
// metrics library: each keeps atomic counters (and package internal/stat
// histograms) with exported readers, and this package reads them when
// scraped, so that the hot paths pay an atomic add at most. The metrics
// are listed in docs/api.md ("Metrics and health").
package metrics

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"xc5/internal/stat"
	"xc5/media/relay"
	"xc5/ratelimit"
	"xc5/sipserver"
)

// SIP is what the metrics read from the SIP service (*sipserver.Server).
type SIP interface {
	Stats() sipserver.Stats
	Calls() int
	AuthStats() ratelimit.Stats
	Throttled() int64
	Shed() int64          // INVITEs refused 503 for overload
	ShedRegisters() int64 // REGISTERs refused 503 for overload
	StaleDropped() int64  // requests dropped unread for overload
}

// Store is what the metrics read from the store (*sqlstore.Store).
type Store interface {
	CommitStats() (seconds, batch stat.Snapshot)
	QueuedMail(ctx context.Context) (int, error)
	QueuedEvents(ctx context.Context) (int, error)
	Bindings(ctx context.Context) (int, error)
	FeedLag() time.Duration
}

// AuthStatser is the API server's login limiter (*api.Server).
type AuthStatser interface{ AuthStats() ratelimit.Stats }

// Sources are what the metrics are read from; a nil one is left out.
type Sources struct {
	Store Store
	SIP   SIP
	// Legs reports the in-process media node's legs (service.Service.Legs).
	Legs func() int
	// Relay is the RTP relay pool (relay.Pool.Stats).
	Relay func() relay.Stats
}

// Metrics is a registry with xc5's metrics.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	api      atomic.Pointer[AuthStatser]
}

// New registers the metrics read from src, the HTTP request metrics fed
// by Observe, and Go's runtime and process metrics.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "xc5_http_requests_total",
		Help: "API requests answered, by resource, method and status."}, []string{"resource", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "xc5_http_request_duration_seconds",
		Help:    "Time to answer API requests, by resource and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"resource", "method"})
	m.reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{src: src, api: &m.api})
	return m
}

// SetAPI names the API server whose login counters are reported; it is
// made after the metrics, since it is given Observe.
func (m *Metrics) SetAPI(a AuthStatser) { m.api.Store(&a) }

// Observe counts one answered API request (api.Options.Observe).
func (m *Metrics) Observe(resource, method string, status int, d time.Duration) {
	if resource == "" {
		resource = "none"
	}
	m.requests.WithLabelValues(resource, method, statusLabel(status)).Inc()
	m.duration.WithLabelValues(resource, method).Observe(d.Seconds())
}

// statusLabel avoids a strconv per request for the usual codes.
func statusLabel(code int) string {
	if code == 0 {
		code = http.StatusOK // nothing written: net/http sends 200
	}
	if code >= 100 && code < 600 {
		return statusNames[code-100]
	}
	return "other"
}

var statusNames = func() (n [500]string) {
	for i := range n {
		n[i] = itoa(i + 100)
	}
	return
}()

func itoa(i int) string {
	return string([]byte{byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)})
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
