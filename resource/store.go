package resource

import (
	"context"
	"time"
)

// PutMode says what a PUT or PATCH asked for.
type PutMode int

// Put modes, from the document's "PUT & PATCH both update existing data.
// PUT creates if required."
const (
	// Create is a PUT on a collection: always a new record with a new GUID.
	Create PutMode = iota
	// Upsert is a PUT on …/{id}: update it, or create it with that GUID
	// (or key) when it does not exist.
	Upsert
	// Patch is a PATCH (or PUT ?patch=true): update, 404 when missing.
	Patch
)

// Scope is the caller's partition: the materialised path of the account
// whose api_access=user grants access, or "" for system access. Records
// outside the scope are reported as not found.
type Scope string

// Query selects records of a collection.
type Query struct {
	// Parent is the GUID of the owning account for sub-resources, the
	// parent account for Child, "" for top-level resources.
	Parent string
	// Filter is a SQL LIKE pattern on the resource's Filter field.
	Filter string
	// After is the paging cursor: only records created after Seq After.
	After int64
	// Limit bounds the count; 0 means all.
	Limit int
	// Since and Until bound the resource's TimeFilter field (RFC 3339,
	// inclusive since, exclusive until); "" for no bound.
	Since, Until string
}

// Credentials are what authentication needs to know about an account.
type Credentials struct {
	GUID     string
	Username string
	Path     string
	Enabled  bool
	Hash     string
	Access   string // api_access: system, user or ""
}

// Change tells what a committed write touched, so that in-memory views
// (the routing view) can reload it before the write is acknowledged.
type Change struct {
	// Resource is the kind of record written; nil means "anything may have
	// changed": reload everything.
	Resource *Resource
	// Account is the GUID of the account whose provisioning changed (the
	// account itself, or the owner of a sub-resource); "" for top-level
	// resources such as locations.
	Account string
	// Record is the record as written, when the change is a write made by
	// this process; views then apply it without reading the store again.
	Record *Record
	// Deleted is true for a deletion of the record with GUID.
	Deleted bool
	GUID    string
	// Remote is true for another node's write, heard on the change feed.
	Remote bool
}

// Notifier tells of the store's committed writes, so that what is kept in
// memory from it (the routing view, the SIP service's caches) stays
// current. It lives beside Change, which names a Resource; the domain
// package cannot hold it without importing this one.
type Notifier interface {
	// OnChange registers fn to be called after every committed write,
	// before the write's call returns.
	OnChange(fn func(Change))
}

// Store is the persistence contract of the provisioning model; SQLite and
// PostgreSQL implement it and one conformance suite holds them to it.
// Every write is one transaction and is durable when the call returns.
type Store interface {
	// Get returns the record of r named id (a GUID, or a value of r.Key)
	// under the account parent ("" for top-level resources).
	// Errors: ENOTFOUND (also outside scope).
	Get(ctx context.Context, scope Scope, r *Resource, parent, id string) (Record, error)
	// List calls fn for every record q selects, in creation order, fetching
	// in batches so that memory stays constant. Errors: ENOTFOUND for a
	// parent outside scope; whatever fn returns.
	List(ctx context.Context, scope Scope, r *Resource, q Query, fn func(Record) error) error
	// Put creates or updates a record and returns it in full, with created
	// true when it was created. Errors: EINVALID, ENOTFOUND, ECONFLICT,
	// EFORBIDDEN.
	Put(ctx context.Context, scope Scope, r *Resource, parent, id string, in Input, mode PutMode) (rec Record, created bool, err error)
	// Delete removes a record. Errors: ENOTFOUND, ECONFLICT.
	Delete(ctx context.Context, scope Scope, r *Resource, parent, id string) error
	// Credentials returns an account's login data by username.
	// Errors: ENOTFOUND.
	Credentials(ctx context.Context, username string) (Credentials, error)
	// PutAudio stores a prompt's audio, creating the prompt with GUID id
	// when needed. Errors: EINVALID, ENOTFOUND, EFORBIDDEN.
	PutAudio(ctx context.Context, scope Scope, parent, id string, original, pcm []byte, lengthMs int64) (Record, bool, error)
	// Audio returns a prompt's playable audio, or the original upload.
	// Errors: ENOTFOUND.
	Audio(ctx context.Context, scope Scope, parent, id string, original bool) ([]byte, error)
	// CreateSession records an API session token id until expires.
	CreateSession(ctx context.Context, jti, account string, expires time.Time) error
	// SessionActive reports whether a session token id is still valid.
	SessionActive(ctx context.Context, jti string) (bool, error)
	// DeleteSession ends a session at once.
	DeleteSession(ctx context.Context, jti string) error
	Notifier
	// ListAll calls fn for every record of r across all accounts (for
	// loading views at start-up), in creation order.
	ListAll(ctx context.Context, r *Resource, fn func(Record) error) error
	// Close releases the store.
	Close() error
}
