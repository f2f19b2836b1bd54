package api

import (
	"net/http"
	"slices"

	"xc5/resource"
)

// The JSON Schemas of the OpenAPI document: per resource, the record as
// the server writes it, its lean listing form, and the bodies PUT and
// PATCH accept, each built from the resource's field descriptions.

// recordSchemaName names the schemas of r's records: resources that list
// another's records (child, numberallocate) share its schemas.
func recordSchemaName(r *resource.Resource) string {
	if r.Canonical != nil {
		r = r.Canonical
	}
	return r.Name
}

// resourceSchemas adds r's schemas to schemas.
func resourceSchemas(schemas obj, r *resource.Resource) {
	if r.Canonical != nil || byHand[r].query { // calltrace's fields are its query (TraceStep answers)
		return
	}
	doc := r.Documentation(false) // the same descriptions OPTIONS gives
	name := recordSchemaName(r)
	schemas[name] = recordSchema(r, doc, false)
	if r.LeanListing() {
		schemas[name+"Summary"] = recordSchema(r, doc, true)
	}
	if hasWriteOnly(r) {
		// A write answers what it wrote, a generated password included
		// (shown once, in that answer): no field is write-only there.
		w := recordSchema(r, doc, false)
		for _, p := range w["properties"].(obj) {
			delete(p.(obj), "writeOnly")
		}
		schemas[name+"Written"] = w
	}
	if byHand[r].put != nil || !(slices.Contains(r.Methods, http.MethodPut) || r.Allows(http.MethodPatch, true)) {
		return // no JSON body: session's PUT takes Basic credentials only, bulk's CSV
	}
	input := obj{"type": "object", "additionalProperties": false, "properties": obj{
		"_links": obj{"description": "Ignored: clients may send back what they got"}}}
	var required []string
	for _, f := range r.Fields {
		if f.ReadOnly && f.Name != "guid" {
			continue // 400 when sent
		}
		input["properties"].(obj)[f.Name] = inputField(f, doc.Fields[f.Name].Description)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	schemas[name+"Input"] = input
	if slices.Contains(methods(Target{Res: r}), http.MethodPut) && !createdOnPath(r) {
		create := obj{"allOf": []obj{schemaRef(name + "Input")}}
		if required != nil {
			create["required"] = required
		}
		schemas[name+"Create"] = create
	}
}

// writtenSchemaName names the schema of the records writes answer.
func writtenSchemaName(r *resource.Resource) string {
	if hasWriteOnly(r) {
		return recordSchemaName(r) + "Written"
	}
	return recordSchemaName(r)
}

func hasWriteOnly(r *resource.Resource) bool {
	return slices.ContainsFunc(r.Fields, func(f resource.Field) bool { return f.WriteOnly })
}

// recordSchema is a record as GET and writes answer it (lean: only the
// Lean fields, as collection listings of such resources show them).
func recordSchema(r *resource.Resource, doc resource.Doc, lean bool) obj {
	props := obj{}
	for _, f := range r.Fields {
		if lean && !f.Lean {
			continue
		}
		props[f.Name] = outputField(f, doc.Fields[f.Name].Description)
	}
	s := obj{"type": "object", "description": r.Description, "additionalProperties": false, "properties": props}
	if !byHand[r].bare { // GET /api-sys/guid answers a bare {"guid"}
		props["_links"] = schemaRef("Links")
		s["required"] = []string{"_links"}
	}
	return s
}

// outputField is a field as the server writes it: always its own type.
func outputField(f resource.Field, desc string) obj {
	s := obj{"type": string(f.Type), "description": desc}
	if f.ReadOnly {
		s["readOnly"] = true
	} else if !f.Required {
		s["default"] = f.DefaultOf()
	}
	if f.WriteOnly {
		s["writeOnly"] = true
	}
	if len(f.Enum) > 0 {
		s["enum"] = f.Enum
	}
	if f.Max > f.Min {
		s["minimum"], s["maximum"] = f.Min, f.Max
	}
	return s
}

// inputField is a field as PUT and PATCH take it (resource.Decode):
// integers also as integer strings, booleans also as 0/1 and strings,
// and null (resetting the default) unless the field is required.
func inputField(f resource.Field, desc string) obj {
	s := obj{"description": desc}
	types := []any{string(f.Type)}
	switch f.Type {
	case resource.Integer:
		types = append(types, "string")
		s["pattern"] = `^\s*[-+]?[0-9]+\s*$`
		if f.Max > f.Min {
			s["minimum"], s["maximum"] = f.Min, f.Max
		}
	case resource.Boolean:
		types = append(types, "integer", "string")
		s["minimum"], s["maximum"] = 0, 1
		s["pattern"] = `^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[01])\s*$`
	}
	if len(f.Enum) > 0 {
		enum := []any{}
		for _, v := range f.Enum {
			enum = append(enum, v)
		}
		if !f.Required {
			enum = append(enum, nil)
		}
		s["enum"] = enum
	}
	if !f.Required {
		types = append(types, "null")
	}
	s["type"] = types
	if f.Name != "guid" && !f.Required {
		s["default"] = f.DefaultOf()
	}
	if f.WriteOnly {
		s["writeOnly"] = true
	}
	return s
}

// baseSchemas are the shapes every resource shares.
func baseSchemas() obj {
	str := obj{"type": "string"}
	href := obj{"type": "object", "additionalProperties": false, "required": []string{"href"},
		"properties": obj{"href": str}}
	types := []resource.Type{resource.String, resource.Integer, resource.Boolean}
	return obj{
		"Error": obj{"type": "array", "minItems": 1, "maxItems": 1, "description": "An error: [{\"error\": \"what is wrong\"}]",
			"items": obj{"type": "object", "additionalProperties": false, "required": []string{"error"},
				"properties": obj{"error": str}}},
		"Empty": obj{"type": "array", "maxItems": 0, "description": "[]"},
		"Links": obj{"type": "object", "readOnly": true, "additionalProperties": false, "required": []string{"self"},
			"description": "HAL links, built from GUIDs", "properties": obj{"self": href, "parent": href}},
		"Documentation": obj{"type": "array", "minItems": 1, "maxItems": 1, "description": "What OPTIONS answers",
			"items": obj{"type": "object", "additionalProperties": false, "required": []string{"description", "methods", "fields"},
				"properties": obj{"description": str, "methods": obj{"type": "array", "items": str},
					"fields": obj{"type": "object", "additionalProperties": obj{"type": "object", "additionalProperties": false,
						"required":   []string{"type", "description"},
						"properties": obj{"type": obj{"enum": types}, "description": str}}}}}},
		"TraceStep": obj{"type": "object", "additionalProperties": false,
			"description": "A step of a call trace (kind, account, text), or the last element, the outcome with its details",
			"properties": obj{"kind": str, "account": str, "text": str, "guid": str, "order": obj{"type": "integer"},
				"outcome": str, "by": str, "to": str, "prompt": str, "code": obj{"type": "integer"}, "reason": str,
				"room": str, "number": str, "mailbox": str, "record": obj{"type": "array", "items": str}}},
	}
}
