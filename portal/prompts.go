package portal

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"time"

	"xc5"
	"xc5/media/wav"
	"xc5/resource"
)

// maxAudio is the largest prompt upload (the API's api.MaxAudio).
const maxAudio = 20 << 20

type promptRow struct {
	GUID, Description, Code string
	Seconds                 int64
}

type promptsData struct {
	Account, AccountGUID string
	Rows                 []promptRow
}

// prompts lists an account's prompts (administrators only) with their
// audio and the *22… code that records them from a phone of the
// company; uploads a WAV (new prompt or replacing one) and creates an
// empty prompt to record by phone, through the store's PutAudio and Put
// in the company's partition, as the API's uploads. One upload per
// company is read at a time (the API's PartitionUploads), so that a
// company cannot take the node's memory and CPU with parallel uploads.
func (s *Server) prompts(q *req, rest []string) {
	acct, ok := q.adminAccount(rest)
	if !ok {
		return
	}
	var err error
	ctx := q.r.Context()
	switch {
	case len(rest) == 3 && rest[2] == "audio" && q.r.Method == http.MethodGet:
		audio, err := s.store.Audio(ctx, q.scope(), acct.GUID, rest[1], false)
		if err != nil {
			q.fail(err)
			return
		}
		q.w.Header().Set("Content-Type", "audio/wav")
		q.w.Header().Set("Cache-Control", "private, no-store")
		http.ServeContent(q.w, q.r, "", time.Time{}, bytes.NewReader(audio))
		return
	case len(rest) == 2 && rest[1] == "upload" && q.r.Method == http.MethodPost:
		err = s.upload(q, acct.GUID)
	case len(rest) == 2 && rest[1] == "new" && q.r.Method == http.MethodPost:
		_, err = q.put(resource.Prompt, acct.GUID, "", map[string]any{"description": strings.TrimSpace(q.r.PostFormValue("description"))}, resource.Create)
	case len(rest) <= 1 && q.r.Method == http.MethodGet:
		d := promptsData{Account: acct.Values["username"].(string), AccountGUID: acct.GUID}
		err = s.store.List(ctx, q.scope(), resource.Prompt, resource.Query{Parent: acct.GUID}, func(rec resource.Record) error {
			r := promptRow{GUID: rec.GUID}
			r.Description, _ = rec.Values["description"].(string)
			r.Code, _ = rec.Values["group_access"].(string)
			ms, _ := rec.Values["prompt_length"].(int64)
			r.Seconds = (ms + 500) / 1000
			d.Rows = append(d.Rows, r)
			return nil
		})
		if err != nil {
			q.fail(err)
			return
		}
		q.render("prompts", "Prompts", d, "")
		return
	default:
		http.NotFound(q.w, q.r)
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	q.back("prompts?account=" + urlq(acct.GUID))
}

// upload reads a multipart WAV and stores it as a prompt's audio: the
// GUID of the form's "prompt" (replace) or a new one.
func (s *Server) upload(q *req, account string) error {
	release, ok := s.uploadTurn(q.corec.GUID)
	if !ok {
		return xc5.Errorf(xc5.EUNAVAILABLE, "another upload of your company is in progress; try again in a moment")
	}
	defer release()
	f, _, err := q.r.FormFile("file") // parsed within its bound (req.parseForm)
	if err != nil {
		return xc5.Errorf(xc5.EINVALID, "choose a WAV file to upload")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAudio+1))
	if err != nil || len(data) > maxAudio {
		return xc5.Errorf(xc5.ETOOLARGE, "the file is larger than %d bytes", maxAudio)
	}
	pcm, length, err := wav.Normalize(data)
	if err != nil {
		return xc5.Errorf(xc5.EINVALID, "not a usable WAV file: %v", err)
	}
	id := strings.TrimSpace(q.r.PostFormValue("prompt"))
	if id == "" {
		id = resource.NewGUID()
	} else if !resource.IsGUID(id) {
		return xc5.Errorf(xc5.EINVALID, "prompt %q is not a GUID", id)
	}
	_, _, err = s.store.PutAudio(q.r.Context(), q.scope(), account, id, data, pcm, length.Milliseconds())
	return err
}

// uploadTurn takes the company's one upload turn, without waiting.
func (s *Server) uploadTurn(company string) (func(), bool) {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	if s.uploading[company] {
		return nil, false
	}
	s.uploading[company] = true
	return func() {
		s.upMu.Lock()
		delete(s.uploading, company)
		s.upMu.Unlock()
	}, true
}
