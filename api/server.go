// Package api is the api-sys HTTP server: HAL+JSON over the resource
// descriptions, Basic authentication against accounts, and the document's
// conventions (arrays everywhere, [{"error": …}] on 4xx, OPTIONS docs).
// Every stored resource is served by the same generic code from its
// description in package resource; what a description cannot say (the
// session, the call trace, prompt audio, voicemail, the audit trail, bulk
// CSV, CDRs as CSV) is served by hand, one table of them in byhand.go.
package api

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/routing"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// maxLimit bounds ?limit=.
const maxLimit = 10000

// maxFilter bounds ?filter=: SQL LIKE patterns get slow, then fail, when huge.
const maxFilter = 256

// Options configure a Server.
type Options struct {
	Auth   AuthOptions
	Logger *slog.Logger
	// SessionKey signs session cookies (HS256); sessions are off without it.
	SessionKey []byte
	// SessionTTL is how long a session lasts; default one hour.
	SessionTTL time.Duration
	// View is the routing view behind GET /api-sys/calltrace.
	View *routing.View
	// ViewReads answers account GETs from the routing view instead of the
	// store, while Fresh (when set) reports that the view holds every
	// acknowledged write: always for one SQLite node, and on PostgreSQL
	// while the node follows the change feed under the read fence.
	ViewReads bool
	// Fresh gates ViewReads; nil means always.
	Fresh func() bool
	// Voicemail and Mail serve the mailboxes and the mail outbox
	// (voicemail.go); nil takes them from the store when it has them.
	Voicemail xc5.VoicemailStore
	Mail      xc5.MailLister
	// Metrics, when set, is served at /metrics to system-level callers
	// (the Prometheus text format; see package metrics).
	Metrics http.Handler
	// Health, when set, answers /healthz and /readyz without credentials,
	// for load balancers and probes.
	Health http.Handler
	// Observe, when set, is told of every request once answered: the
	// resource's name ("index", "metrics", "health", or "" for a path
	// outside the API), the method (one of httpMethods or "other"), the
	// status and the time taken. It must be quick: it runs on every
	// request.
	Observe func(resource, method string, status int, d time.Duration)
	// WebhookPrivate accepts webhook URLs that name a loopback, private or
	// other non-public address (xc5 serve --webhook-private); refused with
	// a 400 otherwise.
	WebhookPrivate bool
}

// Server serves /api-sys/.
type Server struct {
	store      resource.Store
	auth       *authenticator
	log        *slog.Logger
	sessionKey []byte
	sessionTTL time.Duration
	view       *routing.View
	viewReads  bool
	fresh      func() bool
	hookLocal  bool          // Options.WebhookPrivate
	uploads    chan struct{} // the turns of MaxUploads (media.go)
	upMu       sync.Mutex
	upByScope  map[resource.Scope]int // turns held per partition (media.go)
	voicemails xc5.VoicemailStore
	mails      xc5.MailLister
	auditLog   xc5.AuditLog
	metrics    http.Handler
	health     http.Handler
	observe    func(resource, method string, status int, d time.Duration)
}

// New returns a server over store.
func New(store resource.Store, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SessionTTL == 0 {
		opts.SessionTTL = time.Hour
	}
	s := &Server{store: store, auth: newAuthenticator(store, opts.Auth), log: opts.Logger,
		sessionKey: opts.SessionKey, sessionTTL: opts.SessionTTL, view: opts.View,
		uploads: make(chan struct{}, MaxUploads), upByScope: map[resource.Scope]int{}}
	s.viewReads = opts.ViewReads && opts.View != nil
	s.fresh = opts.Fresh
	s.hookLocal = opts.WebhookPrivate
	s.voicemails, s.mails = opts.Voicemail, opts.Mail
	s.metrics, s.health, s.observe = opts.Metrics, opts.Health, opts.Observe
	if v, ok := store.(xc5.VoicemailStore); ok && s.voicemails == nil {
		s.voicemails = v
	}
	if a, ok := store.(xc5.AuditLog); ok {
		s.auditLog = a
	}
	if m, ok := store.(xc5.MailLister); ok && s.mails == nil {
		s.mails = m
	}
	if s.fresh == nil {
		s.fresh = func() bool { return true }
	}
	// Every write, through this API or elsewhere (the SIP service, another
	// node), reaches us as a change before it is acknowledged locally:
	// forget credentials it may have changed.
	store.OnChange(func(c resource.Change) {
		switch {
		case c.Resource == nil || c.Resource.View:
			s.auth.invalidate("")
		case c.Resource.Tree:
			s.auth.invalidate(c.Account)
		case c.Resource == resource.AccountResource: // api_access: a grant reaches the accounts below its own
			s.auth.invalidate("")
		}
	})
	return s
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the read
// deadline of uploads, media.go).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ServeHTTP logs one structured line per request and turns a panic into a
// 500 with the usual body, so that no input can take the server down.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	var caller Caller
	var res string
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
			if sw.status == 0 {
				writeError(sw, r, fmt.Errorf("panic: %v", p))
			}
		}
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", time.Since(start), "account", caller.Username)
		if s.observe != nil {
			s.observe(res, methodLabel(r.Method), sw.status, time.Since(start))
		}
	}()
	if s.outside(sw, r, &caller, &res) {
		return
	}
	caller = s.serve(sw, r, &res)
}

