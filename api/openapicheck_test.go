package api_test

// This file holds the OpenAPI checker that the test servers of
// walkthrough_test.go (newServer) run every request through: each request
// the server accepts must be one the document allows, and each response,
// whatever its status, must be one the document describes. So a test that
// exercises the server also checks that the document has not drifted.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"xc5/api"
	"xc5/resource"
)

func init() {
	// Audio is opaque to the document: a WAV, raw or as a form's file.
	openapi3filter.RegisterBodyDecoder("audio/wav", openapi3filter.FileBodyDecoder)
	// A CSV body is a string to the document ("type": "string"); the
	// library's own CSV decoder would refuse what the server reads (a
	// spreadsheet's byte order mark before a quoted header).
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
}

// openAPI loads and validates the server's document once.
var openAPI = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("loading: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validating: %w", err)
	}
	return doc, nil
})

var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openAPI()
	if err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

// openAPIChecker checks the exchanges of one test's server.
type openAPIChecker struct {
	t      *testing.T
	router routers.Router
	mu     sync.Mutex
	errs   []string
	seen   map[string]int // operationId → exchanges checked
}

// newOpenAPIChecker returns a checker whose findings are reported when
// the test ends. Register it before the server, so that its report runs
// after the server has closed (cleanups run last first) and every
// handler has finished.
func newOpenAPIChecker(t *testing.T) *openAPIChecker {
	t.Helper()
	router, err := openAPIRouter()
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	c := &openAPIChecker{t: t, router: router, seen: map[string]int{}}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.errs {
			t.Errorf("OpenAPI: %s", e)
		}
	})
	return c
}

func (c *openAPIChecker) fail(format string, args ...any) {
	c.mu.Lock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// capture passes a response through, keeping a copy.
type capture struct {
	http.ResponseWriter
	status int
	body   capped
}

func (w *capture) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *capture) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *capture) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// Unwrap lets the server's http.ResponseController reach the connection.
func (w *capture) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// teeBody keeps what the server reads of a request body.
type teeBody struct {
	io.Reader
	io.Closer
}

// capped keeps the first max bytes written to it: enough for any JSON
// body, while large uploads and listings go through unkept (and their
// bodies unchecked), so that the heap-bound tests still measure the server.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(b []byte) (int, error) {
	if c.over || c.Len()+len(b) > c.max {
		c.over = true
		c.Reset()
		return len(b), nil
	}
	return c.Buffer.Write(b)
}

// wrap returns h with every exchange checked against the document.
func (c *openAPIChecker) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody := &capped{max: api.MaxBody + 1}
		r.Body = teeBody{Reader: io.TeeReader(r.Body, reqBody), Closer: r.Body}
		orig := r.Clone(context.Background())
		cw := &capture{ResponseWriter: w, body: capped{max: 8 << 20}}
		h.ServeHTTP(cw, r)
		// A body the server did not read whole matters only when it was
		// refused, and then the request is not checked.
		c.check(orig, reqBody, cw.status, w.Header().Clone(), &cw.body)
	})
}

// canonicalPath writes a request path as the document's templates do:
// resource names as declared (the server matches them in any case) and
// without the trailing slash the server allows.
func canonicalPath(p string) string {
	if p == "/api-sys" {
		return api.Base
	}
	rest, ok := strings.CutPrefix(p, api.Base)
	if !ok || rest == "" || rest == "openapi.json" {
		return p
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	top := resource.Lookup(nil, segs[0])
	if top != nil {
		segs[0] = top.Name
		if len(segs) >= 3 {
			if sub := resource.Lookup(top, segs[2]); sub != nil {
				segs[2] = sub.Name
			}
		}
	}
	return api.Base + strings.Join(segs, "/")
}

// serverQuery re-encodes a query string strictly, with the values the
// server reads from it. The document's own queries are not valid
// percent-encoding (?filter=%88 means the pattern %88, ?filter=<CallR%
// the pattern <CallR%): net/url, hence openapi3filter, would read the
// first as the byte 0x88 and drop the second, so their values would go
// unchecked or be checked as something the server never saw.
func serverQuery(raw string) string {
	var parts []string
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		parts = append(parts, url.QueryEscape(api.LenientUnescape(k))+"="+url.QueryEscape(api.LenientUnescape(v)))
	}
	return strings.Join(parts, "&")
}

// check validates one exchange. A request the server refused (4xx) may
// be one the document forbids; one it accepted must be allowed. The
// response must always match.
func (c *openAPIChecker) check(r *http.Request, body *capped, status int, header http.Header, respBody *capped) {
	name := r.Method + " " + r.URL.RequestURI()
	if r.Method == http.MethodHead {
		return // the document describes GET; HEAD answers no body
	}
	if r.URL.Path != "/api-sys" && !strings.HasPrefix(r.URL.Path, api.Base) {
		return // outside the API the document describes (/metrics, /healthz)
	}
	r.URL.Path = canonicalPath(r.URL.Path)
	r.URL.RawPath = ""
	r.URL.RawQuery = serverQuery(r.URL.RawQuery)
	r.Body = io.NopCloser(bytes.NewReader(body.Bytes()))
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		if status/100 == 2 {
			c.fail("%s answered %d but the document has no such operation: %v", name, status, err)
		}
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			c.fail("%s: not in the document, answered %d (want 404 or 405)", name, status)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: credentialsPresent, MultiError: true, ExcludeRequestBody: body.over}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && status/100 == 2 {
		c.fail("%s answered %d, but the request breaks the document: %v", name, status, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: respBody.over}}
	out.SetBodyBytes(respBody.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.fail("%s: response %d breaks the document: %v\n%s", name, status, err, truncate(respBody.Bytes()))
	}
	c.mu.Lock()
	c.seen[route.Operation.OperationID]++
	c.mu.Unlock()
}

// credentialsPresent checks that a request carries what a security
// scheme asks for; the server decides whether they are good.
func credentialsPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "basic":
		if _, _, ok := r.BasicAuth(); ok {
			return nil
		}
	case "session":
		if _, err := r.Cookie(api.SessionCookie); err == nil {
			return nil
		}
	}
	return fmt.Errorf("no %s credentials", in.SecuritySchemeName)
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// operations lists the operations checked so far.
func (c *openAPIChecker) operations() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.seen {
		out[k] = v
	}
	return out
}
