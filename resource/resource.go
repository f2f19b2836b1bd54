// Package resource holds one declarative description per api-sys resource:
// its fields, their types, defaults, descriptions and validation, and where
// it hangs in the path tree, what it lists lean, which references hold what
// it names, its cross-field rules and the events a write causes; and the
// provisioning store contract (Store, store.go). The HTTP server, the
// OPTIONS and OpenAPI documents, the portal and the SQL store are all
// driven by these descriptions, so adding a resource means describing it
// here, not writing handlers.
package resource

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"xc5"
)

// Type is the JSON type of a field as shown by OPTIONS.
type Type string

// Field types.
const (
	String  Type = "string"
	Integer Type = "integer"
	Boolean Type = "boolean"
)

// Field describes one field of a resource.
type Field struct {
	Name        string
	Type        Type
	Description string
	// Default is the value of a field that was never set or was reset with
	// a JSON null. Its Go type follows Type: string, int64 or bool.
	Default any
	// ReadOnly fields are produced by the server; a client that sends one
	// gets a 400 (guid excepted, see Decode).
	ReadOnly bool
	// WriteOnly fields are accepted but never returned by a GET (passwords).
	WriteOnly bool
	// Secret fields (a voicemail PIN) are read back through the API, but
	// masked in the audit trail and left out of webhook events, which
	// reach more eyes than the record does.
	Secret bool
	// Lean fields are the ones shown in collection listings of resources
	// that have a verbose single-record view (accounts).
	Lean bool
	// Required fields must be present when a record is created.
	Required bool
	// Min and Max bound integer fields (inclusive) when Max > Min.
	Min, Max int64
	// Enum, when set, lists every value a string field takes. Decode
	// refuses others (after Check has normalised the value), and the
	// OpenAPI document shows the list, so it is written once, here.
	Enum []string
	// Check validates and normalises a value after type conversion. It
	// returns the value to store.
	Check func(v any) (any, error)
	// Parse, for a field written in one of dialplan's grammars, is Check
	// that also returns the value's parsed form (nil for an empty value),
	// which the write carries on so that nothing parses it again
	// (parsed.go). Such a field's Check is Parse without the form.
	Parse func(s string) (text string, form any, err error)
	// Ref names what a non-empty value must refer to; the store checks it
	// inside the write's transaction.
	Ref Ref
	// Holds marks a reference that keeps what it names: the record named
	// cannot be deleted or renamed while this field names it (409). The
	// store derives its reverse references from these (Resource.UsedBy).
	Holds bool
	// Outbound marks a URL the server itself calls (a webhook's): the API
	// refuses loopback and private addresses unless the server allows them.
	Outbound bool
	// Of is the resource whose field this is, when a view shows and writes
	// it through (HydraAccount's account fields); nil for its own fields.
	Of *Resource
}

// Ref is a kind of reference from a field to another record.
type Ref int

// References that the store checks at write time.
const (
	RefNone     Ref = iota
	RefAccount      // an account username, within the caller's partition
	RefPrompt       // a prompt GUID of the account, an ancestor or _prompt.shared
	RefLocation     // a location name
	RefTimeSets     // every named time set a time_definition uses
	// RefDestination is a destination that may name an account; below a
	// partition that account must be in it (system level: unchecked).
	RefDestination
	// RefDigitMap is a digit_map whose actions may name accounts, checked
	// like RefDestination.
	RefDigitMap
)

// Resource describes one api-sys resource.
type Resource struct {
	// Name is the path segment (matched case-insensitively).
	Name        string
	Description string
	// Methods the resource's paths answer, OPTIONS included.
	Methods []string
	// ItemMethods, when set, are the methods of …/{id}; otherwise Methods.
	ItemMethods []string
	// Parent is nil for top-level resources and points at account for the
	// ones that live under /api-sys/account/{id}/.
	Parent *Resource
	// Key is a field that names a record as well as its GUID does
	// (account username, accountresource name); "" for GUID only.
	Key string
	// Filter is the field that ?filter= matches.
	Filter string
	// TimeFilter is an RFC 3339 field that ?since= and ?until= bound.
	TimeFilter string
	// NoItems marks resources that have no …/{id} form.
	NoItems bool
	// SystemWrite marks top-level resources that everyone may read but
	// only system-level access may write (locations, time definitions).
	SystemWrite bool
	// SystemRead marks resources only system-level access may read.
	SystemRead bool
	// Media marks resources whose records carry audio: PUT accepts a WAV
	// (raw or multipart) and GET with Accept: audio/wav returns it.
	Media bool
	// Canonical is the resource whose items these records are, when they
	// are listed under another name (child → account, numberallocate →
	// number); HAL links always point at the canonical path.
	Canonical *Resource
	// Routing is how a committed write of the resource changes the
	// routing view.
	Routing Routing
	// Tree marks the resources whose records are the account tree's own
	// nodes (account, child): a record is its own account, carries its
	// Path, and is what a change to it is about.
	Tree bool
	// View marks a resource whose records are a view over other
	// resources' records, written together (HydraAccount: an account and
	// its number): it has no table and no GUID of its own (its Key names a
	// record), and a change to one reloads its account.
	View bool
	// Events are the webhook event types a write of one of its records
	// causes (xc5.EventAccountChanged, …); none when writes cause none.
	Events []string
	// CSV marks collections that also list as text/csv (Accept: text/csv).
	CSV bool
	// Redact is what a reader below system level reads of a record whose
	// values may name other companies' accounts (call records); nil when
	// records are read as stored.
	Redact func(o *Outsiders, rec Record) Record
	// Rule checks what spans fields, on the record as it will be stored
	// (after a partial update is merged); userLevel is true below system
	// level. Nil when fields are checked one by one only.
	Rule func(vals map[string]any, userLevel bool) error
	// Locked refuses a user-level update (deleting: removal) of a record
	// the provider keeps, from its current values (a number_limit, a
	// callrule on the Emergency location); nil when there are none.
	Locked func(cur map[string]any, deleting bool) error
	// ListsOf names the system account whose records a listing shows
	// instead of the path's account's (numberallocate: _unassigned.pool).
	ListsOf string
	// SharedIn names the system account whose records of this resource
	// every account may read (prompts: _prompt.shared).
	SharedIn string
	// Fields in the order they are shown.
	Fields []Field
}

