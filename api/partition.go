package api

import (
	"context"
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
	s     *Server
	ctx   context.Context
	scope resource.Scope
	known map[string]bool
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
	_, err := o.s.store.Get(o.ctx, "", resource.Account, "", name)
	return err == nil
}

// cdrFields are the CDR fields that may name the other party's account.
var cdrFields = []string{"from", "to", "answered_by"}

// redactCDR replaces other companies' usernames in a CDR read by a
// user-level caller.
func (o *outsiders) redactCDR(rec resource.Record) resource.Record {
	var vals map[string]any
	for _, f := range cdrFields {
		if v, _ := rec.Values[f].(string); v != "" && o.outside(v) {
			if vals == nil {
				vals = make(map[string]any, len(rec.Values))
				for k, v := range rec.Values {
					vals[k] = v
				}
			}
			vals[f] = anotherCompany
		}
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
