package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"strings"

	"xc5"
	"xc5/resource"
	"xc5/routing"
)

// req is one request to a company's portal.
type req struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	co    *routing.Account
	corec resource.Record // the company's account record (its path)
	base  string          // "/" on the company's host, else /portal/{company}/
	rel   string          // the path below base, without its leading slash
	u     user
}

// scope is the partition every store call is made in: the company's, as
// its user-level API access would be.
func (q *req) scope() resource.Scope { return resource.Scope(q.corec.Path) }

// route dispatches a request by its path below the portal's base.
func (s *Server) route(q *req) {
	ctx := q.r.Context()
	var err error
	if q.corec, err = s.companyRecord(ctx, q.co); err != nil {
		q.fail(err)
		return
	}
	if !q.co.Partition {
		// A top-level account without api_access=user is a company unless
		// it is system-level: the system's own accounts have no portal.
		creds, err := s.store.Credentials(ctx, q.co.Username)
		if err != nil && xc5.ErrorCode(err) != xc5.ENOTFOUND {
			q.fail(err)
			return
		}
		if err != nil || creds.Access == resource.AccessSystem {
			http.Error(q.w, "no such company portal", http.StatusNotFound)
			return
		}
	}
	if q.rel == "login" {
		s.loginPage(q)
		return
	}
	u, ok, err := s.session(ctx, q.r, q.co)
	if err != nil {
		q.fail(err)
		return
	}
	if !ok {
		if q.r.Method == http.MethodGet && (q.rel == "" || !strings.Contains(q.rel, ".")) {
			http.Redirect(q.w, q.r, q.base+"login", http.StatusSeeOther)
			return
		}
		http.Error(q.w, "log in first", http.StatusUnauthorized)
		return
	}
	q.u = u
	if q.r.Method == http.MethodPost && !q.parseForm() {
		return
	}
	if q.r.Method == http.MethodPost && !q.csrfOK() {
		http.Error(q.w, "missing or invalid CSRF token: reload the page", http.StatusForbidden)
		return
	}
	if q.r.Method == http.MethodPost {
		// The store records the portal's writes in the audit trail as it
		// does the API's: who, from where, which page.
		q.r = q.r.WithContext(xc5.WithOrigin(q.r.Context(), xc5.Origin{Account: u.Username, Source: clientIP(q.r), Method: q.r.Method, Path: q.r.URL.RequestURI()}))
	}
	parts := strings.Split(q.rel, "/")
	switch {
	case q.rel == "logout" && q.r.Method == http.MethodPost:
		if err := s.logout(ctx, q.w, u, q.base); err != nil {
			q.fail(err)
			return
		}
		http.Redirect(q.w, q.r, q.base+"login", http.StatusSeeOther)
	case q.rel == "":
		s.overview(q)
	case parts[0] == "users":
		s.users(q, parts[1:])
	case q.rel == "trace":
		s.trace(q)
	case q.rel == "calls" || q.rel == "calls.csv":
		s.calls(q)
	case parts[0] == "voicemail":
		s.voicemail(q, parts[1:])
	case parts[0] == "prompts":
		s.prompts(q, parts[1:])
	case parts[0] == "numbers":
		s.numbers(q, parts[1:])
	case parts[0] == "huntgroups":
		s.huntGroups(q, parts[1:])
	case q.rel == "me" || q.rel == "me/password":
		s.me(q)
	default:
		http.NotFound(q.w, q.r)
	}
}

// Bounds of a POST's body: any form of the portal's is a few hundred
// bytes (formLimit leaves room for a long one); a prompt upload carries a
// WAV of the API's largest audio; the login form, read before there is
// any session, is small.
const (
	formLimit   = 64 << 10
	uploadLimit = maxAudio + 64<<10
	loginLimit  = 4 << 10
)

// uploadRoute reports whether a request is a prompt upload by a company
// administrator: the one route whose body may be large (multipart).
func (q *req) uploadRoute() bool {
	parts := strings.Split(q.rel, "/")
	return q.u.Admin && len(parts) == 3 && parts[0] == "prompts" && parts[2] == "upload"
}

// parseForm reads a POST's form within the bound of its route, decided
// by the route and the user, never by the client's Content-Type: a
// company administrator's prompt upload (multipart, files over 1 MiB
// wait on disk, not in memory), or any other form's 64 KiB.
func (q *req) parseForm() bool {
	if q.uploadRoute() {
		return readForm(q.w, q.r, uploadLimit, true)
	}
	return readForm(q.w, q.r, formLimit, false)
}

// readForm reads r's form within limit bytes: a body announced longer is
// refused before it is read (413), a longer one stops being read at the
// limit (413). A multipart body is accepted only when multipart is set,
// else only a urlencoded one (415), or none (no Content-Type: Go reads no
// form from it, and the CSRF check refuses the request).
func readForm(w http.ResponseWriter, r *http.Request, limit int64, multipart bool) bool {
	if r.ContentLength > limit {
		http.Error(w, "the form is too large", http.StatusRequestEntityTooLarge)
		return false
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isMultipart := ctype == "multipart/form-data"
	if ctype != "" && ctype != "application/x-www-form-urlencoded" && !(multipart && isMultipart) {
		http.Error(w, "send the form as application/x-www-form-urlencoded", http.StatusUnsupportedMediaType)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var err error
	if isMultipart {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "the form is too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "the form cannot be read: "+err.Error(), http.StatusBadRequest)
		}
		return false
	}
	return true
}

// csrfOK checks a form's token (or htmx's X-CSRF-Token header) and the
// Origin.
func (q *req) csrfOK() bool {
	tok := q.r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = q.r.PostFormValue("csrf")
	}
	return tok != "" && sameOrigin(q.r) && hmacEqual(tok, q.s.csrfToken(q.u))
}

