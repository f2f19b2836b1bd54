package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"xc5/resource"
)

// nextGroupAccess hands out the next prompt recording code: "*22" and
// five or more digits, unique system-wide (the document's *2200101).
// Codes below *2200100 are kept for the system prompts of _prompt.shared
// (sharedGroupAccess), so that loading them leaves a company's first
// prompt the *2200101 the document dials.
func nextGroupAccess(ctx context.Context, q execer) (map[string]any, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(CAST(substr(group_access, 4) AS INTEGER)), 100) FROM prompts WHERE CAST(substr(group_access, 4) AS INTEGER) >= 100`).Scan(&n); err != nil {
		return nil, err
	}
	return map[string]any{"group_access": fmt.Sprintf("*22%05d", n+1)}, nil
}

// sharedGroupAccess hands out the codes of _prompt.shared's prompts,
// *2200001 to *2200099, then goes on in the common range.
func sharedGroupAccess(ctx context.Context, q execer) (map[string]any, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(CAST(substr(group_access, 4) AS INTEGER)), 0) FROM prompts WHERE CAST(substr(group_access, 4) AS INTEGER) < 100`).Scan(&n); err != nil {
		return nil, err
	}
	if n >= 99 {
		return nextGroupAccess(ctx, q)
	}
	return map[string]any{"group_access": fmt.Sprintf("*22%05d", n+1)}, nil
}

// groupAccessFor is the code generator for a prompt under parent.
func groupAccessFor(parent string) func(context.Context, execer) (map[string]any, error) {
	if strings.EqualFold(parent, resource.SharedPrompts) {
		return sharedGroupAccess
	}
	return nextGroupAccess
}

// PutAudio stores a prompt's audio (the upload as sent and the 8 kHz PCM
// WAV to play) and its length, creating the prompt with that GUID when it
// does not exist yet, as the document's upload to a fresh GUID does.
func (s *Store) PutAudio(ctx context.Context, scope resource.Scope, parent, id string, original, pcm []byte, lengthMs int64) (resource.Record, bool, error) {
	if !resource.IsGUID(id) {
		return resource.Record{}, false, invalid("upload audio to …/prompt/{guid}; get a GUID from GET /api-sys/guid")
	}
	var ticket uint64
	ctx = withTicket(ctx, &ticket)
	rec, created, err := s.putSimple(ctx, scope, resource.Prompt, parent, id, resource.Input{}, resource.Upsert, groupAccessFor(parent))
	if err != nil {
		return rec, created, err
	}
	fresh, origin := created, originOf(ctx)
	err = s.w.do(ctx, func(ctx context.Context, q execer) error {
		var before map[string]any
		if !fresh {
			cur, err := tables[resource.Prompt].getRow(ctx, q, "t.guid = ?", rec.GUID)
			if err != nil {
				return missing(err, "prompt %s not found", id)
			}
			before = recordJSON(resource.Prompt, cur)
		}
		res, err := q.ExecContext(ctx, `UPDATE prompts SET audio = ?, original = ?, prompt_length = ? WHERE guid = ?`, pcm, original, lengthMs, rec.GUID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("prompt %s not found", id)
		}
		if rec, err = tables[resource.Prompt].getRow(ctx, q, "t.guid = ?", rec.GUID); err != nil {
			return err
		}
		return auditOther(ctx, q, origin, resource.Prompt.Name, rec.GUID, rec.Parent, before, recordJSON(resource.Prompt, rec))
	})
	if err == nil {
		written := rec
		s.emit(resource.Change{Resource: resource.Prompt, Account: rec.Parent, Record: &written}, ticket)
	}
	return rec, created, err
}

// Audio returns a prompt's playable 8 kHz WAV (original false) or the
// upload as sent. Errors: ENOTFOUND when the prompt has no audio.
func (s *Store) Audio(ctx context.Context, scope resource.Scope, parent, id string, original bool) ([]byte, error) {
	rec, err := s.Get(ctx, scope, resource.Prompt, parent, id)
	if err != nil {
		return nil, err
	}
	col := "audio"
	if original {
		col = "original"
	}
	var b []byte
	err = s.reader().QueryRowContext(ctx, `SELECT `+col+` FROM prompts WHERE guid = ?`, rec.GUID).Scan(&b)
	if err == nil && len(b) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		// A read that could not be made is no "no audio yet" (404).
		return nil, missing(err, "prompt %s has no audio yet", strings.ToUpper(id))
	}
	return b, nil
}
