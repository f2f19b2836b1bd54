package metrics

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"golang.org/x/sync/singleflight"
)

// pingTimeout bounds the readiness check's read of the store: a probe
// must get its answer while the database hangs too.
const pingTimeout = 2 * time.Second

// Checks are what readiness asks; a nil one passes.
type Checks struct {
	// Store makes a cheap read (sqlstore.Store.Ping).
	Store func(ctx context.Context) error
	// Loaded reports that the routing view is loaded.
	Loaded func() bool
	// Fresh reports that the node follows the change feed
	// (sqlstore.Store.Fresh; always true on SQLite).
	Fresh func() bool
}

// health is the /healthz and /readyz handler. Anyone may ask /readyz
// on the API's address: concurrent probes share one check, so that a
// flood of them costs the database one read at a time.
type health struct {
	c      Checks
	flight *singleflight.Group
}

// Health answers GET /healthz with 200 while the process runs, and GET
// /readyz with 200 when every check passes, else 503, each with a small
// JSON body: {"status":"ready","checks":{"store":"ok",…}}, a failed
// check saying why instead of "ok".
func Health(c Checks) http.Handler { return health{c: c, flight: new(singleflight.Group)} }

// ViewLoaded turns a routing view's Ready channel into a Loaded check.
func ViewLoaded(ready func() <-chan struct{}) func() bool {
	return func() bool {
		select {
		case <-ready():
			return true
		default:
			return false
		}
	}
}

type report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (h health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeReport(w, http.StatusMethodNotAllowed, report{Status: "method not allowed"})
		return
	}
	switch r.URL.Path {
	case "/healthz":
		writeReport(w, http.StatusOK, report{Status: "ok"})
	case "/readyz":
		v, _, _ := h.flight.Do("", func() (any, error) { return h.ready(context.WithoutCancel(r.Context())), nil })
		rep := v.(report)
		code := http.StatusOK
		if rep.Status != "ready" {
			code = http.StatusServiceUnavailable
		}
		writeReport(w, code, rep)
	default:
		http.NotFound(w, r)
	}
}

// ready runs the checks.
func (h health) ready(ctx context.Context) report {
	rep := report{Status: "ready", Checks: map[string]string{}}
	set := func(name string, ok bool, why string) {
		if ok {
			rep.Checks[name] = "ok"
			return
		}
		rep.Checks[name], rep.Status = why, "unready"
	}
	if h.c.Store != nil {
		ctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := h.c.Store(ctx)
		cancel()
		// No detail: the answer goes to anyone, and errors can name hosts.
		set("store", err == nil, "unreachable")
	}
	if h.c.Loaded != nil {
		set("routing", h.c.Loaded(), "routing view not loaded yet")
	}
	if h.c.Fresh != nil {
		set("feed", h.c.Fresh(), "not following the change feed")
	}
	return rep
}

func writeReport(w http.ResponseWriter, code int, rep report) {
	b, _ := json.Marshal(rep)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// Mux serves the metrics without credentials and the health checks: the
// handler of serve --metrics, a private scrape address.
func Mux(m *Metrics, health http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.Handle("/healthz", health)
	mux.Handle("/readyz", health)
	return mux
}
