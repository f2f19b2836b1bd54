package api

// PUT /api-sys/account/{company}/bulk: a company's users from CSV, the
// same onboarding as xc5 import-csv (resource.Onboarder).

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"

	"xc5"
	"xc5/resource"
)

// bulk answers PUT …/account/{company}/bulk (text/csv; ?dry_run=true):
// 201 with the users created, 200 with those a dry run would create, or
// 400 with every problem of the file, one error entry a problem.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request, c Caller, t Target, q map[string]string) error {
	ob, ok := s.store.(resource.Onboarder)
	if !ok {
		return xc5.Errorf(xc5.ENOTALLOWED, "this store cannot onboard users")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "text/csv" {
		return xc5.Errorf(xc5.EUNSUPPORTED, "send the users as CSV, Content-Type: text/csv (columns %s)", "username, extension, ddi, voicemail")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return xc5.Errorf(xc5.ETOOLARGE, "the body is larger than %d bytes", MaxBody)
		}
		return xc5.Errorf(xc5.EINVALID, "reading the body: %v", err)
	}
	users, err := resource.ParseBulkCSV(bytes.NewReader(body))
	dry := q["dry_run"] == "true" || q["dry_run"] == "1"
	var done []resource.BulkResult
	if err == nil {
		done, err = ob.Onboard(r.Context(), c.Scope, t.Parent, users, dry)
	}
	var problems resource.BulkProblems
	if errors.As(err, &problems) {
		b := []byte{'['}
		for i, p := range problems {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(append(b, `{"error":`...), p)
			b = append(b, '}')
		}
		writeJSON(w, http.StatusBadRequest, append(b, "]\n"...))
		return nil
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if dry {
		status = http.StatusOK
	}
	writeJSON(w, status, appendBulk(done))
	return nil
}

// appendBulk writes the onboarded users as HAL records, each linking to
// its account (by username on a dry run, which made none).
func appendBulk(done []resource.BulkResult) []byte {
	b := []byte{'['}
	for i, u := range done {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"line":`...)
		b = appendValue(b, int64(u.Line))
		for _, f := range [][2]string{{"username", u.Username}, {"guid", u.GUID}, {"password", u.Password},
			{"extension", u.Extension}, {"ddi", u.DDI}, {"voicemail", u.Voicemail}} {
			b = appendString(append(b, ','), f[0])
			b = appendString(append(b, ':'), f[1])
		}
		id := u.GUID
		if id == "" {
			id = u.Username
		}
		b = append(b, `,"_links":{"self":{"href":`...)
		b = appendString(b, Base+"account/"+id)
		b = append(b, "}}}"...)
	}
	return append(b, "]\n"...)
}

// bulkOperation describes PUT …/bulk in the OpenAPI document.
func bulkOperation(op obj) {
	r := resource.Bulk
	rec := arrayOf(schemaRef(recordSchemaName(r)))
	op["summary"] = "Onboard a company's users from CSV (all or nothing)"
	op["parameters"] = []obj{{"name": "dry_run", "in": "query", "schema": obj{"type": "string", "enum": []string{"true", "1", "false", "0"}},
		"description": "true or 1: check every line and write nothing (200 with the users it would create)"}}
	op["requestBody"] = obj{"required": true, "description": "A header row naming username, extension, ddi, voicemail (username required), then a user a line",
		"content": obj{"text/csv": obj{"schema": obj{"type": "string"}}}}
	problem := obj{"type": "object", "additionalProperties": false, "required": []string{"error"},
		"properties": obj{"error": obj{"type": "string", "description": "One problem: \"line N: what is wrong\""}}}
	problems := arrayOf(problem)
	problems["minItems"] = 1
	op["responses"] = withErrors(obj{"201": halResponse("The users created, with their generated passwords", rec),
		"200": halResponse("The users a dry run would create", rec),
		"400": halResponse("Every problem of the file, one entry each; nothing was written", problems)},
		401, 403, 404, 413, 415, 429, 503)
}
