package resource

import (
	"net/url"
	"slices"
	"strings"

	"xc5"
)

// Webhook is an account's subscription to events: the store queues each
// matching event in the transaction of the change, and the webhook
// sender POSTs it, signed with the secret (docs/api.md, Webhooks).
var Webhook = &Resource{
	Name: "webhook",
	Description: "Events POSTed to a URL as they happen in the account and the accounts below it: signed JSON, delivered at least once, in order " +
		"per account (docs/api.md, Webhooks). last_success, last_error and queued show how delivery goes",
	Methods: crud,
	Parent:  Account,
	Routing: RoutingNone,
	Fields: []Field{
		guidField,
		{Name: "url", Type: String, Required: true, Check: checkHookURL, Outbound: true,
			Description: "Where events are POSTed: an http or https URL at a public address (loopback and private ones are refused unless the server allows them)"},
		{Name: "events", Type: String, Default: "*", Check: checkEvents,
			Description: "Comma-separated event types to send, or * for all: " + strings.Join(xc5.EventTypes, ", ")},
		{Name: "secret", Type: String, WriteOnly: true, Check: text("secret", 256),
			Description: "Key of the X-XC5-Signature header: t=UNIX_SECONDS,v1=HEX, HEX the HMAC-SHA256 of UNIX_SECONDS, a dot and the body; " +
				"generated when the webhook is created without one, and shown only then"},
		{Name: "enabled", Type: Boolean, Default: true,
			Description: "false holds the webhook: no new events are queued for it, and queued ones wait"},
		{Name: "description", Type: String, Check: text("description", 256), Description: "What the webhook is for"},
		{Name: "last_success", Type: String, ReadOnly: true, Description: "When an event was last delivered (RFC 3339), empty if never"},
		{Name: "last_error", Type: String, ReadOnly: true, Description: "Why the last failed try failed (the receiver's status or error), empty after a success"},
		{Name: "queued", Type: Integer, ReadOnly: true, Description: "Events waiting to be delivered"},
	},
}

// checkHookURL accepts absolute http and https URLs.
func checkHookURL(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 2048 {
		return nil, invalid("url %q must be an absolute http or https URL", v)
	}
	return s, nil
}

// checkEvents normalises a comma-separated list of event types; * stands
// for all and stays alone.
func checkEvents(v any) (any, error) {
	var out []string
	for _, e := range strings.Split(v.(string), ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
			continue
		case e == "*":
			return "*", nil
		case !slices.Contains(xc5.EventTypes, e):
			return nil, invalid("event %q is not one of *, %s", e, strings.Join(xc5.EventTypes, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, invalid("events must name at least one event type, or *")
	}
	return strings.Join(out, ","), nil
}

// WantsEvent reports whether a webhook's events field takes typ.
func WantsEvent(events, typ string) bool {
	if events == "*" {
		return true
	}
	return slices.Contains(strings.Split(events, ","), typ)
}

// Audit is the trail of API writes in an account's subtree, served by
// hand (package api) over xc5.AuditLog.
var Audit = &Resource{
	Name: "audit",
	Description: "The API writes to records of the account and the accounts below it, newest first: who, from where, when, and the " +
		"record's fields before and after (write-only ones masked). System access also sees writes to system-wide resources. ?limit=N bounds. Read-only",
	Methods: readOnly,
	NoItems: true,
	Parent:  Account,
	Routing: RoutingNone,
	Fields: []Field{
		guidField,
		{Name: "at", Type: String, ReadOnly: true, Description: "When the write was committed (RFC 3339)"},
		{Name: "account", Type: String, ReadOnly: true, Description: "Username of the caller that wrote"},
		{Name: "source", Type: String, ReadOnly: true, Description: "The caller's address"},
		{Name: "method", Type: String, ReadOnly: true, Description: "PUT, PATCH or DELETE"},
		{Name: "path", Type: String, ReadOnly: true, Description: "The request's path"},
		{Name: "resource", Type: String, ReadOnly: true, Description: "The kind of record written"},
		{Name: "record", Type: String, ReadOnly: true, Description: "The GUID of the record written"},
		{Name: "before", Type: String, ReadOnly: true, Description: "The record's fields before, as a JSON object; empty for a creation"},
		{Name: "after", Type: String, ReadOnly: true, Description: "The record's fields after, as a JSON object; empty for a deletion"},
	},
}
