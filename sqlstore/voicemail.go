package sqlstore

// The mailboxes (xc5.VoicemailStore): an account's voicemail messages,
// read and tended through the API. Messages go with their account
// (ON DELETE CASCADE, migration 030).

import (
	"context"
	"strings"
	"time"

	"xc5"
	"xc5/resource"
)

const voicemailCols = `guid, account, caller, called, received, duration_ms, status`

// ListVoicemail implements xc5.VoicemailStore.
func (s *Store) ListVoicemail(ctx context.Context, account string, fn func(xc5.Voicemail) error) error {
	if !storable(account) {
		return nil // no mailbox has such a name
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT `+voicemailCols+` FROM voicemails WHERE account = ? ORDER BY received, id`, strings.ToUpper(account))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v xc5.Voicemail
		var received, ms int64
		if err := rows.Scan(&v.GUID, &v.Account, &v.From, &v.To, &received, &ms, &v.Status); err != nil {
			return storeErr(err)
		}
		v.Received, v.Duration = time.UnixMilli(received), time.Duration(ms)*time.Millisecond
		if err := fn(v); err != nil {
			return err
		}
	}
	return storeErr(rows.Err())
}

// GetVoicemail implements xc5.VoicemailStore.
func (s *Store) GetVoicemail(ctx context.Context, account, guid string, audio bool) (xc5.Voicemail, error) {
	var v xc5.Voicemail
	if !resource.IsGUID(guid) || !storable(account) {
		return v, notFound("voicemail %s not found", guid)
	}
	cols := voicemailCols
	if audio {
		cols += ", audio"
	}
	var received, ms int64
	dest := []any{&v.GUID, &v.Account, &v.From, &v.To, &received, &ms, &v.Status}
	if audio {
		dest = append(dest, &v.Audio)
	}
	err := s.reader().QueryRowContext(ctx, `SELECT `+cols+` FROM voicemails WHERE guid = ? AND account = ?`,
		strings.ToUpper(guid), strings.ToUpper(account)).Scan(dest...)
	if err != nil {
		return xc5.Voicemail{}, missing(err, "voicemail %s not found", guid)
	}
	v.Received, v.Duration = time.UnixMilli(received), time.Duration(ms)*time.Millisecond
	return v, nil
}

// SetVoicemailStatus implements xc5.VoicemailStore.
func (s *Store) SetVoicemailStatus(ctx context.Context, account, guid, status string) error {
	if status != xc5.VoicemailNew && status != xc5.VoicemailSaved {
		return invalid("status %q: a message is new or saved", status)
	}
	return s.changeVoicemail(ctx, account, guid, false, `UPDATE voicemails SET status = ? WHERE guid = ? AND account = ?`, status)
}

// DeleteVoicemail implements xc5.VoicemailStore.
func (s *Store) DeleteVoicemail(ctx context.Context, account, guid string) error {
	return s.changeVoicemail(ctx, account, guid, true, `DELETE FROM voicemails WHERE guid = ? AND account = ?`)
}

// changeVoicemail runs stmt (args, then the message's GUID and account)
// on one message: ENOTFOUND when the account has no such message. The
// change is announced (emitVoicemail) for the API and the message-waiting
// lights of every node.
func (s *Store) changeVoicemail(ctx context.Context, account, guid string, deleted bool, stmt string, args ...any) error {
	if !resource.IsGUID(guid) || !storable(account) {
		return notFound("voicemail %s not found", guid)
	}
	args = append(args, strings.ToUpper(guid), strings.ToUpper(account))
	var ticket uint64
	origin := originOf(ctx)
	audited := origin != nil
	err := s.w.do(withTicket(ctx, &ticket), func(ctx context.Context, q execer) error {
		var before map[string]any
		if audited {
			var err error
			if before, err = voicemailImage(ctx, q, guid); err != nil {
				return missing(err, "voicemail %s not found", guid)
			}
		}
		res, err := q.ExecContext(ctx, stmt, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return missing(err, "voicemail %s not found", guid)
		}
		if !audited {
			return nil
		}
		var after map[string]any
		if !deleted {
			if after, err = voicemailImage(ctx, q, guid); err != nil {
				return err
			}
		}
		return auditOther(ctx, q, origin, resource.Voicemail.Name, guid, account, before, after)
	})
	if err == nil {
		s.emitVoicemail(account, guid, deleted, ticket)
	}
	return err
}

// voicemailImage is a message's fields for the audit trail.
func voicemailImage(ctx context.Context, q execer, guid string) (map[string]any, error) {
	var from, to, status string
	var received, ms int64
	err := q.QueryRowContext(ctx, `SELECT caller, called, received, duration_ms, status FROM voicemails WHERE guid = ?`, strings.ToUpper(guid)).
		Scan(&from, &to, &received, &ms, &status)
	if err != nil {
		return nil, err
	}
	return map[string]any{"guid": strings.ToUpper(guid), "from": from, "to": to, "received": time.UnixMilli(received).UTC().Format(time.RFC3339),
		"duration": ms / 1000, "status": status}, nil
}
