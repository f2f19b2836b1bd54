package sqlstore

// Mailboxes by phone (xc5.MailboxStore): the PIN check and the account's
// own greeting, and the changes every voicemail write announces so that
// the API and message-waiting lights on every node learn of them.

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strings"
	"time"

	"xc5/resource"
)

// CheckMailboxPIN implements xc5.MailboxStore. The PINs are compared as
// SHA-256 digests in constant time, so that neither a PIN's digits nor
// its length show in the time taken; an account that does not exist or
// has no mailbox is compared against a PIN no phone can enter.
func (s *Store) CheckMailboxPIN(ctx context.Context, account, pin string) (bool, error) {
	stored, enabled := "\x00no mailbox", false
	if resource.IsGUID(account) {
		var on int64
		var p string
		err := s.reader().QueryRowContext(ctx, `SELECT ums_pin, enabled FROM accounts WHERE guid = ?`,
			strings.ToUpper(account)).Scan(&p, &on)
		switch {
		case err == nil && p != "":
			stored, enabled = p, on != 0
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return false, storeErr(err)
		}
	}
	a, b := sha256.Sum256([]byte(stored)), sha256.Sum256([]byte(pin))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && enabled, nil
}

// MailboxGreeting implements xc5.MailboxStore.
func (s *Store) MailboxGreeting(ctx context.Context, account string) ([]byte, error) {
	if !resource.IsGUID(account) {
		return nil, notFound("account %s has no greeting", account)
	}
	var b []byte
	err := s.reader().QueryRowContext(ctx, `SELECT g.audio FROM mailbox_greetings g JOIN accounts a ON a.guid = g.account
		WHERE g.account = ? AND a.ums_pin <> ''`, strings.ToUpper(account)).Scan(&b)
	if err == nil && len(b) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, missing(err, "account %s has no greeting", account)
	}
	return b, nil
}

// SetMailboxGreeting implements xc5.MailboxStore.
func (s *Store) SetMailboxGreeting(ctx context.Context, account string, wav []byte, length time.Duration) error {
	if !resource.IsGUID(account) {
		return notFound("account %s has no mailbox", account)
	}
	acct := strings.ToUpper(account)
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE guid = ? AND ums_pin <> ''`, acct).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("account %s has no mailbox", account)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM mailbox_greetings WHERE account = ?`, acct); err != nil {
			return err
		}
		if wav == nil {
			return nil
		}
		_, err := q.ExecContext(ctx, `INSERT INTO mailbox_greetings (account, length_ms, audio) VALUES (?, ?, ?)`,
			acct, length.Milliseconds(), wav)
		return mapError(err)
	})
}

// emitVoicemail announces a write of the account's mailbox (a message
// left, marked or deleted; the mailbox removed with guid ""), locally and
// to the other nodes through the feed, as PutAudio's changes are.
func (s *Store) emitVoicemail(account, guid string, deleted bool, ticket uint64) {
	s.emit(resource.Change{Resource: resource.Voicemail, Account: strings.ToUpper(account),
		GUID: strings.ToUpper(guid), Deleted: deleted}, ticket)
}

// mailboxDroppedKey carries, in an account write's context, where the
// write records the GUID of an account whose mailbox it removed.
type mailboxDroppedKey struct{}

func withMailboxDropped(ctx context.Context, guid *string) context.Context {
	return context.WithValue(ctx, mailboxDroppedKey{}, guid)
}

// carryMailboxDropped hands the caller's record of a removed mailbox
// (from) to the writer's context (to), in which the write runs.
func carryMailboxDropped(from, to context.Context) context.Context {
	if p, _ := from.Value(mailboxDroppedKey{}).(*string); p != nil {
		*p = "" // a rerun starts afresh
		return context.WithValue(to, mailboxDroppedKey{}, p)
	}
	return to
}

// dropMailbox removes the messages and greeting of an account whose
// ums_pin an update empties ("" or null): no PIN, no mailbox. It runs in
// the update's transaction.
func dropMailbox(ctx context.Context, q execer, cur resource.Record, in resource.Input) error {
	pin, ok := in["ums_pin"]
	if !ok || pin != "" || cur.Values["ums_pin"] == "" {
		return nil
	}
	for _, stmt := range []string{`DELETE FROM voicemails WHERE account = ?`, `DELETE FROM mailbox_greetings WHERE account = ?`} {
		if _, err := q.ExecContext(ctx, stmt, cur.GUID); err != nil {
			return err
		}
	}
	if p, _ := ctx.Value(mailboxDroppedKey{}).(*string); p != nil {
		*p = cur.GUID
	}
	return nil
}

// MailboxTimezone implements xc5.MailboxStore: timezone is inherited
// down the account tree, so the account's path is read and the deepest
// account on it with a timezone wins.
func (s *Store) MailboxTimezone(ctx context.Context, account string) (string, error) {
	if !resource.IsGUID(account) {
		return "", notFound("account %s not found", account)
	}
	var path string
	if err := s.reader().QueryRowContext(ctx, `SELECT path FROM accounts WHERE guid = ?`, strings.ToUpper(account)).Scan(&path); err != nil {
		return "", missing(err, "account %s not found", account)
	}
	guids := strings.Split(strings.Trim(path, "/"), "/")
	args := make([]any, len(guids))
	for i, g := range guids {
		args[i] = g
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT guid, timezone FROM accounts WHERE timezone <> '' AND guid IN (?`+
		strings.Repeat(", ?", len(guids)-1)+`)`, args...)
	if err != nil {
		return "", storeErr(err)
	}
	defer rows.Close()
	tz := map[string]string{}
	for rows.Next() {
		var g, z string
		if err := rows.Scan(&g, &z); err != nil {
			return "", storeErr(err)
		}
		tz[g] = z
	}
	if err := rows.Err(); err != nil {
		return "", storeErr(err)
	}
	for i := len(guids) - 1; i >= 0; i-- {
		if z := tz[guids[i]]; z != "" {
			return z, nil
		}
	}
	return "", nil
}
