package portal

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"xc5"
	"xc5/resource"
)

// vmRow is one message as the Voicemail page shows it.
type vmRow struct {
	GUID, From, To, Received, Status string
	Seconds                          int64
}

type vmData struct {
	Account, AccountGUID string
	Rows                 []vmRow
}

// voicemail serves an account's mailbox: the list (GET voicemail), the
// audio (GET voicemail/{account}/{message}/audio, ?download=1 as a
// file), and POST …/{message}/save, …/new, …/delete. Another company's
// callers read "another company", as in the API.
func (s *Server) voicemail(q *req, rest []string) {
	if s.vm == nil {
		q.fail(xc5.Errorf(xc5.ENOTFOUND, "voicemail is not available on this server"))
		return
	}
	ctx := q.r.Context()
	id := q.r.URL.Query().Get("account")
	if len(rest) > 0 {
		id = rest[0]
	}
	acct, err := q.account(strings.TrimSpace(id))
	if err != nil {
		q.fail(err)
		return
	}
	o := resource.NewOutsiders(ctx, s.store, q.scope())
	shown := func(v string) string {
		if !o.Shown(v) {
			return resource.AnotherCompany
		}
		return v
	}
	if len(rest) <= 1 {
		d := vmData{Account: acct.Values["username"].(string), AccountGUID: acct.GUID}
		err := s.vm.ListVoicemail(ctx, acct.GUID, func(v xc5.Voicemail) error {
			d.Rows = append(d.Rows, vmRow{GUID: v.GUID, From: shown(v.From), To: shown(v.To),
				Received: v.Received.In(s.view.Zone(q.co)).Format("2006-01-02 15:04"), Status: v.Status,
				Seconds: int64(v.Duration.Round(time.Second) / time.Second)})
			return ctx.Err()
		})
		if err != nil {
			q.fail(err)
			return
		}
		q.render("voicemail", "Voicemail", d, "")
		return
	}
	if len(rest) != 3 {
		http.NotFound(q.w, q.r)
		return
	}
	msg, action := rest[1], rest[2]
	if action == "audio" {
		v, err := s.vm.GetVoicemail(ctx, acct.GUID, msg, true)
		if err == nil && len(v.Audio) == 0 {
			err = xc5.Errorf(xc5.ENOTFOUND, "voicemail %s has no audio", msg)
		}
		if err != nil {
			q.fail(err)
			return
		}
		q.w.Header().Set("Content-Type", "audio/wav")
		q.w.Header().Set("Cache-Control", "private, no-store")
		if q.r.URL.Query().Get("download") == "1" {
			q.w.Header().Set("Content-Disposition", `attachment; filename="voicemail-`+v.GUID+`.wav"`)
		}
		// ServeContent answers the Range requests an audio element makes.
		http.ServeContent(q.w, q.r, "", v.Received, bytes.NewReader(v.Audio))
		return
	}
	if !q.post() {
		return
	}
	switch action {
	case "delete":
		err = s.vm.DeleteVoicemail(ctx, acct.GUID, msg)
	case "save":
		err = s.vm.SetVoicemailStatus(ctx, acct.GUID, msg, xc5.VoicemailSaved)
	case "new":
		err = s.vm.SetVoicemailStatus(ctx, acct.GUID, msg, xc5.VoicemailNew)
	default:
		http.NotFound(q.w, q.r)
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	q.back("voicemail?account=" + urlq(acct.GUID))
}
