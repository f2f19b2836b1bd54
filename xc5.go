// Package xc5 is the domain of the xc5 hosted virtual PBX: what the
// adapters (the SQL store, the API, the portal, the SIP service, the media
// service, the mail and webhook senders) share, so that they depend on it
// and not on each other. It holds the error codes every layer uses (each
// protocol maps them to its status codes in one table of its own), the
// types the adapters exchange with the store (sip.go, cdr.go, media.go,
// webhook.go), the store capabilities they need, as interfaces the store
// implements and cmd/xc5 wires in once, and two rules several adapters
// apply: which addresses a webhook may reach (addr.go) and how a CSV cell
// is made inert (csvcell.go). The provisioning store contract and the
// resource descriptions are in package resource for now. It imports
// nothing but the standard library so that every package can depend on it.
package xc5

import (
	"errors"
	"fmt"
)

// Error codes. Exactly one place per protocol (HTTP in api/hal.go, SIP
// in sipserver/status.go) maps them to status codes, so domain code never thinks in HTTP terms.
const (
	EINVALID      = "invalid"      // the request is malformed or a value is not allowed
	ENOTFOUND     = "not_found"    // the record does not exist (or is outside the caller's partition)
	ECONFLICT     = "conflict"     // the write would break a uniqueness or tree rule
	EUNAUTHORIZED = "unauthorized" // missing or wrong credentials
	EFORBIDDEN    = "forbidden"    // authenticated, but not allowed to do this
	ETOOLARGE     = "too_large"    // the request body is over the limit
	ERATELIMIT    = "rate_limited" // too many failed attempts
	EINTERNAL     = "internal"     // a bug or an infrastructure failure; never caused by input
	ENOTALLOWED   = "not_allowed"  // the method is not supported on this path
	EUNSUPPORTED  = "unsupported"  // the media type of the body is not accepted
	// EUNAVAILABLE: the store cannot serve the request for now (its
	// database is unreachable, or its disk is full). The request was not
	// acknowledged; the client should send it again later.
	EUNAVAILABLE = "unavailable"
)

// Error is a domain error: a code for machines and a message meant for the
// API client. Messages must never contain internal details.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Message }

// Errorf builds a domain error with a client-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain, or
// EINTERNAL for anything else: an unclassified error is our fault, not the
// client's.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the client-facing message of err; internal errors
// get a generic text so that nothing about the server leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