// serve answers a request to the API; res is set to the name of the
// resource its path names.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, res *string) Caller {
	if r.URL.Path == OpenAPIPath { // documentation, public like OPTIONS (openapi.go)
		*res = "openapi"
		serveOpenAPI(w, r)
		return Caller{}
	}
	t, err := ParsePath(r.URL.Path)
	if err != nil {
		writeError(w, r, err)
		return Caller{}
	}
	if *res = "index"; t.Res != nil {
		*res = t.Res.Name
	}
	if r.Method == http.MethodOptions {
		s.options(w, t)
		return Caller{}
	}
	caller, jti, ok := s.identify(w, r)
	if !ok {
		return Caller{}
	}
	if t.Index {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET, OPTIONS")
			writeError(w, r, xc5.Errorf(xc5.ENOTALLOWED, "method %s is not allowed on this path", r.Method))
			return caller
		}
		s.index(w)
		return caller
	}
	if !allowed(t, r.Method) {
		w.Header().Set("Allow", strings.Join(methods(t), ", "))
		writeError(w, r, xc5.Errorf(xc5.ENOTALLOWED, "method %s is not allowed on this path", r.Method))
		return caller
	}
	if err := s.serveResource(w, r, handReq{c: caller, t: t, q: parseQuery(r.URL.RawQuery), jti: jti}); err != nil {
		writeError(w, r, err)
	}
	return caller
}

// serveResource answers a request the path, method and caller allow: by
// the resource's own handler when it has one (byhand.go), else through the
// store's Get, List, Put and Delete.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, x handReq) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// The store records who wrote, from where, in the audit trail.
		r = r.WithContext(xc5.WithOrigin(r.Context(), xc5.Origin{Account: x.c.Username, Source: clientIP(r), Method: r.Method, Path: r.URL.RequestURI()}))
	}
	if h := byHand[x.t.Res]; h.serve != nil {
		return h.serve(s, w, r, x)
	}
	caller, t, q := x.c, x.t, x.q
	var err error
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		err = s.get(w, r, caller, t, q)
	case http.MethodPut, http.MethodPatch:
		err = s.put(w, r, caller, t, q)
	case http.MethodDelete:
		err = s.store.Delete(r.Context(), caller.Scope, t.Res, t.Parent, t.ID)
		if err == nil {
			writeJSON(w, http.StatusOK, []byte("[]\n"))
		}
	}
	return err
}

// methods lists what a path answers: collections take GET and PUT (create),
// items take the resource's full set.
func methods(t Target) []string {
	all := t.Res.AllowedMethods(t.Item())
	if t.Item() || t.Res.NoItems {
		return all
	}
	var out []string
	for _, m := range all {
		if m != http.MethodPatch && m != http.MethodDelete {
			out = append(out, m)
		}
	}
	return out
}