// Routing is how a committed write of a resource changes what the routing
// view holds, described here so that the store's change feed (which
// records a change carries) and the view (how it applies them) read it
// from one place instead of each listing resources.
type Routing int

// Routing effects.
const (
	// RoutingReload (the default): the view reads again the account the
	// change names (an accountresource such as api_access=user, which
	// makes its account a company root; a HydraAccount).
	RoutingReload Routing = iota
	// RoutingNone: not routing provisioning (registrations, sessions,
	// call records, trunks); the view ignores the change.
	RoutingNone
	// RoutingTable: a system-wide table that the view holds whole and
	// reads again whole (locations, time sets); a time set the change
	// carries is applied alone, as its grammars are parsed.
	RoutingTable
	// RoutingAccount: an account's own settings; the change carries the
	// record and the view replaces the account, keeping its rules.
	RoutingAccount
	// RoutingRecord: a record an account owns (numbers, routes,
	// callrules, forks, prompts); the change carries it and the view
	// applies it alone, without reading the account's other records.
	RoutingRecord
)

// LeanListing reports whether collection listings of the resource show
// only its Lean fields besides the GUID (a resource with a verbose
// single-record view: accounts, call records); others list records whole.
func (r *Resource) LeanListing() bool {
	for _, f := range r.Fields {
		if f.Lean && f.Name != "guid" {
			return true
		}
	}
	return false
}

// Field returns the field called name, or nil.
func (r *Resource) Field(name string) *Field {
	for i := range r.Fields {
		if r.Fields[i].Name == name {
			return &r.Fields[i]
		}
	}
	return nil
}

// Allows reports whether method is supported on the collection (item
// false) or on a single record (item true).
func (r *Resource) Allows(method string, item bool) bool {
	for _, m := range r.AllowedMethods(item) {
		if m == method {
			return true
		}
	}
	return false
}

// AllowedMethods lists the methods of the collection or item path.
func (r *Resource) AllowedMethods(item bool) []string {
	if item && r.ItemMethods != nil {
		return r.ItemMethods
	}
	return r.Methods
}

// Record is one stored record: its GUID, the GUID of the account it
// belongs to (or, for accounts, of the parent account) and the field
// values, typed as string, int64 or bool.
type Record struct {
	GUID   string
	Parent string
	// Path is an account's materialised path of GUIDs ("/A/B/"), used for
	// partition checks; empty for other resources.
	Path string
	// Seq is the store's creation sequence, used as the paging cursor.
	Seq    int64
	Values map[string]any
	// ProviderSet marks a callrule written with system-level API access
	// (the provider's restriction, read-only below it). It is not a field
	// of the API: routing needs it so a company's own rule cannot shadow it.
	ProviderSet bool
	// Parsed are the parsed forms of the grammar fields the write of this
	// record carried (parsed.go), on the record of a store's change; nil
	// on records read from the store.
	Parsed Parsed
}

// Input is a validated request body: the fields the client sent, typed
// and normalised. A field reset with JSON null carries its default.
type Input map[string]any

// Has reports whether the client sent the field.
func (in Input) Has(name string) bool { _, ok := in[name]; return ok }

// String returns a string field the client sent, or "".
func (in Input) String(name string) string { s, _ := in[name].(string); return s }

// Defaults returns a new value map holding every field's default, the
// starting point of a new record.
func (r *Resource) Defaults() map[string]any {
	m := make(map[string]any, len(r.Fields))
	for _, f := range r.Fields {
		if f.Default != nil {
			m[f.Name] = f.Default
		} else {
			m[f.Name] = zero(f.Type)
		}
	}
	return m
}

