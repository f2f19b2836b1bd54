package xc5

import (
	"context"
	"time"
)

// Call detail records live in the domain because the SIP service writes
// them and the SQL store keeps them: neither adapter should import the
// other for the record's shape.

// CDR is one call detail record for CDRStore.AddCDRs.
type CDR struct {
	Account string         // the account's GUID
	Values  map[string]any // the CDR resource's fields (direction, from, to, started, …)
	// GUID is the record's GUID, "" for a new one. A caller that may
	// write the record again (after an answer saying the outcome is
	// unknown) sets it once and sets Retry on the later tries: a record
	// already written under its GUID is then not written twice.
	GUID  string
	Retry bool
	// Event, when set, makes this no record but a webhook event of that
	// type (call.started, call.answered) about the call in Values, for
	// the account: written with the records, so that an account's call
	// events keep their order (call.ended is queued with its record).
	// GUID is then the event's ID.
	Event string
}

// CDRStore keeps call detail records.
type CDRStore interface {
	// AddCDRs writes the records in one commit. A failure of the database
	// is an EUNAVAILABLE error, for the caller to try again later with
	// the records marked Retry.
	AddCDRs(ctx context.Context, recs []CDR) error
}

// AccountSummaries answers, for a page of accounts at once, what a page
// listing them shows beside each (the company portal's Overview): one
// query per question instead of one per account. The SQL store
// implements it; a reader without it asks account by account.
type AccountSummaries interface {
	// LiveRegistrations reports which of the accounts (GUIDs) have a SIP
	// registration that has not expired at now.
	LiveRegistrations(ctx context.Context, accounts []string, now time.Time) (map[string]bool, error)
	// CDRCounts counts each account's call detail records started at or
	// after since.
	CDRCounts(ctx context.Context, accounts []string, since time.Time) (map[string]int, error)
}
