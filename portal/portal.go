// Package portal is the company portal: each company account's own web
// pages, at its own domain (the document's "wildcard domain
// acmebrick.x.co.nz") or at /portal/{company}/ on a host that is no
// company's. Pages are rendered on the server with html/template; the one
// script is htmx, vendored and served from embed (static/NOTICE). Every
// change goes through the store's Put and Delete with the resource
// descriptions, in the company's partition, like the API's user-level
// writes: the portal can do nothing the API would refuse (docs/portal.md).
package portal

import (
	"embed"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"xc5"
	"xc5/ratelimit"
	"xc5/resource"
	"xc5/routing"
)

//go:embed static templates
var files embed.FS

// Prefix is the path under which a host that is no company's serves a
// company's portal: /portal/{company}/.
const Prefix = "/portal/"

// Options configure a Server.
type Options struct {
	Store resource.Store
	// View is the routing view: companies by name, numbers and extensions
	// of accounts, and the call trace. Required.
	View *routing.View
	// Voicemail reads the mailboxes; nil takes them from Store when it
	// has them.
	Voicemail xc5.VoicemailStore
	// SessionKey signs the session cookie; required (derive it apart
	// from the API's key, so that neither cookie opens the other).
	SessionKey []byte
	// SessionTTL is how long a session lasts; default one hour, as the API's.
	SessionTTL time.Duration
	// Limiter counts failed logins; give the API's (api.AuthOptions.Limiter),
	// so that the portal and the API count them together. Nil builds one
	// of the API's defaults (a portal alone, in tests).
	Limiter *ratelimit.Limiter
	// Insecure leaves the Secure attribute off cookies, for plain-HTTP
	// tests and development only.
	Insecure bool
	Logger   *slog.Logger
}

// Server serves the portals of every company.
type Server struct {
	store     resource.Store
	view      *routing.View
	vm        xc5.VoicemailStore
	key       []byte
	ttl       time.Duration
	limiter   *ratelimit.Limiter
	secure    bool
	log       *slog.Logger
	pages     pages
	upMu      sync.Mutex
	uploading map[string]bool // companies with an upload being read (prompts.go)
}

// New returns a portal server.
func New(o Options) *Server {
	if o.SessionTTL == 0 {
		o.SessionTTL = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Voicemail == nil {
		o.Voicemail, _ = o.Store.(xc5.VoicemailStore)
	}
	lim := o.Limiter
	if lim == nil {
		lim = ratelimit.New(ratelimit.Config{})
	}
	return &Server{store: o.Store, view: o.View, vm: o.Voicemail, key: o.SessionKey, ttl: o.SessionTTL,
		limiter: lim, secure: !o.Insecure, log: o.Logger, pages: parsePages(), uploading: map[string]bool{}}
}

// Match reports whether r is for the portal: a path under /portal/ on
// any host (a company's host answers it 404), or any path outside the API
// (/api-sys/) on a host that is a company account's name or a name
// directly under it (*.acmebrick.x.co.nz). It answers from the routing view, in memory, so
// that asking costs the API's requests nothing.
func (s *Server) Match(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, Prefix) {
		return true
	}
	if strings.HasPrefix(r.URL.Path, "/api-sys/") || r.URL.Path == "/api-sys" {
		return false
	}
	return s.hostCompany(r.Host) != nil
}

// hostCompany is the company a Host header names, or nil.
func (s *Server) hostCompany(host string) *routing.Account {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if !strings.Contains(host, ".") || net.ParseIP(host) != nil {
		return nil
	}
	if c := s.company(host); c != nil {
		return c
	}
	if _, rest, ok := strings.Cut(host, "."); ok && strings.Contains(rest, ".") {
		return s.company(rest)
	}
	return nil
}

// company is the account named name when it is a company root (it holds
// api_access=user, or is top-level: routing.View.Company), else nil. The
// accounts Bootstrap creates (admin, and those named _…) are no company;
// nor is a top-level account with api_access=system, which route refuses
// (the view does not hold api_access=system).
func (s *Server) company(name string) *routing.Account {
	if name == "" || strings.HasPrefix(name, "_") || name == resource.AdminUsername {
		return nil
	}
	a := s.view.Account(name)
	if a == nil || a.Username != name || s.view.Company(a) != a {
		return nil
	}
	return a
}

// ServeHTTP answers a request Match accepted.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("portal: panic", "path", r.URL.Path, "panic", p)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
		s.log.Debug("portal request", "method", r.Method, "path", r.URL.Path, "took", time.Since(start))
	}()
	setSecurityHeaders(w, r)
	// A company's host serves that company's portal only: /portal/{other}/
	// there would put two companies' pages on one origin.
	co := s.hostCompany(r.Host)
	base, rel := "/", r.URL.Path
	if strings.HasPrefix(r.URL.Path, Prefix) {
		name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, Prefix), "/")
		if co == nil {
			co = s.company(strings.ToLower(name))
		} else {
			co = nil
		}
		base, rel = Prefix+name+"/", "/"+rest
	}
	if co == nil {
		http.Error(w, "no such company portal", http.StatusNotFound)
		return
	}
	if strings.HasPrefix(rel, "/static/") {
		s.static(w, r, strings.TrimPrefix(rel, "/static/"))
		return
	}
	rq := &req{s: s, w: w, r: r, co: co, base: base, rel: strings.TrimPrefix(rel, "/")}
	s.route(rq)
}

// hstsMaxAge is how long a browser that saw the portal over HTTPS keeps
// to HTTPS for its host: a year, the usual value. Without
// includeSubDomains: the names under a company's domain are not all ours.
const hstsMaxAge = "max-age=31536000"

// setSecurityHeaders sets what every answer carries: a strict CSP (no
// inline script or style, nothing from elsewhere), no framing, no
// sniffing, no referrer to other sites (paths hold GUIDs, never secrets),
// and over HTTPS, HSTS: a later visit typed as http:// is not downgraded.
func setSecurityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", hstsMaxAge)
	}
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // no-referrer would make Chromium send "Origin: null"
}

// static serves the embedded CSS and htmx, cacheable.
func (s *Server) static(w http.ResponseWriter, r *http.Request, name string) {
	var ctype string
	switch name {
	case "htmx.min.js":
		ctype = "text/javascript; charset=utf-8"
	case "portal.css":
		ctype = "text/css; charset=utf-8"
	default:
		http.NotFound(w, r)
		return
	}
	b, err := files.ReadFile("static/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}