func zero(t Type) any {
	switch t {
	case Integer:
		return int64(0)
	case Boolean:
		return false
	}
	return ""
}

// DefaultOf returns the default value of a field.
func (f *Field) DefaultOf() any {
	if f.Default != nil {
		return f.Default
	}
	return zero(f.Type)
}

// invalid is a shorthand for the 400 errors of validation.
func invalid(format string, args ...any) error {
	return xc5.Errorf(xc5.EINVALID, format, args...)
}

// Doc is the OPTIONS documentation of a resource, in the document's shape.
type Doc struct {
	Description string              `json:"description"`
	Methods     []string            `json:"methods"`
	Fields      map[string]FieldDoc `json:"fields"`
	order       []string
}

// FieldDoc documents one field.
type FieldDoc struct {
	Type        Type   `json:"type"`
	Description string `json:"description"`
}

// Documentation builds the OPTIONS answer of the collection or item path.
func (r *Resource) Documentation(item bool) Doc {
	d := Doc{Description: r.Description, Methods: r.AllowedMethods(item), Fields: map[string]FieldDoc{}}
	for _, f := range r.Fields {
		desc := f.Description
		switch {
		case f.ReadOnly && !strings.Contains(desc, "read-only") && f.Name != "guid":
			desc += " (read-only)"
		case f.WriteOnly:
			desc += " (write-only: never returned)"
		}
		d.Fields[f.Name] = FieldDoc{Type: f.Type, Description: desc}
		d.order = append(d.order, f.Name)
	}
	return d
}

// Order lists the documented fields in declaration order, so that the
// JSON writer can keep the order a reader expects.
func (d Doc) Order() []string { return d.order }

// String describes a resource for logs.
func (r *Resource) String() string {
	if r.Parent != nil {
		return fmt.Sprintf("%s/*/%s", r.Parent.Name, r.Name)
	}
	return r.Name
}

// NewGUID returns a fresh GUID in the document's upper-case 8-4-4-4-12
// form.
func NewGUID() string { return strings.ToUpper(uuid.NewString()) }

// CheckAccountResource validates an accountresource as it will be stored:
// api_access takes system or user (or empty for none), and a user-level
// caller can grant no more than user, to anyone, itself included.
func CheckAccountResource(in Input, userLevel bool) error {
	if name := in.String("name"); ProviderResource(name) {
		if userLevel {
			return xc5.Errorf(xc5.EFORBIDDEN, "%s is set by the provider: it is read-only below system-level API access", name)
		}
		return checkLimitValue(name, in.String("value"))
	}
	if in.String("name") != "api_access" {
		return nil
	}
	switch v := in.String("value"); v {
	case AccessSystem:
		if userLevel {
			return xc5.Errorf(xc5.EFORBIDDEN, "user-level API access cannot grant api_access=system")
		}
	case AccessUser, "":
	default:
		return invalid("api_access must be system or user, not %q", v)
	}
	return nil
}

// CheckRecord validates the rules of a record that span fields (its
// description's Rule), on the record as it will be stored (after a
// partial update is merged).
func CheckRecord(r *Resource, vals map[string]any, userLevel bool) error {
	if r.Rule == nil {
		return nil
	}
	return r.Rule(vals, userLevel)
}

// Writable reports whether the resource takes writes at all (PUT or
// PATCH on the collection or a record); the others are read-only.
func (r *Resource) Writable() bool {
	return r.Allows("PUT", false) || r.Allows("PUT", true) || r.Allows("PATCH", true)
}

// Stored is the resource whose records these are: the Canonical one for
// a resource listed under another name (child: account), else r.
func (r *Resource) Stored() *Resource {
	if r.Canonical != nil {
		return r.Canonical
	}
	return r
}

// Target is the resource whose records a reference names by key (an
// account by username, a prompt by GUID, a location or time set by
// name); nil for RefNone.
func (ref Ref) Target() *Resource {
	switch ref {
	case RefAccount, RefDestination, RefDigitMap:
		return Account
	case RefPrompt:
		return Prompt
	case RefLocation:
		return Location
	case RefTimeSets:
		return TimeDefinition
	}
	return nil
}

// Use is a field of another resource that holds references to r's
// records (Field.Holds).
type Use struct {
	By    *Resource
	Field *Field
}

// UsedBy lists the fields that keep r's records (Field.Holds), derived
// from the descriptions: those of other resources in the order of All,
// then r's own (an account's cfna_dest naming another account), so that
// the store checks a record's uses before deleting or renaming it
// without a list of its own. Resources listed under another name
// (child) and views (HydraAccount) are covered by the one they show.
func (r *Resource) UsedBy() []Use {
	r = r.Stored()
	var others, own []Use
	for _, by := range All {
		if by.Canonical != nil || by.View {
			continue
		}
		for i := range by.Fields {
			f := &by.Fields[i]
			if !f.Holds || f.Ref.Target() != r {
				continue
			}
			if by == r {
				own = append(own, Use{by, f})
			} else {
				others = append(others, Use{by, f})
			}
		}
	}
	return append(others, own...)
}
