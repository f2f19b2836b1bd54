package api

// Collection listings: the query parameters, one page with a Link to the
// next, or the whole collection streamed as it is read.

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"xc5"
	"xc5/resource"
)

// list streams a collection: records are written as they are read, batch
// by batch, so that memory stays flat whatever the size. With ?limit=N the
// page is buffered and a Link rel="next" header carries the cursor.
func (s *Server) list(w http.ResponseWriter, r *http.Request, c Caller, t Target, q map[string]string) error {
	query, err := listQuery(t, q)
	if err != nil {
		return err
	}
	l := listing{filter: s.readFilter(r.Context(), c, t), pattern: query.Filter}
	l.match = redactedMatch(c, t, &query)
	if t.Res.CSV && wantsCSV(r) {
		return s.listCSV(w, r, c, t, q, query, l.pattern, l.filter, l.match) // cdrcsv.go
	}
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return xc5.Errorf(xc5.EINVALID, "limit must be an integer from 1 to %d", maxLimit)
		}
		return s.listPage(w, r, c, t, query, l, n)
	}
	return s.listStream(w, r, c, t, query, l)
}

// listQuery reads a listing's query parameters: ?filter=, the RFC 3339
// bounds ?since= and ?until=, and the paging cursor ?after=.
func listQuery(t Target, q map[string]string) (resource.Query, error) {
	query := resource.Query{Parent: t.Parent, Filter: q["filter"]}
	for _, b := range []struct {
		name string
		to   *string
	}{{"since", &query.Since}, {"until", &query.Until}} {
		if v, ok := q[b.name]; ok {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return query, xc5.Errorf(xc5.EINVALID, "%s %q is not an RFC 3339 time", b.name, v)
			}
			*b.to = at.UTC().Format(time.RFC3339)
		}
	}
	if len(query.Filter) > maxFilter {
		return query, xc5.Errorf(xc5.EINVALID, "filter is longer than %d bytes", maxFilter)
	}
	if v, ok := q["after"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return query, xc5.Errorf(xc5.EINVALID, "after must be a cursor from a Link header")
		}
		query.After = n
	}
	return query, nil
}

// listing is how a listing passes records through: filter redacts what
// the caller may not read, match (nil when the store filters) keeps the
// records that match ?filter= as redacted, pattern is ?filter= itself.
type listing struct {
	filter  func(resource.Record) resource.Record
	match   func(resource.Record) bool
	pattern string
}

// listPage answers one page of at most n records, with a Link header to
// the next page when there is more.
func (s *Server) listPage(w http.ResponseWriter, r *http.Request, c Caller, t Target, query resource.Query, l listing, n int) error {
	query.Limit = n + 1
	if l.match != nil {
		query.Limit = 0 // the store cannot count what the filter keeps
	}
	var recs []resource.Record
	if err := s.store.List(r.Context(), c.Scope, t.Res, query, func(rec resource.Record) error {
		if rec = l.filter(rec); l.match == nil || l.match(rec) {
			recs = append(recs, rec)
		}
		if len(recs) > n {
			return errPageFull
		}
		return nil
	}); err != nil && !errors.Is(err, errPageFull) {
		return err
	}
	if len(recs) > n {
		recs = recs[:n]
		next := url.Values{"limit": {strconv.Itoa(n)}, "after": {strconv.FormatInt(recs[n-1].Seq, 10)}}
		if l.pattern != "" {
			next.Set("filter", l.pattern)
		}
		w.Header().Set("Link", "<"+r.URL.Path+"?"+next.Encode()+`>; rel="next"`)
	}
	lean := t.Res.LeanListing() // the description says which listings are lean
	b := []byte{'['}
	for i, rec := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRecord(b, t.Res, rec, lean)
	}
	writeJSON(w, http.StatusOK, append(b, "]\n"...))
	return nil
}

// listStream writes a whole collection as it is read. The first batch is
// read before the status is sent, so that a bad parent is still a clean
// 404.
func (s *Server) listStream(w http.ResponseWriter, r *http.Request, c Caller, t Target, query resource.Query, l listing) error {
	lean := t.Res.LeanListing()
	var buf []byte
	started, n := false, 0
	flush := func() {
		if !started {
			w.Header().Set("Content-Type", ContentType)
			w.WriteHeader(http.StatusOK)
			started = true
		}
		w.Write(buf)
		buf = buf[:0]
		w.(http.Flusher).Flush()
	}
	buf = append(buf, '[')
	err := s.store.List(r.Context(), c.Scope, t.Res, query, func(rec resource.Record) error {
		if rec = l.filter(rec); l.match != nil && !l.match(rec) {
			return r.Context().Err()
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		buf = appendRecord(buf, t.Res, rec, lean)
		if len(buf) > 32<<10 {
			flush()
		}
		return r.Context().Err()
	})
	if err != nil {
		if started {
			// The status is gone; cut the connection so the client sees a
			// broken response rather than a short list that looks whole.
			s.log.Error("listing failed mid-stream", "path", r.URL.Path, "err", err)
			panic(http.ErrAbortHandler)
		}
		return err
	}
	buf = append(buf, "]\n"...)
	if !started {
		writeJSON(w, http.StatusOK, buf)
		return nil
	}
	flush()
	return nil
}
