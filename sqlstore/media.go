package sqlstore

// The media service's store (xc5.MediaStore): prompt audio by GUID, a
// prompt recorded by phone, voicemail messages and the mails that report
// them, each written in one transaction of the store's writer.

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"xc5"
	"xc5/resource"
)

// PromptAudio implements xc5.MediaStore: the playable WAV of any
// account's prompt (the SIP service has decided the call may play it).
func (s *Store) PromptAudio(ctx context.Context, guid string) ([]byte, error) {
	if !resource.IsGUID(guid) {
		return nil, notFound("prompt %s not found", guid)
	}
	var b []byte
	err := s.reader().QueryRowContext(ctx, `SELECT audio FROM prompts WHERE guid = ?`, strings.ToUpper(guid)).Scan(&b)
	if err == nil && len(b) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, missing(err, "prompt %s has no audio", strings.ToUpper(guid))
	}
	return b, nil
}

// SavePromptAudio implements xc5.MediaStore: a recording made by phone
// (*22…) replaces the prompt's audio; being 8 kHz PCM already, it is its
// own original. The change is announced like an upload's (PutAudio), so
// that views and other nodes see the new prompt_length.
func (s *Store) SavePromptAudio(ctx context.Context, guid string, wav []byte, length time.Duration) error {
	if !resource.IsGUID(guid) {
		return notFound("prompt %s not found", guid)
	}
	var ticket uint64
	ctx = withTicket(ctx, &ticket)
	var rec resource.Record
	err := s.w.do(ctx, func(ctx context.Context, q execer) error {
		res, err := q.ExecContext(ctx, `UPDATE prompts SET audio = ?, original = ?, prompt_length = ? WHERE guid = ?`,
			wav, wav, length.Milliseconds(), strings.ToUpper(guid))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("prompt %s not found", guid)
		}
		rec, err = tables[resource.Prompt].getRow(ctx, q, "t.guid = ?", strings.ToUpper(guid))
		return err
	})
	if err == nil {
		written := rec
		s.emit(resource.Change{Resource: resource.Prompt, Account: rec.Parent, Record: &written}, ticket)
	}
	return err
}

// LeaveVoicemail implements xc5.MediaStore. A message whose account was
// deleted while the caller spoke is not kept (there is no mailbox to keep
// it in), but its mails are still queued: the message is not lost for
// the address that was to get it.
func (s *Store) LeaveVoicemail(ctx context.Context, v xc5.Voicemail, mails []xc5.Mail) error {
	if v.GUID == "" {
		v.GUID = resource.NewGUID()
	}
	if v.Received.IsZero() {
		v.Received = time.Now()
	}
	if v.Status == "" {
		v.Status = xc5.VoicemailNew
	}
	if v.Status != xc5.VoicemailNew && v.Status != xc5.VoicemailSaved {
		return invalid("voicemail status %q: new or saved", v.Status)
	}
	if err := checkMails(mails); err != nil {
		return err
	}
	var ticket uint64
	kept := false
	err := s.w.do(withTicket(ctx, &ticket), func(ctx context.Context, q execer) error {
		kept = false
		if v.Account != "" {
			acct := strings.ToUpper(v.Account)
			var n int
			if err := q.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE guid = ?`, acct).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				if _, err := q.ExecContext(ctx, `INSERT INTO voicemails (guid, account, caller, called, received, duration_ms, status, audio)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					strings.ToUpper(v.GUID), acct, v.From, v.To, v.Received.UnixMilli(), v.Duration.Milliseconds(), v.Status, v.Audio); err != nil {
					return mapError(err)
				}
				kept = true
				if err := queueEvent(ctx, q, acct, xc5.Event{Type: xc5.EventVoicemailNew, Record: map[string]any{
					"guid": strings.ToUpper(v.GUID), "from": v.From, "to": v.To, "received": v.Received.UTC().Format(time.RFC3339),
					"duration": int64(v.Duration / time.Second), "status": v.Status}}); err != nil {
					return err
				}
			}
		}
		return insertMails(ctx, q, mails)
	})
	if err == nil && kept {
		s.emitVoicemail(v.Account, v.GUID, false, ticket)
		s.eventQueued()
	}
	if err == nil && len(mails) > 0 {
		s.mailQueued()
	}
	return err
}

// QueueMail implements xc5.MediaStore.
func (s *Store) QueueMail(ctx context.Context, mails []xc5.Mail) error {
	if len(mails) == 0 {
		return nil
	}
	if err := checkMails(mails); err != nil {
		return err
	}
	err := s.w.do(ctx, func(ctx context.Context, q execer) error { return insertMails(ctx, q, mails) })
	if err == nil {
		s.mailQueued()
	}
	return err
}

// checkMails refuses mails that could never be sent.
func checkMails(mails []xc5.Mail) error {
	for _, m := range mails {
		if strings.TrimSpace(m.To) == "" {
			return invalid("a mail needs an address to go to")
		}
	}
	return nil
}

// insertMails queues mails in q's transaction, due at once unless they
// say otherwise.
func insertMails(ctx context.Context, q execer, mails []xc5.Mail) error {
	now := time.Now()
	for _, m := range mails {
		guid := strings.ToUpper(m.GUID)
		if guid == "" {
			guid = resource.NewGUID()
		}
		created, next := m.Created, m.NextTry
		if created.IsZero() {
			created = now
		}
		if next.IsZero() {
			next = created
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO mail_outbox (guid, rcpt, subject, body, attachment, attachment_name, state, created, next_try)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			guid, m.To, m.Subject, m.Body, m.Attachment, m.AttachmentName, xc5.MailQueued, created.UnixMilli(), next.UnixMilli()); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// OnMailQueued registers fn to be called after mail was queued through
// this store (cmd/xc5 hands it the mail sender's Kick), so that a local
// mail goes out at once rather than at the sender's next poll.
func (s *Store) OnMailQueued(fn func()) {
	s.mu.Lock()
	s.mailHooks = append(s.mailHooks, fn)
	s.mu.Unlock()
}

// OnEventQueued registers fn to be called after a write that may have
// queued webhook events (cmd/xc5 hands it the webhook sender's Kick).
func (s *Store) OnEventQueued(fn func()) {
	s.mu.Lock()
	s.eventHooks = append(s.eventHooks, fn)
	s.mu.Unlock()
}

func (s *Store) eventQueued() {
	s.mu.Lock()
	hooks := s.eventHooks
	s.mu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}

func (s *Store) mailQueued() {
	s.mu.Lock()
	hooks := s.mailHooks
	s.mu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}
