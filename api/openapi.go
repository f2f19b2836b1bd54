package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"xc5"
	"xc5/resource"
)

// OpenAPIPath serves the OpenAPI 3.1 document of the API. Like OPTIONS it
// is documentation and needs no credentials: it tells nothing that the
// public OPTIONS answers do not, and tools (Swagger UI, Postman) fetch it
// before the user has typed a password.
const OpenAPIPath = Base + "openapi.json"

// OpenAPIVersion is the version of the OpenAPI specification the document
// follows.
const OpenAPIVersion = "3.1.0"

type obj = map[string]any

// OpenAPI returns the OpenAPI document, generated once from resource.All:
// the same descriptions that drive validation, storage and OPTIONS, so
// the document cannot say one thing while the server does another.
var OpenAPI = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // <CallRule-International> stays readable
	enc.SetIndent("", " ")
	if err := enc.Encode(openAPIDocument()); err != nil {
		panic(err) // maps of strings, numbers and bools always encode
	}
	return buf.Bytes()
})

// serveOpenAPI answers GET (and HEAD) of OpenAPIPath.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		writeError(w, r, xc5.Errorf(xc5.ENOTALLOWED, "method %s is not allowed on this path", r.Method))
		return
	}
	b := OpenAPI()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}

const apiDescription = "xc5's implementation of the XC5-XS api-sys JSON System Provisioning API, generated from the " +
	"resource descriptions that drive the server's validation, storage and OPTIONS answers.\n\n" +
	"Every response body is a JSON array (`application/hal+json`), errors included: `[{\"error\": \"what is wrong\"}]`. " +
	"Resource names in paths match case-insensitively (`/api-sys/hydraaccount`), and one trailing slash is allowed " +
	"(`PUT /api-sys/account/`). Query strings are decoded leniently: a run of %XX escapes is decoded only where it " +
	"makes valid UTF-8, so `?filter=%88` is the pattern `%88` and `?filter=<CallR%` is `<CallR%`; `+` stays a plus sign. " +
	"Request bodies are JSON objects and partial: only the fields sent change; JSON null resets a field to its default; " +
	"integer fields also take integer strings, boolean fields 0/1 and the same as strings; an empty body is an empty object. " +
	"OPTIONS and this document need no credentials; `*` stands for any account in OPTIONS paths."

