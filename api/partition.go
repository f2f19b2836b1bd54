package api

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"xc5/resource"
)

// anotherCompany replaces, for a user-level caller, a username outside
// its partition (resource.Outsiders; docs/api.md, "What a partitioned
// user may do").
const anotherCompany = resource.AnotherCompany

func (s *Server) outsiders(ctx context.Context, c Caller) *resource.Outsiders {
	return resource.NewOutsiders(ctx, s.store, c.Scope)
}

// readFilter returns what a read of t by c passes each record through:
// below system level, the resource's Redact (CDRs lose other companies'
// usernames).
func (s *Server) readFilter(ctx context.Context, c Caller, t Target) func(resource.Record) resource.Record {
	if c.Scope == "" || t.Res.Redact == nil {
		return func(rec resource.Record) resource.Record { return rec }
	}
	o, redact := s.outsiders(ctx, c), t.Res.Redact
	return func(rec resource.Record) resource.Record { return redact(o, rec) }
}

// errPageFull stops a listing once a page has its records.
var errPageFull = errors.New("page full")

// redactedMatch is, for a user-level caller's CDR list with ?filter=, the
// filter applied to the record as the caller reads it (redacted) instead
// of by the store, which would match the stored values and so tell which
// of another company's names a CDR holds. It takes the filter out of q;
// nil when the store filters.
func redactedMatch(c Caller, t Target, q *resource.Query) func(resource.Record) bool {
	if c.Scope == "" || t.Res.Redact == nil || q.Filter == "" {
		return nil
	}
	re := likePattern(q.Filter)
	q.Filter = ""
	return func(rec resource.Record) bool {
		v, _ := rec.Values[t.Res.Filter].(string)
		return re.MatchString(v)
	}
}

// likePattern compiles a SQL LIKE pattern as the stores apply it: %
// any run, _ any one character, case-insensitive.
func likePattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)^")
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
