package api

// The mailboxes (…/account/{id}/voicemail) and the mail outbox (/mail):
// served by hand over xc5.VoicemailStore and xc5.MailLister, since their
// records are not the generic store's, but described in package resource
// like every other resource (paths, OPTIONS, the check of a PATCH).

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"xc5"
	"xc5/resource"
)

// maxMailList bounds GET /mail without ?limit.
const maxMailList = 1000

// voicemail serves an account's mailbox. The account is looked up in the
// caller's partition first, so that a message of an account outside it
// is 404 like the account itself.
func (s *Server) voicemail(w http.ResponseWriter, r *http.Request, c Caller, t Target) error {
	if s.voicemails == nil {
		return xc5.Errorf(xc5.ENOTFOUND, "voicemail is not available on this server")
	}
	acct, err := s.store.Get(r.Context(), c.Scope, resource.Account, "", t.Parent)
	if err != nil {
		return err
	}
	redact := func(v xc5.Voicemail) xc5.Voicemail { return v }
	if c.Scope != "" {
		o := s.outsiders(r.Context(), c)
		redact = func(v xc5.Voicemail) xc5.Voicemail {
			for _, f := range []*string{&v.From, &v.To} {
				if !o.Shown(*f) {
					*f = anotherCompany
				}
			}
			return v
		}
	}
	if !t.Item() {
		b := []byte{'['}
		n := 0
		err := s.voicemails.ListVoicemail(r.Context(), acct.GUID, func(v xc5.Voicemail) error {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = appendRecord(b, resource.Voicemail, voicemailRecord(redact(v)), true)
			return r.Context().Err()
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, append(b, "]\n"...))
		return nil
	}
	switch r.Method {
	case http.MethodDelete:
		if err := s.voicemails.DeleteVoicemail(r.Context(), acct.GUID, t.ID); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, []byte("[]\n"))
		return nil
	case http.MethodPatch:
		if err := s.patchVoicemail(w, r, acct.GUID, t.ID); err != nil {
			return err
		}
	}
	audio := r.Method != http.MethodPatch && wantsAudio(r)
	v, err := s.voicemails.GetVoicemail(r.Context(), acct.GUID, t.ID, audio)
	if err != nil {
		return err
	}
	if audio {
		if len(v.Audio) == 0 {
			return xc5.Errorf(xc5.ENOTFOUND, "voicemail %s has no audio", v.GUID)
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Content-Length", strconv.Itoa(len(v.Audio)))
		w.WriteHeader(http.StatusOK)
		w.Write(v.Audio)
		return nil
	}
	writeJSON(w, http.StatusOK, append(appendRecord([]byte{'['}, resource.Voicemail, voicemailRecord(redact(v)), false), "]\n"...))
	return nil
}

// patchVoicemail applies a PATCH: status is the one field it may change.
func (s *Server) patchVoicemail(w http.ResponseWriter, r *http.Request, account, id string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return xc5.Errorf(xc5.ETOOLARGE, "the body is larger than %d bytes", MaxBody)
		}
		return xc5.Errorf(xc5.EINVALID, "reading the body: %v", err)
	}
	in, err := resource.Decode(resource.Voicemail, body)
	if err != nil {
		return err
	}
	if g := in.String("guid"); g != "" && !strings.EqualFold(g, id) {
		return xc5.Errorf(xc5.EINVALID, "guid %q does not match the path", g)
	}
	if !in.Has("status") {
		return xc5.Errorf(xc5.EINVALID, `PATCH a message with {"status":"saved"} or {"status":"new"}`)
	}
	return s.voicemails.SetVoicemailStatus(r.Context(), account, id, in.String("status"))
}

// voicemailRecord is a message as the API shows it.
func voicemailRecord(v xc5.Voicemail) resource.Record {
	return resource.Record{GUID: v.GUID, Parent: v.Account, Values: map[string]any{
		"guid": v.GUID, "from": v.From, "to": v.To, "received": apiTime(v.Received),
		"duration": int64(v.Duration.Round(time.Second) / time.Second), "status": v.Status,
	}}
}

// apiTime writes a time as the API's other times are written; "" for none.
func apiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// mail lists the outbox, newest first, to system-level access only.
func (s *Server) mail(w http.ResponseWriter, r *http.Request, c Caller, q map[string]string) error {
	if c.Scope != "" {
		return xc5.Errorf(xc5.EFORBIDDEN, "the mail outbox is for system-level API access only")
	}
	if s.mails == nil {
		return xc5.Errorf(xc5.ENOTFOUND, "the mail outbox is not available on this server")
	}
	state := q["state"]
	switch state {
	case "", xc5.MailQueued, xc5.MailSent, xc5.MailFailed:
	default:
		return xc5.Errorf(xc5.EINVALID, "state %q: queued, sent or failed", state)
	}
	limit := maxMailList
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return xc5.Errorf(xc5.EINVALID, "limit must be an integer from 1 to %d", maxLimit)
		}
		limit = n
	}
	b := []byte{'['}
	n := 0
	err := s.mails.ListMail(r.Context(), state, limit, func(m xc5.Mail) error {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendRecord(b, resource.Mail, resource.Record{GUID: m.GUID, Values: map[string]any{
			"guid": m.GUID, "to": m.To, "subject": m.Subject, "state": m.State, "attempts": int64(m.Attempts),
			"last_error": m.LastError, "created": apiTime(m.Created), "sent_at": apiTime(m.SentAt),
		}}, false)
		return r.Context().Err()
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, append(b, "]\n"...))
	return nil
}