func openAPIDocument() obj {
	paths := obj{}
	schemas := baseSchemas()
	tags := []obj{{"name": "api-sys", "description": "The API index and this document"}}
	paths[Base] = indexPath()
	paths[OpenAPIPath] = obj{"get": obj{"operationId": "openapi", "summary": "This OpenAPI document",
		"tags": []string{"api-sys"}, "security": []any{},
		"responses": obj{"200": obj{"description": "The OpenAPI document",
			"content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}}}
	for _, r := range resource.All {
		tags = append(tags, obj{"name": r.Name, "description": r.Description})
		resourceSchemas(schemas, r)
		coll := collectionPath(r)
		paths[coll] = pathItem(r, false)
		if !r.NoItems {
			paths[coll+"/{id}"] = pathItem(r, true)
		}
	}
	return obj{
		"openapi": OpenAPIVersion,
		"info": obj{"title": "xc5 api-sys", "version": "1",
			"description": apiDescription},
		"servers":  []obj{{"url": "/", "description": "This server"}},
		"tags":     tags,
		"security": []obj{{"basic": []string{}}, {"session": []string{}}},
		"paths":    paths,
		"components": obj{
			"schemas":   schemas,
			"responses": obj{"Error": errorResponse()},
			"securitySchemes": obj{
				"basic": obj{"type": "http", "scheme": "basic",
					"description": "An enabled account with accountresource api_access=system (everything) or user (the account and its descendants)"},
				"session": obj{"type": "apiKey", "in": "cookie", "name": SessionCookie,
					"description": "The cookie PUT /api-sys/session sets (a signed JWT); DELETE /api-sys/session ends it"},
			},
		},
	}
}

// collectionPath is the path template of a resource's collection; the
// account in the path is named {account}, as the API index writes it.
func collectionPath(r *resource.Resource) string {
	if r.Parent != nil {
		return Base + r.Parent.Name + "/{account}/" + r.Name
	}
	return Base + r.Name
}

func indexPath() obj {
	doc := obj{"type": "array", "items": obj{"type": "object", "additionalProperties": false,
		"required": []string{"name", "description", "_links"},
		"properties": obj{"name": obj{"type": "string"}, "description": obj{"type": "string"},
			"_links": obj{"type": "object"}}}}
	return obj{
		"get": obj{"operationId": "index", "summary": "List the APIs, with HAL _links (templated for account sub-resources)",
			"tags": []string{"api-sys"}, "responses": withErrors(obj{"200": halResponse("The APIs", doc)}, authErrors...)},
		"options": obj{"operationId": "optionsIndex", "summary": "Document the index", "tags": []string{"api-sys"},
			"security": []any{}, "responses": obj{"200": optionsResponse()}},
	}
}

// pathItem describes the collection (item false) or record path of r:
// the methods the server answers there (methods, from server.go) and
// their parameters.
func pathItem(r *resource.Resource, item bool) obj {
	p := obj{}
	var params []obj
	if r.Parent != nil {
		params = append(params, obj{"name": "account", "in": "path", "required": true, "schema": obj{"type": "string"},
			"description": "The account: its GUID or username (in OPTIONS, * for any)"})
	}
	if item {
		what := "The record's GUID"
		switch {
		case r.Field("guid") == nil: // HydraAccount: named by its key only
			what = "The record's " + r.Key
		case r.Key != "":
			what += " or " + r.Key
		}
		params = append(params, obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"},
			"description": what})
	}
	if params != nil {
		p["parameters"] = params
	}
	var t Target
	t.Res = r
	if item {
		t.ID = "{id}"
	}
	for _, m := range methods(t) {
		op := operation(r, item, m)
		if _, public := op["security"]; !public {
			withErrors(op["responses"].(obj), authErrors...)
		}
		p[strings.ToLower(m)] = op
	}
	return p
}

// operationID names an operation uniquely: method, resource, Item.
func operationID(r *resource.Resource, item bool, method string) string {
	id := strings.ToLower(method) + strings.ToUpper(r.Name[:1]) + r.Name[1:]
	if item {
		id += "Item"
	}
	return id
}

func operation(r *resource.Resource, item bool, method string) obj {
	op := obj{"operationId": operationID(r, item, method), "tags": []string{r.Name}}
	switch method {
	case http.MethodOptions:
		op["summary"] = "Document " + r.Name + " (fields, types, methods)"
		op["security"] = []any{}
		op["responses"] = withErrors(obj{"200": optionsResponse()}, 404)
	case http.MethodGet:
		op["summary"], op["parameters"], op["responses"] = getOperation(r, item)
	case http.MethodPut, http.MethodPatch:
		putOperation(op, r, item, method, schemaRef(writtenSchemaName(r)))
	case http.MethodDelete:
		op["summary"] = "Delete a " + r.Name
		if d := byHand[r].deleted; d != "" {
			op["summary"] = d
		}
		op["responses"] = withErrors(obj{"200": halResponse("Deleted", schemaRef("Empty"))}, 400, 401, 403, 404, 409, 429, 503)
	}
	return op
}

// readErrors are the error statuses of a GET.
var readErrors = []int{400, 401, 403, 404, 429, 503}

// getOperation describes a GET: a listing, a record, or one of the
// resources the server answers in its own way (byhand.go).
func getOperation(r *resource.Resource, item bool) (string, []obj, obj) {
	errs := readErrors
	rec := schemaRef(recordSchemaName(r))
	h := byHand[r]
	switch {
	case h.get != nil:
		return h.get(r)
	case item:
		ok := halResponse("The record", arrayOf(rec))
		var params []obj
		if r.Media {
			params = append(params, obj{"name": "original", "in": "query", "schema": obj{"type": "string", "enum": []string{"true", "false"}},
				"description": "With Accept: audio/wav, true answers the upload as sent rather than the normalised 8 kHz WAV"})
		}
		if r.Media || h.audio {
			ok["content"].(obj)["audio/wav"] = obj{"schema": obj{"type": "string", "contentMediaType": "audio/wav"}}
			ok["description"] = "The record, or with Accept: audio/wav its audio"
		}
		return "Read a " + r.Name, params, withErrors(obj{"200": ok}, errs...)
	}
	list := arrayOf(rec)
	if r.LeanListing() {
		list = arrayOf(schemaRef(recordSchemaName(r) + "Summary"))
	}
	ok := halResponse("The records", list)
	if r.CSV { // cdrcsv.go
		ok["description"] = "The records, or with Accept: text/csv a header row of the field names and a row a record"
		ok["content"].(obj)["text/csv"] = obj{"schema": obj{"type": "string"}}
	}
	ok["headers"] = obj{"Link": obj{"description": "With ?limit, when there is more: `</api-sys/…?limit=N&after=CURSOR>; rel=\"next\"`",
		"schema": obj{"type": "string"}}}
	return "List " + r.Name, listParams(r), withErrors(obj{"200": ok}, errs...)
}

// listParams are the query parameters of a listing.
func listParams(r *resource.Resource) []obj {
	limit := obj{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": maxLimit},
		"description": "Return one page of at most N records; a Link rel=\"next\" header carries the cursor when there is more"}
	if h := byHand[r]; h.listParams != nil {
		return h.listParams(r, limit)
	}
	var params []obj
	if r.Filter != "" {
		params = append(params, obj{"name": "filter", "in": "query", "schema": obj{"type": "string", "maxLength": maxFilter},
			"description": "SQL LIKE pattern on " + r.Filter + " (% any run, _ one character, case-insensitive for ASCII), decoded leniently (see the API description)"})
	}
	params = append(params, limit, obj{"name": "after", "in": "query", "schema": obj{"type": "integer", "minimum": 0},
		"description": "Paging cursor, from a Link header"})
	if r.TimeFilter != "" {
		for _, b := range []string{"since", "until"} {
			params = append(params, obj{"name": b, "in": "query", "schema": obj{"type": "string", "format": "date-time"},
				"description": "Bound " + r.TimeFilter + " (RFC 3339)"})
		}
	}
	return params
}

// putOperation describes PUT and PATCH: creation on the collection,
// upsert or (PATCH, ?patch=true) partial update of a record.
func putOperation(op obj, r *resource.Resource, item bool, method string, rec obj) {
	errs := []int{400, 401, 403, 404, 405, 409, 413, 415, 429, 503}
	created := halResponse("Created", arrayOf(rec))
	created["headers"] = obj{"Location": obj{"required": true, "description": "The new record's path",
		"schema": obj{"type": "string"}}}
	if h := byHand[r]; h.put != nil {
		h.put(op, created) // no JSON record in: session's Basic credentials, bulk's CSV
		return
	}
	updated := halResponse("Updated", arrayOf(rec))
	body := obj{"application/json": obj{"schema": schemaRef(recordSchemaName(r) + "Input")}}
	switch {
	case !item && createdOnPath(r):
		op["summary"] = "Refused (400): create a " + r.Name + " with PUT on its " + r.Key + ", …/{id}"
		op["responses"] = withErrors(obj{}, 400, 405)
	case !item:
		op["summary"] = "Create a " + r.Name
		body["application/json"] = obj{"schema": schemaRef(recordSchemaName(r) + "Create")}
		op["responses"] = withErrors(obj{"201": created}, errs...)
	case method == http.MethodPatch:
		op["summary"] = "Update a " + r.Name + " (only the fields sent; 404 when missing)"
		op["responses"] = withErrors(obj{"200": updated}, errs...)
	default:
		op["summary"] = "Update a " + r.Name + ", or create it with this GUID or key (?patch=true: update only)"
		op["parameters"] = []obj{{"name": "patch", "in": "query", "schema": obj{"type": "string"},
			"description": "true or 1: update only, like PATCH (404 when missing)"}}
		op["responses"] = withErrors(obj{"200": updated, "201": created}, errs...)
	}
	if r.Media && item && method == http.MethodPut {
		op["summary"] = op["summary"].(string) + "; or upload its audio (a WAV)"
		wav := obj{"type": "string", "contentMediaType": "audio/wav"}
		body["multipart/form-data"] = obj{"schema": obj{"type": "object", "properties": obj{"file": wav}}}
		body["audio/wav"] = obj{"schema": wav}
		body["application/octet-stream"] = obj{"schema": wav}
	}
	op["requestBody"] = obj{"required": false, "content": body,
		"description": "A JSON object of the fields to set (an empty body is an empty object)"}
}

// createdOnPath reports whether r's records are created only by PUT on
// …/{key}: the key names the record and is read-only in a body
// (HydraAccount's number), so PUT on the collection is refused (400).
func createdOnPath(r *resource.Resource) bool {
	key := r.Field(r.Key)
	return key != nil && key.ReadOnly
}

func halResponse(desc string, schema obj) obj {
	return obj{"description": desc, "content": obj{ContentType: obj{"schema": schema}}}
}

func optionsResponse() obj {
	r := halResponse("The path's documentation", schemaRef("Documentation"))
	r["headers"] = obj{"Allow": obj{"schema": obj{"type": "string"}, "description": "The methods of the path"}}
	return r
}

func errorResponse() obj {
	r := halResponse("An error: `[{\"error\": \"what is wrong\"}]`. 401 comes with WWW-Authenticate: Basic realm=\"api-sys\", "+
		"405 with Allow, 429 and 503 with Retry-After", schemaRef("Error"))
	r["headers"] = obj{
		"WWW-Authenticate": obj{"schema": obj{"type": "string"}, "description": "On 401"},
		"Allow":            obj{"schema": obj{"type": "string"}, "description": "On 405"},
		"Retry-After":      obj{"schema": obj{"type": "integer"}, "description": "Seconds to wait, on 429 and 503"},
	}
	return r
}

// authErrors are what any request with credentials may be answered
// before the path is considered: wrong credentials (401), an account
// without api_access or disabled (403), too many failed logins (429), a
// store that cannot answer (503).
var authErrors = []int{401, 403, 429, 503}

// withErrors adds the error statuses to responses.
func withErrors(responses obj, codes ...int) obj {
	for _, c := range codes {
		responses[strconv.Itoa(c)] = obj{"$ref": "#/components/responses/Error"}
	}
	return responses
}

func schemaRef(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func arrayOf(items obj) obj { return obj{"type": "array", "items": items} }
