package api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"xc5"
	"xc5/media/wav"
)

// MaxAudio is the largest prompt upload accepted.
const MaxAudio = 20 << 20

// isAudioUpload reports whether a PUT carries audio rather than JSON: the
// document's "form data of file", or a raw WAV body.
func isAudioUpload(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data" || strings.HasPrefix(mt, "audio/") || mt == "application/octet-stream"
}

// wantsAudio reports whether a GET asks for the audio of a prompt.
func wantsAudio(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		if strings.HasPrefix(mt, "audio/") {
			return true
		}
	}
	return false
}

// readAudio returns the WAV bytes of an upload: the first file part of a
// multipart form, or the raw body.
func readAudio(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, MaxAudio+64<<10)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var data []byte
	var err error
	if mt == "multipart/form-data" {
		if params["boundary"] == "" {
			return nil, xc5.Errorf(xc5.EINVALID, "multipart/form-data without a boundary")
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, perr := mr.NextPart()
			if perr == io.EOF {
				return nil, xc5.Errorf(xc5.EINVALID, "the form has no file part")
			}
			if perr != nil {
				err = perr
				break
			}
			if part.FileName() == "" && part.FormName() != "file" {
				part.Close()
				continue
			}
			data, err = io.ReadAll(io.LimitReader(part, MaxAudio+1))
			part.Close()
			break
		}
	} else {
		data, err = io.ReadAll(body)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || len(data) > MaxAudio {
		return nil, xc5.Errorf(xc5.ETOOLARGE, "audio uploads are limited to %d MiB", MaxAudio>>20)
	}
	if err != nil {
		return nil, xc5.Errorf(xc5.EINVALID, "reading the upload: %v", err)
	}
	return data, nil
}

// putAudio stores an uploaded prompt.
func (s *Server) putAudio(w http.ResponseWriter, r *http.Request, c Caller, t Target) error {
	if !t.Item() {
		return xc5.Errorf(xc5.EINVALID, "upload audio to …/prompt/{guid}; get a GUID from GET /api-sys/guid")
	}
	data, err := readAudio(w, r)
	if err != nil {
		return err
	}
	pcm, length, err := wav.Normalize(data)
	if err != nil {
		var fe *wav.FormatError
		if errors.As(err, &fe) {
			return xc5.Errorf(xc5.EINVALID, "%s", fe.Error())
		}
		return xc5.Errorf(xc5.EINVALID, "not a usable WAV file: %v", err)
	}
	rec, created, err := s.store.PutAudio(r.Context(), c.Scope, t.Parent, t.ID, data, pcm, length.Milliseconds())
	if err != nil {
		return err
	}
	s.writeRecord(w, t, rec, created)
	return nil
}

// getAudio answers a prompt's audio as audio/wav (?original=true for the
// upload as sent).
func (s *Server) getAudio(w http.ResponseWriter, r *http.Request, c Caller, t Target, q map[string]string) error {
	b, err := s.store.Audio(r.Context(), c.Scope, t.Parent, t.ID, q["original"] == "true")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}
