package api

// GET …/account/{id}/cdr with Accept: text/csv: the call records as CSV,
// for spreadsheets and billing imports, streamed like the JSON listing.

import (
	"encoding/csv"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"xc5"
	"xc5/resource"
)

// wantsCSV reports whether the client asked for text/csv.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part)); mt == "text/csv" {
			return true
		}
	}
	return false
}

// listCSV writes the records a listing selects as CSV: a header row of
// the resource's field names, then a row a record, every field (the JSON
// listing's lean form is for screens; a CSV is for keeping). The same
// query, partition redaction (keep) and filters as the JSON listing
// apply. Rows are flushed as they come, so memory stays flat; with
// ?limit=N the page is buffered for its Link header, as in JSON.
func (s *Server) listCSV(w http.ResponseWriter, r *http.Request, c Caller, t Target, q map[string]string, query resource.Query,
	pattern string, keep func(resource.Record) resource.Record, match func(resource.Record) bool) error {
	limit := 0
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return xc5.Errorf(xc5.EINVALID, "limit must be an integer from 1 to %d", maxLimit)
		}
		limit = n
		if match == nil {
			query.Limit = n + 1
		}
	}
	cw := csv.NewWriter(w)
	started, rows := false, 0
	var page []resource.Record
	start := func() {
		if !started {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			cw.Write(fieldNames(t.Res))
			started = true
		}
	}
	err := s.store.List(r.Context(), c.Scope, t.Res, query, func(rec resource.Record) error {
		if rec = keep(rec); match != nil && !match(rec) {
			return r.Context().Err()
		}
		if limit > 0 {
			page = append(page, rec)
			if len(page) > limit {
				return errPageFull
			}
			return nil
		}
		start()
		cw.Write(csvRow(t.Res, rec))
		if rows++; rows%256 == 0 {
			cw.Flush()
			w.(http.Flusher).Flush()
		}
		return r.Context().Err()
	})
	if err != nil && !errors.Is(err, errPageFull) {
		if !started {
			return err
		}
		return nil // the status is sent; the client sees a cut body
	}
	if limit > 0 && len(page) > limit {
		page = page[:limit]
		next := url.Values{"limit": {strconv.Itoa(limit)}, "after": {strconv.FormatInt(page[limit-1].Seq, 10)}}
		if pattern != "" {
			next.Set("filter", pattern)
		}
		w.Header().Set("Link", "<"+r.URL.Path+"?"+next.Encode()+`>; rel="next"`)
	}
	start()
	for _, rec := range page {
		cw.Write(csvRow(t.Res, rec))
	}
	cw.Flush()
	return nil
}

func fieldNames(r *resource.Resource) []string {
	names := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		names[i] = f.Name
	}
	return names
}

// csvRow is a record's values in field order: strings as they are
// (made inert when a spreadsheet would read them as formulas: xc5.CSVCell),
// integers and booleans in their JSON spelling, missing values empty.
func csvRow(r *resource.Resource, rec resource.Record) []string {
	row := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		switch v := rec.Values[f.Name].(type) {
		case string:
			row[i] = xc5.CSVCell(v)
		case int64:
			row[i] = strconv.FormatInt(v, 10)
		case bool:
			row[i] = strconv.FormatBool(v)
		case nil:
		default:
			row[i] = string(appendValue(nil, v))
		}
	}
	return row
}
