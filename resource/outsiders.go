package resource

import (
	"context"
	"strings"
	"time"
)

// What a user-level reader learns about calls that cross into another
// company: the other company's usernames are replaced, never shown
// (docs/api.md, "What a partitioned user may do"). The API and the
// company portal both read through Outsiders, so that they hide the same.

// AnotherCompany replaces, for a user-level reader, a username outside
// its partition.
const AnotherCompany = "another company"

// Outsiders answers, for one request of a user-level reader, whether a
// name is an account outside its partition; answers are remembered for
// the request, which may ask about the same names many times.
type Outsiders struct {
	store  AccountGetter
	ctx    context.Context
	scope  Scope
	known  map[string]bool
	domain *string // the partition's domain, once looked up
}

// AccountGetter is the part of Store that Outsiders reads: the store's
// webhook events read through the writer's transaction.
type AccountGetter interface {
	Get(ctx context.Context, scope Scope, r *Resource, parent, id string) (Record, error)
}

// NewOutsiders answers for the partition scope (not "").
func NewOutsiders(ctx context.Context, store AccountGetter, scope Scope) *Outsiders {
	return &Outsiders{store: store, ctx: ctx, scope: scope, known: map[string]bool{}}
}

// Inside reports whether user is an account of the partition.
func (o *Outsiders) Inside(user string) bool {
	v, ok := o.known[user]
	if !ok {
		_, err := o.store.Get(o.ctx, o.scope, Account, "", user)
		v = err == nil
		o.known[user] = v
	}
	return v
}

// Outside reports whether name is an existing account outside the
// partition (a number or a word that names no account is not).
func (o *Outsiders) Outside(name string) bool {
	if !strings.ContainsAny(name, "@.") || o.Inside(name) {
		return false
	}
	return o.exists(name)
}

// exists reports whether any account has the name now.
func (o *Outsiders) exists(name string) bool {
	_, err := o.store.Get(o.ctx, "", Account, "", name)
	return err == nil
}

// Shown reports whether a CDR value may be shown to the partition: a
// number or word that names no account (an external number,
// "anonymous"), an account of the partition, or a name in the partition's
// domain that no account holds now (its own deleted or renamed account).
// Any other username-like value is another company's, current or gone.
func (o *Outsiders) Shown(v string) bool {
	if !strings.ContainsAny(v, "@.") || o.Inside(v) {
		return true
	}
	if o.domain == nil {
		d := ""
		root := strings.TrimSuffix(string(o.scope), "/")
		if rec, err := o.store.Get(o.ctx, "", Account, "", root[strings.LastIndexByte(root, '/')+1:]); err == nil {
			d = PartitionDomain(rec.Values["username"].(string))
		}
		o.domain = &d
	}
	return *o.domain != "" && InDomain(v, *o.domain) && !o.exists(v)
}

// cdrFields are the CDR fields that may name the other party's account.
var cdrFields = []string{"from", "to", "answered_by"}

// RedactCDR replaces other companies' usernames in a CDR read by a
// user-level reader: every username-like value that is not the
// partition's, so that deleted and renamed accounts of other companies
// are hidden too.
func (o *Outsiders) RedactCDR(rec Record) Record {
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
		if v, _ := rec.Values[f].(string); v != "" && !o.Shown(v) {
			set(f, AnotherCompany)
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

// RegisteredNow reports whether an account (by GUID) has a live SIP
// registration.
func RegisteredNow(ctx context.Context, store Store, guid string) bool {
	now := time.Now().UTC().Format(time.RFC3339)
	found := false
	store.List(ctx, "", Registration, Query{Parent: guid}, func(rec Record) error {
		if exp, _ := rec.Values["expires"].(string); exp > now {
			found = true
		}
		return nil
	})
	return found
}
