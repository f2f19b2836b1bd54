package api

import (
	"net/http"

	"xc5/resource"
)

// traceOperation documents GET /api-sys/calltrace: the resource's fields
// are its query parameters, and the answer is the steps taken.
func traceOperation(r *resource.Resource) (string, []obj, obj) {
	var params []obj
	for _, f := range r.Fields {
		params = append(params, obj{"name": f.Name, "in": "query", "required": f.Name == "from" || f.Name == "dial",
			"description": f.Description, "schema": obj{"type": "string"}})
	}
	return "Trace a call through the routing engine", params,
		withErrors(obj{"200": halResponse("The steps, the last being the outcome", arrayOf(schemaRef("TraceStep")))}, readErrors...)
}

// handReq is what a request's handler gets besides the writer and the
// request: the caller, the path's target, the query and the session
// token's id (the session resource ends it).
type handReq struct {
	c   Caller
	t   Target
	q   map[string]string
	jti string
}

// handServed is a resource the server answers with code of its own
// rather than through the store's generic Get, List, Put and Delete.
type handServed struct {
	serve func(s *Server, w http.ResponseWriter, r *http.Request, x handReq) error

	// What the OpenAPI document says of it that its description cannot
	// (openapi.go); zero for what is documented as for any resource.

	// get documents a GET that is neither a listing nor a record.
	get func(r *resource.Resource) (summary string, params []obj, responses obj)
	// put documents a PUT whose body is no JSON record; the resource then
	// has no input schema.
	put func(op, created obj)
	// deleted is the summary of its DELETE.
	deleted string
	// listParams are the query parameters of its listing.
	listParams func(r *resource.Resource, limit obj) []obj
	// audio: a record also answers Accept: audio/wav.
	audio bool
	// query: its fields are the GET's query parameters, not a record's.
	query bool
	// bare: it answers without HAL links.
	bare bool
}

// byHand lists the resources served by hand, with the file that does it:
// a session is a cookie, not a record; a GUID is made, not stored; a call
// trace asks the routing engine; voicemail, mail and the audit trail are
// read from stores of their own; bulk onboarding takes CSV.
var byHand map[*resource.Resource]handServed

func init() {
	byHand = map[*resource.Resource]handServed{
		resource.Session: { // session.go
			serve: func(s *Server, w http.ResponseWriter, r *http.Request, x handReq) error {
				return s.session(w, r, x.c, x.jti)
			},
			put: func(op, created obj) {
				op["summary"] = "Log in: Basic credentials in, a session cookie out"
				created["headers"].(obj)["Set-Cookie"] = obj{"description": SessionCookie + ", HttpOnly, Secure, SameSite=Strict",
					"schema": obj{"type": "string"}}
				op["responses"] = withErrors(obj{"201": created}, 400, 401, 429, 503)
			},
			deleted: "End the session of the cookie sent (400 without one)",
		},
		resource.GUID: {
			serve: func(_ *Server, w http.ResponseWriter, _ *http.Request, _ handReq) error {
				writeJSON(w, http.StatusOK, append(appendString([]byte(`[{"guid":`), resource.NewGUID()), "}]\n"...))
				return nil
			},
			get: func(r *resource.Resource) (string, []obj, obj) {
				rec := schemaRef(recordSchemaName(r))
				return "Generate a new GUID", nil, withErrors(obj{"200": halResponse("A new GUID", arrayOf(rec))}, readErrors...)
			},
			bare: true,
		},
		resource.CallTrace: { // calltrace.go
			serve: func(s *Server, w http.ResponseWriter, r *http.Request, x handReq) error {
				return s.calltrace(w, r, x.c, x.q)
			},
			get:   traceOperation,
			query: true,
		},
		resource.Voicemail: { // voicemail.go
			serve: func(s *Server, w http.ResponseWriter, r *http.Request, x handReq) error {
				return s.voicemail(w, r, x.c, x.t)
			},
			listParams: func(*resource.Resource, obj) []obj { return nil },
			audio:      true,
		},
		resource.Mail: { // voicemail.go
			serve: func(s *Server, w http.ResponseWriter, r *http.Request, x handReq) error {
				return s.mail(w, r, x.c, x.q)
			},
			listParams: func(r *resource.Resource, limit obj) []obj {
				return []obj{{"name": "state", "in": "query", "description": "Only mails in this state",
					"schema": obj{"type": "string", "enum": r.Field("state").Enum}}, limit}
			},
		},
		resource.Audit: { // audit.go
			serve: func(s *Server, w http.ResponseWriter, r *http.Request, x handReq) error {
				return s.audit(w, r, x.c, x.t, x.q)
			},
			listParams: func(_ *resource.Resource, limit obj) []obj { return []obj{limit} },
		},
		resource.Bulk: { // bulk.go
			serve: func(s *Server, w http.ResponseWriter, r *http.Request, x handReq) error {
				return s.bulk(w, r, x.c, x.t, x.q)
			},
			put: func(op, _ obj) { bulkOperation(op) },
		},
	}
}