func allowed(t Target, method string) bool {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	for _, m := range methods(t) {
		if m == method {
			return true
		}
	}
	return false
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, c Caller, t Target, q map[string]string) error {
	if t.Item() {
		if t.Res.Media && wantsAudio(r) {
			return s.getAudio(w, r, c, t, q)
		}
		if s.viewReads && t.Res.Tree && t.Res.Parent == nil && s.fresh() { // an account by its id: the view holds it
			if rec, ok := s.view.AccountRecord(t.ID); ok && strings.HasPrefix(rec.Path, string(c.Scope)) {
				writeJSON(w, http.StatusOK, append(appendRecord([]byte{'['}, t.Res, rec, false), "]\n"...))
				return nil
			}
		}
		rec, err := s.store.Get(r.Context(), c.Scope, t.Res, t.Parent, t.ID)
		if err != nil {
			return err
		}
		rec = s.readFilter(r.Context(), c, t)(rec)
		writeJSON(w, http.StatusOK, append(appendRecord([]byte{'['}, t.Res, rec, false), "]\n"...))
		return nil
	}
	return s.list(w, r, c, t, q)
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, c Caller, t Target, q map[string]string) error {
	if t.Res.Media && isAudioUpload(r) {
		return s.putAudio(w, r, c, t)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return xc5.Errorf(xc5.ETOOLARGE, "the body is larger than %d bytes", MaxBody)
		}
		return xc5.Errorf(xc5.EINVALID, "reading the body: %v", err)
	}
	in, err := resource.Decode(t.Res, body)
	if err != nil {
		return err
	}
	if err := s.refuseTrunkZero(t.Res, in); err != nil {
		return err
	}
	if err := s.refuseLocalURLs(t.Res, in); err != nil {
		return err
	}
	mode := resource.Create
	switch {
	case r.Method == http.MethodPatch || q["patch"] == "true" || q["patch"] == "1":
		mode = resource.Patch
		if !t.Item() {
			w.Header().Set("Allow", strings.Join(methods(t), ", "))
			return xc5.Errorf(xc5.ENOTALLOWED, "PATCH needs a record path, …/{guid}")
		}
	case t.Item():
		mode = resource.Upsert
	}
	rec, created, err := s.store.Put(r.Context(), c.Scope, t.Res, t.Parent, t.ID, in, mode)
	if err != nil {
		return err
	}
	s.writeRecord(w, t, rec, created)
	return nil
}

// refuseLocalURLs refuses the URLs the server would call (Outbound
// fields: a webhook's) at loopback and private addresses, unless the
// server allows them.
func (s *Server) refuseLocalURLs(res *resource.Resource, in resource.Input) error {
	if s.hookLocal {
		return nil
	}
	for _, f := range res.Fields {
		if u, _ := in[f.Name].(string); f.Outbound && xc5.LocalURL(u) {
			return xc5.Errorf(xc5.EINVALID, "%s %q names a loopback or private address: webhooks reach public addresses only (xc5 serve --webhook-private allows others)", f.Name, u)
		}
	}
	return nil
}

// writeRecord answers a write: 201 with Location for a creation, else 200.
func (s *Server) writeRecord(w http.ResponseWriter, t Target, rec resource.Record, created bool) {
	status := http.StatusOK
	if created {
		self, _ := links(t.Res, rec)
		w.Header().Set("Location", self)
		status = http.StatusCreated
	}
	writeJSON(w, status, append(appendRecord([]byte{'['}, t.Res, rec, false), "]\n"...))
}

// index answers GET /api-sys/ with the available APIs.
func (s *Server) index(w http.ResponseWriter) {
	b := []byte{'['}
	for i, r := range resource.All {
		if i > 0 {
			b = append(b, ',')
		}
		href := Base + r.Name
		if r.Parent != nil {
			href = Base + r.Parent.Name + "/{" + r.Parent.Name + "}/" + r.Name
		}
		b = append(b, `{"name":`...)
		b = appendString(b, r.Name)
		b = append(b, `,"description":`...)
		b = appendString(b, r.Description)
		b = append(b, `,"_links":{"self":{"href":`...)
		b = appendString(b, href)
		if r.Parent != nil {
			b = append(b, `,"templated":true`...)
		}
		b = append(b, "}}}"...)
	}
	writeJSON(w, http.StatusOK, append(b, "]\n"...))
}

// options answers the path's documentation in the document's shape.
func (s *Server) options(w http.ResponseWriter, t Target) {
	w.Header().Set("Allow", "GET, OPTIONS")
	if t.Index {
		writeJSON(w, http.StatusOK, []byte(`[{"description":"The api-sys index: GET lists the available APIs","methods":["GET","OPTIONS"],"fields":{}}]`+"\n"))
		return
	}
	d := t.Res.Documentation(t.Item())
	w.Header().Set("Allow", strings.Join(methods(t), ", "))
	b := append([]byte(`[{"description":`), appendString(nil, d.Description)...)
	b = append(b, `,"methods":[`...)
	for i, m := range d.Methods {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m)
	}
	b = append(b, `],"fields":{`...)
	for i, name := range d.Order() {
		if i > 0 {
			b = append(b, ',')
		}
		f := d.Fields[name]
		b = appendString(b, name)
		b = append(b, `:{"type":`...)
		b = appendString(b, string(f.Type))
		b = append(b, `,"description":`...)
		b = appendString(b, f.Description)
		b = append(b, '}')
	}
	writeJSON(w, http.StatusOK, append(b, "}}]\n"...))
}

func hasCookie(r *http.Request) bool {
	_, err := r.Cookie(SessionCookie)
	return err == nil
}
