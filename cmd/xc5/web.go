package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"xc5/api"
	"xc5/metrics"
	"xc5/portal"
	"xc5/ratelimit"
	"xc5/routing"
	"xc5/sqlstore"
)

// newWeb builds what the HTTP address serves: the company portal on a
// company's own host (or /portal/{company}/ on any host), the API
// everywhere else (and /api-sys/ everywhere), and the metrics, also on
// their own private address with --metrics.
func newWeb(cfg *serveConfig, store *sqlstore.Store, view *routing.View, skey []byte, src metrics.Sources, log *slog.Logger, st *stops) (http.Handler, error) {
	met := metrics.New(src)
	probes := metrics.Health(metrics.Checks{Store: store.Ping, Loaded: metrics.ViewLoaded(view.Ready), Fresh: store.Fresh})
	// One failed-login limiter for the API and the portal: a password
	// guessed at one counts at the other (docs/portal.md).
	logins := loginLimiter(store, cfg.dbURL)
	apiSrv := api.New(store, api.Options{Logger: log, SessionKey: derive(skey, "session"), View: view, Auth: authOptions(store, cfg.dbURL, logins),
		ViewReads: true, Fresh: store.Fresh, Metrics: met.Handler(), Health: probes, Observe: met.Observe, WebhookPrivate: cfg.hookPrivate})
	met.SetAPI(apiSrv)
	if cfg.metricsAddr != "" {
		stop, err := serveMetrics(cfg.metricsAddr, metrics.Mux(met, probes), log)
		if err != nil {
			return nil, fmt.Errorf("--metrics: %w", err)
		}
		st.add(stop)
	}
	portalSrv := portal.New(portal.Options{Store: store, View: view, SessionKey: derive(skey, "portal-session"),
		Limiter: logins, Insecure: cfg.cert == "", Logger: log})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if portalSrv.Match(r) {
			portalSrv.ServeHTTP(w, r)
			return
		}
		apiSrv.ServeHTTP(w, r)
	}), nil
}

// loginLimiter is the failed-login limiter the API and the portal share:
// counted through the database when several nodes may share it
// (PostgreSQL); one SQLite node counts in memory.
func loginLimiter(store *sqlstore.Store, dbURL string) *ratelimit.Limiter {
	if dbURL == "" {
		return ratelimit.New(ratelimit.Config{})
	}
	return ratelimit.New(ratelimit.Config{Shared: store})
}

// authOptions gives the API the shared limiter and, on PostgreSQL, trusts
// cached credentials only while the node hears of every write.
func authOptions(store *sqlstore.Store, dbURL string, logins *ratelimit.Limiter) api.AuthOptions {
	if dbURL == "" {
		return api.AuthOptions{Limiter: logins}
	}
	return api.AuthOptions{Limiter: logins, Fresh: store.Fresh}
}