func hmacEqual(a, b string) bool { return len(a) == len(b) && subtleEq(a, b) }

// page is what every template gets.
type page struct {
	Base, Title, CSRF, Company, Flash, Error string
	User                                     user
	Data                                     any
}

// render writes a page, or only its content for an htmx request that
// asks for a fragment (HX-Target set).
func (q *req) render(name, title string, data any, flash string) {
	p := page{Base: q.base, Title: title, Company: q.co.Username, User: q.u, Data: data, Flash: flash}
	if q.u.jti != "" {
		p.CSRF = q.s.csrfToken(q.u)
	}
	q.renderPage(name, p, http.StatusOK)
}

func (q *req) renderPage(name string, p page, status int) {
	t := q.s.pages[name]
	tmpl := "layout"
	if q.r.Header.Get("HX-Request") == "true" && q.r.Header.Get("HX-Target") != "" {
		tmpl = "content"
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, tmpl, p); err != nil {
		q.s.log.Error("portal: template", "page", name, "err", err)
		http.Error(q.w, "internal error", http.StatusInternalServerError)
		return
	}
	h := q.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	q.w.WriteHeader(status)
	q.w.Write(b.Bytes())
}

// status maps the store's error codes to HTTP, as the API does.
func status(err error) int {
	switch xc5.ErrorCode(err) {
	case xc5.EINVALID:
		return http.StatusBadRequest
	case xc5.ENOTFOUND:
		return http.StatusNotFound
	case xc5.EFORBIDDEN:
		return http.StatusForbidden
	case xc5.ECONFLICT:
		return http.StatusConflict
	case xc5.ERATELIMIT:
		return http.StatusTooManyRequests
	case xc5.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case xc5.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case xc5.EUNAUTHORIZED:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// fail answers an error as a page: the store's message for a client
// error (it names the field, as the API's does), a generic one for ours.
func (q *req) fail(err error) {
	code := status(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		q.s.log.Error("portal", "path", q.r.URL.Path, "err", err)
		msg = "internal error"
	}
	p := page{Base: q.base, Title: "Error", Company: q.co.Username, User: q.u, Error: msg}
	if q.u.jti != "" {
		p.CSRF = q.s.csrfToken(q.u)
	}
	q.renderPage("error", p, code)
}

// back redirects to a page of the portal after a change (POST, then GET).
func (q *req) back(rel string) {
	http.Redirect(q.w, q.r, q.base+rel, http.StatusSeeOther)
}

// post refuses anything but POST for a change.
func (q *req) post() bool {
	if q.r.Method != http.MethodPost {
		q.w.Header().Set("Allow", "POST")
		http.Error(q.w, "use POST", http.StatusMethodNotAllowed)
		return false
	}
	return true
}

// admin refuses a company administrator's page to other users: 404, as
// if it did not exist for them.
func (q *req) admin() bool {
	if !q.u.Admin {
		http.NotFound(q.w, q.r)
		return false
	}
	return true
}

// put writes a record as the API's PUT or PATCH would: the body is
// decoded and checked by the resource's description, then written by the
// store in the company's partition.
func (q *req) put(res *resource.Resource, parent, id string, vals map[string]any, mode resource.PutMode) (resource.Record, error) {
	body, err := json.Marshal(vals)
	if err != nil {
		return resource.Record{}, err
	}
	in, err := resource.Decode(res, body)
	if err != nil {
		return resource.Record{}, err
	}
	if err := q.s.view.RefuseTrunkZero(res, in); err != nil {
		return resource.Record{}, err
	}
	rec, _, err := q.s.store.Put(q.r.Context(), q.scope(), res, parent, id, in, mode)
	return rec, err
}

// account returns an account of the company that the user may act on:
// any for an administrator, only its own for another user; 404 otherwise.
// Without id it is the user's own, or the company account for an
// administrator whose own account is outside the company (above it).
func (q *req) account(id string) (resource.Record, error) {
	if id == "" {
		id = q.u.GUID
		if q.u.Outside {
			id = q.co.GUID
		}
	}
	rec, err := q.s.store.Get(q.r.Context(), q.scope(), resource.Account, "", id)
	if err != nil {
		return rec, err
	}
	if !q.u.Admin && rec.GUID != q.u.GUID {
		return resource.Record{}, xc5.Errorf(xc5.ENOTFOUND, "account %s not found", id)
	}
	return rec, nil
}

// adminAccount is the account an administrator's per-account page is
// about: the path's first part, else ?account=, else the company itself.
// False when q is not an administrator's or the account cannot be read;
// the answer is then written.
func (q *req) adminAccount(rest []string) (resource.Record, bool) {
	if !q.admin() {
		return resource.Record{}, false
	}
	id := q.r.URL.Query().Get("account")
	if len(rest) > 0 && rest[0] != "" {
		id = rest[0]
	}
	if id == "" {
		id = q.co.GUID
	}
	acct, err := q.account(strings.TrimSpace(id))
	if err != nil {
		q.fail(err)
		return resource.Record{}, false
	}
	return acct, true
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"join":     strings.Join,
	"menuForm": menuForm,
}
