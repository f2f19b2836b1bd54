package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"xc5/api"
	"xc5/resource"
)

// TestOpenAPIDocumentServed: GET /api-sys/openapi.json answers, without
// credentials, an OpenAPI 3.1 document that kin-openapi loads and
// validates, written without HTML escapes.
func TestOpenAPIDocumentServed(t *testing.T) {
	e := newEnv(t)
	r := e.doAs("", "", "GET", api.OpenAPIPath, "")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%v\nwant 200 application/json", r)
	}
	if !bytes.Equal(r.Body, api.OpenAPI()) {
		t.Error("the served document differs from api.OpenAPI()")
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.Body)
	if err != nil {
		t.Fatalf("LoadFromData: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if !bytes.Contains(r.Body, []byte("<CallRule-International>")) || bytes.Contains(r.Body, []byte(`\u003c`)) {
		t.Error("the document escapes < and >")
	}
	for name := range doc.Components.Schemas { // tools warn of unused components
		if !bytes.Contains(r.Body, []byte(`"#/components/schemas/`+name+`"`)) {
			t.Errorf("schema %s is never used", name)
		}
	}
	if h := e.doAs("", "", "HEAD", api.OpenAPIPath, ""); h.Status != http.StatusOK || len(h.Body) != 0 {
		t.Errorf("HEAD: %v", h)
	}
	p := e.doAs("", "", "POST", api.OpenAPIPath, "{}")
	if p.Status != http.StatusMethodNotAllowed || p.Header.Get("Allow") != "GET" {
		t.Errorf("POST: %v (Allow %q), want 405 Allow GET", p, p.Header.Get("Allow"))
	}
	p.records(t)
}

// recordSchemaOf resolves the record schema a resource's operations answer.
func recordSchemaOf(t *testing.T, doc *openapi3.T, coll string, r *resource.Resource) *openapi3.Schema {
	t.Helper()
	var op *openapi3.Operation
	status := 200
	if pi := doc.Paths.Value(coll + "/{id}"); pi != nil && pi.Get != nil {
		op = pi.Get
	} else if pi := doc.Paths.Value(coll); pi.Get != nil {
		op = pi.Get
	} else {
		op, status = pi.Put, 201
	}
	s := op.Responses.Status(status).Value.Content.Get(api.ContentType).Schema.Value.Items.Value
	if s == nil || s.Properties == nil {
		t.Fatalf("%s: no record schema", r.Name)
	}
	return s
}

// TestOpenAPIEveryResource: every resource of resource.All is in the
// document: its paths with exactly the methods the server allows there
// (its OPTIONS Allow header), every field with the type and description
// OPTIONS gives, its read-only and write-only flags, default, enum and
// bounds; the body PUT and PATCH take; ?filter and ?limit; and the index
// links to the same path templates.
func TestOpenAPIEveryResource(t *testing.T) {
	e := newEnv(t)
	doc, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]string{}
	for _, rec := range e.must(200, "GET", "/api-sys/", "").records(t) {
		index[rec["name"].(string)] = rec["_links"].(map[string]any)["self"].(map[string]any)["href"].(string)
	}
	for _, r := range resource.All {
		t.Run(r.Name, func(t *testing.T) {
			if doc.Tags.Get(r.Name) == nil || doc.Tags.Get(r.Name).Description != r.Description {
				t.Errorf("no tag %s with the resource's description", r.Name)
			}
			coll := index[r.Name]
			paths := []string{coll}
			if !r.NoItems {
				paths = append(paths, coll+"/{id}")
			}
			for _, p := range paths {
				checkPathMethods(t, e, doc, p)
			}
			checkFields(t, e, doc, coll, r)
			if list := doc.Paths.Value(coll).Get; list != nil && r != resource.GUID && r != resource.CallTrace && r != resource.Voicemail {
				if r.Filter != "" && list.Parameters.GetByInAndName("query", "filter") == nil {
					t.Errorf("GET %s has no ?filter", coll)
				}
				if list.Parameters.GetByInAndName("query", "limit") == nil {
					t.Errorf("GET %s has no ?limit", coll)
				}
			}
		})
	}
	basic, session := doc.Components.SecuritySchemes["basic"], doc.Components.SecuritySchemes["session"]
	if basic == nil || basic.Value.Type != "http" || basic.Value.Scheme != "basic" {
		t.Errorf("basic scheme %+v", basic)
	}
	if session == nil || session.Value.Type != "apiKey" || session.Value.In != "cookie" || session.Value.Name != api.SessionCookie {
		t.Errorf("session scheme %+v", session)
	}
	if len(doc.Security) != 2 {
		t.Errorf("global security %v, want basic or session", doc.Security)
	}
}

