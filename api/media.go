package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"xc5"
	"xc5/media/wav"
	"xc5/resource"
)

// MaxAudio is the largest prompt upload accepted.
const MaxAudio = 20 << 20

// MaxUploads is how many prompt uploads are read, converted and stored at
// once. Each holds its body and the converted audio (up to three times
// MaxAudio, for 8-bit audio at 8 kHz) until stored, and converting is CPU
// work: four keep the memory of uploads near a quarter of a GiB at most,
// and two cores busy. Without a bound, 24 simultaneous 20 MiB uploads took
// the process to 1.55 GiB.
const MaxUploads = 4

// UploadWait is how long an upload waits for one of the MaxUploads turns
// before it is refused with 503 and Retry-After.
const UploadWait = 5 * time.Second

// PartitionUploads is how many of the MaxUploads turns one partition (a
// user-level caller) may hold at once, so that one company cannot keep
// every turn busy; its next upload meanwhile is 503 with Retry-After.
const PartitionUploads = 1

// UploadGrace and UploadMinRate bound how slowly an upload may arrive,
// so that a client trickling its body cannot hold a turn for long: the
// body must have arrived by UploadGrace after the turn was given, plus a
// second for every UploadMinRate bytes received (a deadline extended as
// bytes arrive). Slower is 400.
const (
	UploadGrace   = 5 * time.Second
	UploadMinRate = 16 << 10
)

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
// multipart form, or the raw body, read into one buffer of at most
// MaxAudio bytes (sized from Content-Length when the client sends it).
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
			data, err = readAtMost(part, MaxAudio, r.ContentLength)
			part.Close()
			break
		}
	} else {
		data, err = readAtMost(body, MaxAudio, r.ContentLength)
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

// readAtMost reads rd to its end into one buffer, stopping past limit
// bytes (the caller sees more than limit and refuses it). With the body's
// size known (hint > 0) the buffer is allocated once, a byte larger so
// that the end is seen without growing it; otherwise it grows by doubling
// from 256 KiB.
func readAtMost(rd io.Reader, limit int, hint int64) ([]byte, error) {
	size := 256 << 10
	if hint > 0 {
		size = int(min(hint, int64(limit)) + 1)
	}
	buf := make([]byte, 0, size)
	for len(buf) <= limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), limit+1-len(buf)))
		}
		n, err := rd.Read(buf[len(buf):min(cap(buf), limit+1)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// uploadTurn waits (at most UploadWait) for one of the MaxUploads turns
// and returns its release; ok is false when none came free in time, or
// the client went away.
func (s *Server) uploadTurn(r *http.Request) (release func(), ok bool) {
	release = func() { <-s.uploads }
	select {
	case s.uploads <- struct{}{}:
		return release, true
	default:
	}
	t := time.NewTimer(UploadWait)
	defer t.Stop()
	select {
	case s.uploads <- struct{}{}:
		return release, true
	case <-t.C:
	case <-r.Context().Done():
	}
	return nil, false
}

// partitionTurn takes one of a partition's PartitionUploads turns, or
// reports that it holds them all.
func (s *Server) partitionTurn(scope resource.Scope) (release func(), ok bool) {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	if s.upByScope[scope] >= PartitionUploads {
		return nil, false
	}
	s.upByScope[scope]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.upMu.Lock()
			if s.upByScope[scope]--; s.upByScope[scope] <= 0 {
				delete(s.upByScope, scope)
			}
			s.upMu.Unlock()
		})
	}, true
}

// outermostPartition is the scope of the outermost api_access=user
// account on a user-level caller's path: the company the provider gave
// access, whose sub-partitions (it may grant api_access=user below it)
// share its upload turns rather than each getting its own.
func (s *Server) outermostPartition(ctx context.Context, scope resource.Scope) resource.Scope {
	path := string(scope)
	for i := 1; i < len(path); {
		j := strings.IndexByte(path[i:], '/')
		if j < 0 {
			break
		}
		guid := path[i : i+j]
		i += j + 1
		if rec, err := s.store.Get(ctx, "", resource.AccountResource, guid, "api_access"); err == nil && rec.Values["value"] == resource.AccessUser {
			return resource.Scope(path[:i])
		}
	}
	return scope
}

// paced is an upload body whose read deadline moves as bytes arrive: see
// UploadGrace and UploadMinRate.
type paced struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	n     int64
}

// pace sets the body's first deadline and returns it paced.
func pace(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
	p := &paced{ReadCloser: body, rc: http.NewResponseController(w), start: time.Now()}
	p.rc.SetReadDeadline(p.start.Add(UploadGrace)) // a writer without deadlines keeps the server's
	return p
}

func (p *paced) Read(b []byte) (int, error) {
	k, err := p.ReadCloser.Read(b)
	if k > 0 {
		p.n += int64(k)
		p.rc.SetReadDeadline(p.start.Add(UploadGrace + time.Duration(p.n)*time.Second/UploadMinRate))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		err = xc5.Errorf(xc5.EINVALID, "the upload arrived too slowly: send at least %d KiB/s", UploadMinRate>>10)
	}
	return k, err
}

// uploadsBusy answers an upload that found no turn: 503 with Retry-After.
// The body is read and dropped first (within the size limit, a small
// buffer at a time), so that a client still sending it gets the answer
// rather than a reset connection; a client that waits for 100 Continue
// has sent none, and is answered at once.
func uploadsBusy(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxAudio+64<<10))
	}
	retry := max(int(UploadWait/time.Second), 1)
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	writeJSON(w, http.StatusServiceUnavailable,
		fmt.Appendf(nil, "[{\"error\":\"too many audio uploads in progress; try again in %d seconds\"}]\n", retry))
}

// putAudio stores an uploaded prompt.
func (s *Server) putAudio(w http.ResponseWriter, r *http.Request, c Caller, t Target) error {
	if !t.Item() {
		return xc5.Errorf(xc5.EINVALID, "upload audio to …/prompt/{guid}; get a GUID from GET /api-sys/guid")
	}
	if c.Scope != "" {
		release, ok := s.partitionTurn(s.outermostPartition(r.Context(), c.Scope))
		if !ok {
			uploadsBusy(w, r)
			return nil
		}
		defer release()
	}
	release, ok := s.uploadTurn(r)
	if !ok {
		uploadsBusy(w, r)
		return nil
	}
	defer release()
	r.Body = pace(w, r.Body)
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
