package xc5

import (
	"context"
	"time"
)

// The types and store capabilities of this file are what the SIP service
// (sipserver) and the SQL store share. They live in the domain, not in the
// store's package, so that the SIP service depends on the contract and
// not on one adapter: the store implements these interfaces and cmd/xc5
// hands it to the SIP service once.

// SIPCredentials is what the SIP registrar needs to check a digest
// response for an account: never a password, only the HA1 values.
type SIPCredentials struct {
	GUID     string
	Username string // the account's username, lower case
	Realm    string // secret.Realm(Username)
	// HA1MD5 and HA1SHA256 are H(username:realm:password) with the full
	// username as the digest username.
	HA1MD5    string
	HA1SHA256 string
	// LocalHA1MD5 and LocalHA1SHA256 are H(local:realm:password) for a
	// username local@realm, for phones that send only the local part as
	// the digest username. Empty when not (yet) computed.
	LocalHA1MD5    string
	LocalHA1SHA256 string
	Enabled        bool
}

// Binding is one registered contact of an account.
type Binding struct {
	GUID         string
	Contact      string // the contact URI
	Expires      time.Time
	UserAgent    string
	Source       string // transport and source address, e.g. "udp:192.0.2.7:5060"
	RegisteredAt time.Time
}

// ContactCap bounds the live bindings of an account (those expiring after
// Now) at Max; 0 means no bound.
type ContactCap struct {
	Max int
	Now time.Time
}

// ErrTooManyContacts refuses a new contact of an account that already has
// its cap of live bindings.
var ErrTooManyContacts = Errorf(ECONFLICT, "too many contacts")

// Trunk is a carrier trunk as the SIP service needs it. Unlike the API's
// view of the trunk resource it carries the digest password: xc5 has to
// send it to the carrier, so the SIP service is the one reader allowed it.
type Trunk struct {
	GUID        string
	Name        string
	Address     string // comma-separated IP addresses and CIDR ranges allowed to send calls in
	Port        int    // UDP source port calls come from; 0 for any
	InboundAuth bool   // challenge the carrier's INVITEs; accept answers made with Username and Password
	Proxy       string // host:port external calls are sent to; "" for inbound-only trunks
	Transport   string // udp, tcp or tls
	Username    string // digest username the carrier asks for (or, with InboundAuth, answers with)
	Password    string
	Enabled     bool
	Priority    int // external calls use the enabled trunk with a proxy and the lowest priority
}

// RegistrarStore is what the SIP registrar needs from the store: the
// accounts' digest secrets and their registered contacts.
type RegistrarStore interface {
	// SIPCredentials returns the digest secrets of the account with the
	// given username; an unknown account is an ENOTFOUND error.
	SIPCredentials(ctx context.Context, username string) (SIPCredentials, error)
	// PutRegistration creates or refreshes the binding of contact; a new
	// contact beyond limit is ErrTooManyContacts. It returns the
	// account's bindings valid at limit.Now once the write is durable.
	PutRegistration(ctx context.Context, accountGUID, contact string, expires time.Time, userAgent, source string, limit ContactCap) ([]Binding, error)
	// DeleteRegistration removes one binding (ENOTFOUND when there is none).
	DeleteRegistration(ctx context.Context, accountGUID, contact string) error
	// DeleteAllRegistrations removes every binding of the account.
	DeleteAllRegistrations(ctx context.Context, accountGUID string) error
	// ExpireRegistrations deletes the bindings expired at now.
	ExpireRegistrations(ctx context.Context, now time.Time) (int, error)
	// ContactsOf lists the account's bindings still valid at now.
	ContactsOf(ctx context.Context, accountGUID string, now time.Time) ([]Binding, error)
}

// TrunkStore lists the carrier trunks, passwords included, for the SIP
// service to match inbound calls against and choose outbound ones by.
type TrunkStore interface {
	// Trunks lists every trunk, lowest priority first.
	Trunks(ctx context.Context) ([]Trunk, error)
}

// ActiveCallCounter counts calls in progress per account where every node
// sees them (a database the nodes share), for concurrent_limit across a
// cluster.
type ActiveCallCounter interface {
	// AddActiveCall counts a call for an account until it is removed or
	// expires.
	AddActiveCall(ctx context.Context, callID, accountGUID string, expires time.Time) error
	// RemoveActiveCall stops counting a call, for every account it
	// counted for.
	RemoveActiveCall(ctx context.Context, callID string) error
	// RemoveActiveCallFor stops counting a call for one account (a
	// party that left a call that goes on).
	RemoveActiveCallFor(ctx context.Context, callID, accountGUID string) error
	// ActiveCalls counts an account's calls in progress on every node.
	ActiveCalls(ctx context.Context, accountGUID string, now time.Time) (int, error)
}

// ReadFence reports whether this node has heard of every write that any
// node acknowledged, so that what it keeps in memory (views, caches kept
// current by change notifications) may answer reads. A single-node store
// always is fresh.
type ReadFence interface {
	Fresh() bool
}
