package api

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"xc5/resource"
)

// What a user-level caller reads about calls that cross into another
// company: the other company's usernames are replaced, never shown
// (docs/api.md, "What a partitioned user may do").

// anotherCompany replaces, for a user-level caller, a username outside
// its partition.
const anotherCompany = "another company"

// outsiders answers, for one request of a user-level caller, whether a
// name is an account outside its partition; answers are remembered for
// the request, which may ask about the same names many times.
type outsiders struct {
	s      *Server
	ctx    context.Context
	scope  resource.Scope
	known  map[string]bool
	domain *string // the partition's domain, once looked up
}

func (s *Server) outsiders(ctx context.Context, c Caller) *outsiders {
	return &outsiders{s: s, ctx: ctx, scope: c.Scope, known: map[string]bool{}}
}

// inside reports whether user is an account of the partition.
func (o *outsiders) inside(user string) bool {
	v, ok := o.known[user]
	if !ok {
		_, err := o.s.store.Get(o.ctx, o.scope, resource.Account, "", user)
		v = err == nil
		o.known[user] = v
	}
	return v
}

// outside reports whether name is an existing account outside the
// partition (a number or a word that names no account is not).
func (o *outsiders) outside(name string) bool {
	if !strings.ContainsAny(name, "@.") || o.inside(name) {
		return false
	}
	return o.exists(name)
}

// exists reports whether any account has the name now.
func (o *outsiders) exists(name string) bool {
	_, err := o.s.store.Get(o.ctx, "", resource.Account, "", name)
	return err == nil
}

// shown reports whether a CDR value may be shown to the partition: a
// number or word that names no account (an external number,
// "anonymous"), an account of the partition, or a name in the partition's
// domain that no account holds now (its own deleted or renamed account).
// Any other username-like value is another company's, current or gone.
func (o *outsiders) shown(v string) bool {
	if !strings.ContainsAny(v, "@.") || o.inside(v) {
		return true
	}
	if o.domain == nil {
		d := ""
		root := strings.TrimSuffix(string(o.scope), "/")
		if rec, err := o.s.store.Get(o.ctx, "", resource.Account, "", root[strings.LastIndexByte(root, '/')+1:]); err == nil {
			d = resource.PartitionDomain(rec.Values["username"].(string))
		}
		o.domain = &d
	}
	return *o.domain != "" && resource.InDomain(v, *o.domain) && !o.exists(v)
}

// cdrFields are the CDR fields that may name the other party's account.
var cdrFields = []string{"from", "to", "answered_by"}

// redactCDR replaces other companies' usernames in a CDR read by a
// user-level caller: every username-like value that is not the
// partition's, so that deleted and renamed accounts of other companies
// are hidden too.
func (o *outsiders) redactCDR(rec resource.Record) resource.Record {
	var vals map[string]any
	set := func(f, v string) {
		if vals == nil {
			vals = make(map[string]any, len(rec.Values))
			for k, v := range rec.Values {
				vals[k] = v
			}
		}
		vals[f] = v
	}
	for _, f := range cdrFields {
		if v, _ := rec.Values[f].(string); v != "" && !o.shown(v) {
			set(f, anotherCompany)
		}
	}
	if rec.Values["withheld"] == true {
		set("from", "anonymous") // the caller withheld it; the provider still reads it
	}
	if vals != nil {
		rec.Values = vals
	}
	return rec
}

// readFilter returns what a read of t by c passes each record through:
// CDRs lose other companies' usernames below system level.
func (s *Server) readFilter(ctx context.Context, c Caller, t Target) func(resource.Record) resource.Record {
	if c.Scope == "" || t.Res != resource.CDR {
		return func(rec resource.Record) resource.Record { return rec }
	}
	return s.outsiders(ctx, c).redactCDR
}

// errPageFull stops a listing once a page has its records.
var errPageFull = errors.New("page full")

// redactedMatch is, for a user-level caller's CDR list with ?filter=, the
// filter applied to the record as the caller reads it (redacted) instead
// of by the store, which would match the stored values and so tell which
// of another company's names a CDR holds. It takes the filter out of q;
// nil when the store filters.
func redactedMatch(c Caller, t Target, q *resource.Query) func(resource.Record) bool {
	if c.Scope == "" || t.Res != resource.CDR || q.Filter == "" {
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