// checkPathMethods compares a path's operations with what the server
// answers OPTIONS there, and checks that OPTIONS is public in both.
func checkPathMethods(t *testing.T, e *env, doc *openapi3.T, p string) {
	t.Helper()
	pi := doc.Paths.Value(p)
	if pi == nil {
		t.Fatalf("no path %s", p)
	}
	concrete := strings.NewReplacer("{account}", "*", "{id}", "x").Replace(p)
	o := e.doAs("", "", "OPTIONS", concrete, "")
	if o.Status != 200 {
		t.Fatalf("%v", o)
	}
	allow := strings.Split(o.Header.Get("Allow"), ", ")
	var got []string
	for m := range pi.Operations() {
		got = append(got, m)
	}
	sort.Strings(allow)
	sort.Strings(got)
	if !slices.Equal(allow, got) {
		t.Errorf("%s: document %v, server allows %v", p, got, allow)
	}
	if pi.Options == nil || pi.Options.Security == nil || len(*pi.Options.Security) != 0 {
		t.Errorf("OPTIONS %s is not public in the document", p)
	}
}

// checkFields compares the record schema and body schema with OPTIONS.
func checkFields(t *testing.T, e *env, doc *openapi3.T, coll string, r *resource.Resource) {
	t.Helper()
	concrete := strings.ReplaceAll(coll, "{account}", "*")
	fields := e.doAs("", "", "OPTIONS", concrete, "").records(t)[0]["fields"].(map[string]any)
	if r == resource.CallTrace { // its fields are the query of GET
		for name, f := range fields {
			p := doc.Paths.Value(coll).Get.Parameters.GetByInAndName("query", name)
			if p == nil || p.Description != r.Field(name).Description {
				t.Errorf("calltrace: no query parameter %s (%v)", name, f)
			}
		}
		return
	}
	rec := recordSchemaOf(t, doc, coll, r)
	var input *openapi3.Schema
	for _, pi := range []*openapi3.PathItem{doc.Paths.Value(coll + "/{id}"), doc.Paths.Value(coll)} {
		if pi != nil && pi.Patch != nil {
			input = pi.Patch.RequestBody.Value.Content.Get("application/json").Schema.Value
		}
	}
	want := len(fields) + 1 // and _links
	if r == resource.GUID {
		want--
	}
	if len(rec.Properties) != want {
		t.Errorf("record schema has %d properties, OPTIONS %d fields (+_links)", len(rec.Properties), len(fields))
	}
	for name, v := range fields {
		f, want := r.Field(name), v.(map[string]any)
		s := rec.Properties[name]
		if s == nil {
			t.Errorf("field %s is not in the record schema", name)
			continue
		}
		got := s.Value
		if !got.Type.Is(want["type"].(string)) || got.Description != want["description"] {
			t.Errorf("field %s: %v %q, OPTIONS %v", name, got.Type, got.Description, want)
		}
		if got.ReadOnly != f.ReadOnly || got.WriteOnly != f.WriteOnly {
			t.Errorf("field %s: readOnly %v writeOnly %v, want %v %v", name, got.ReadOnly, got.WriteOnly, f.ReadOnly, f.WriteOnly)
		}
		if !f.ReadOnly && !f.Required && fmt.Sprint(got.Default) != fmt.Sprint(f.DefaultOf()) {
			t.Errorf("field %s: default %v, want %v", name, got.Default, f.DefaultOf())
		}
		if fmt.Sprint(got.Enum) != fmt.Sprint(enumOf(f)) {
			t.Errorf("field %s: enum %v, want %v", name, got.Enum, f.Enum)
		}
		if f.Max > f.Min && (got.Min == nil || *got.Min != float64(f.Min) || got.Max == nil || *got.Max != float64(f.Max)) {
			t.Errorf("field %s: bounds %v..%v, want %d..%d", name, got.Min, got.Max, f.Min, f.Max)
		}
		if input != nil {
			_, in := input.Properties[name]
			if in != (!f.ReadOnly || name == "guid") {
				t.Errorf("field %s: in the PATCH body schema %v, read-only %v", name, in, f.ReadOnly)
			}
		}
	}
}

func enumOf(f *resource.Field) []any {
	var out []any
	for _, v := range f.Enum {
		out = append(out, v)
	}
	return out
}
