package api

import (
	"net/http"
	"slices"

	"xc5"
)

// httpMethods are the methods named in request metrics; any other is
// "other", so that clients cannot make up labels.
var httpMethods = []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch,
	http.MethodPost, http.MethodDelete, http.MethodOptions}

func methodLabel(m string) string {
	if slices.Contains(httpMethods, m) {
		return m
	}
	return "other"
}

// outside serves the paths beside /api-sys/: /healthz and /readyz
// without credentials, /metrics to system-level callers. It reports
// whether it answered.
func (s *Server) outside(w http.ResponseWriter, r *http.Request, caller *Caller, res *string) bool {
	switch r.URL.Path {
	case "/healthz", "/readyz":
		if s.health == nil {
			return false
		}
		*res = "health"
		s.health.ServeHTTP(w, r)
		return true
	case "/metrics":
		if s.metrics == nil {
			return false
		}
		*res = "metrics"
		*caller = s.serveMetrics(w, r)
		return true
	}
	return false
}

// serveMetrics serves /metrics to a system-level caller: the metrics
// describe every tenant's traffic together.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) Caller {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, r, xc5.Errorf(xc5.ENOTALLOWED, "method %s is not allowed on /metrics", r.Method))
		return Caller{}
	}
	caller, _, ok := s.identify(w, r)
	if !ok {
		return Caller{}
	}
	if caller.Scope != "" {
		writeError(w, r, xc5.Errorf(xc5.EFORBIDDEN, "metrics are for system-level accounts"))
		return caller
	}
	s.metrics.ServeHTTP(w, r)
	return caller
}

// identify authenticates r by its session cookie or Basic credentials,
// answering the error itself when it fails.
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (Caller, string, bool) {
	var caller Caller
	var jti string
	var err error
	if r.Header.Get("Authorization") == "" && hasCookie(r) {
		caller, jti, err = s.sessionCaller(r.Context(), r)
	} else {
		caller, err = s.auth.authenticate(r.Context(), r)
	}
	if err != nil {
		if xc5.ErrorCode(err) == xc5.EUNAUTHORIZED {
			w.Header().Set("WWW-Authenticate", `Basic realm="api-sys"`)
		}
		if v, ok := retryAfter(err); ok {
			w.Header().Set("Retry-After", v)
		}
		writeError(w, r, err)
		return Caller{}, "", false
	}
	return caller, jti, true
}
