package xc5

import (
	"context"
	"time"
)

// Webhook event types: what happened, as a webhook's events field names
// it (docs/api.md, Webhooks).
const (
	EventCallStarted         = "call.started"
	EventCallAnswered        = "call.answered"
	EventCallEnded           = "call.ended"
	EventVoicemailNew        = "voicemail.new"
	EventRegistrationChanged = "registration.changed"
	EventAccountChanged      = "account.changed"
	EventNumberChanged       = "number.changed"
)

// EventTypes lists every event type, in the order the documentation
// shows them.
var EventTypes = []string{EventCallStarted, EventCallAnswered, EventCallEnded, EventVoicemailNew,
	EventRegistrationChanged, EventAccountChanged, EventNumberChanged}

// Event is a happening told to webhooks: the store writes one, in the
// transaction of the change, for every enabled webhook of the account
// and its ancestors whose events match. Its JSON is the body POSTed.
type Event struct {
	// ID is the same for every webhook the event goes to and for every
	// try: a receiver drops the duplicates of at-least-once delivery.
	ID   string    `json:"id"`
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	// Account is the username of the account the event is about.
	Account string `json:"account"`
	// Record is the record that changed (account, number, voicemail,
	// registration binding) as the API shows it; Call the call.
	Record map[string]any `json:"record,omitempty"`
	Call   map[string]any `json:"call,omitempty"`
	// Deleted is set when the record was deleted (Record is as it was).
	Deleted bool `json:"deleted,omitempty"`
}

// Webhook delivery states.
const (
	DeliveryQueued    = "queued"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // given up
)

// Delivery is one event on its way to one webhook.
type Delivery struct {
	ID      int64  // the outbox row
	Event   string // the event's ID
	Webhook string // the webhook's GUID
	URL     string
	Secret  string
	// Body is the exact JSON POSTed, the same on every try (the signature
	// covers it).
	Body     []byte
	Attempts int
	Created  time.Time
}

// WebhookInFlight is how many deliveries of one webhook may be claimed
// (POSTs in flight) at once: a receiver that hangs holds only these, and
// the other webhooks' deliveries go on.
const WebhookInFlight = 4

// WebhookOutbox is the durable outbox of webhook deliveries that the
// store keeps and the webhook sender drains; several nodes may drain one
// outbox (claims are leases, as for mail).
type WebhookOutbox interface {
	// ClaimDeliveries takes up to max due deliveries for node, for lease:
	// per webhook and account only the oldest queued one, and only when
	// no other node holds it, so that one account's events reach a
	// receiver in order; and at most WebhookInFlight per webhook held at
	// once.
	ClaimDeliveries(ctx context.Context, node string, lease time.Duration, max int) ([]Delivery, error)
	// Delivered marks a delivery done and its webhook's last success.
	Delivered(ctx context.Context, id int64, node string) error
	// DeliveryFailed records a failed try with why: tried again at next,
	// or given up when final. It is the webhook's last error.
	DeliveryFailed(ctx context.Context, id int64, node, why string, next time.Time, final bool) error
	// ReleaseDeliveries gives back node's claims of ids untried (a node
	// shutting down mid-POST), to be claimed again at once instead of when
	// their lease ends.
	ReleaseDeliveries(ctx context.Context, ids []int64, node string) error
}

// Origin is who makes an API write, and how: the API sets it on the
// request's context and the store records it in the audit trail.
type Origin struct {
	Account string // the caller's username
	Source  string // the client's address
	Method  string // PUT, PATCH or DELETE
	Path    string // the request's path and query
}

type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginOf returns the origin ctx carries, if any: writes without one
// (the SIP service's, imports) are not API writes and are not audited.
func OriginOf(ctx context.Context) (Origin, bool) {
	o, ok := ctx.Value(originKey{}).(Origin)
	return o, ok
}

// AuditEntry is one recorded API write.
type AuditEntry struct {
	GUID     string
	At       time.Time
	Origin   Origin
	Resource string
	Record   string // the record's GUID
	// Before and After are the record's fields as JSON objects, write-only
	// ones (passwords, secrets) masked; "" when there was none (a
	// creation; a deletion).
	Before, After string
}

// AuditLog lists and purges the audit trail.
type AuditLog interface {
	// ListAudit calls fn for the writes to records of accounts whose path
	// starts with path, newest first, at most limit (0: all); with system,
	// also the writes to system-wide resources (locations, trunks, …).
	ListAudit(ctx context.Context, path string, system bool, limit int, fn func(AuditEntry) error) error
	// PurgeAudit removes entries older than before, in batches.
	PurgeAudit(ctx context.Context, before time.Time, batch int) (int, error)
}
