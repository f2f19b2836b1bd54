package main_test

// The server side of the full-stack media tests: `xc5 serve` with media
// and mail flags, a real SMTP server (go-smtp) that keeps what it
// receives, and the MIME and WAV decoding of what arrived.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/internal/smtptest"
	"xc5/media/wav"
)

// mailed is a received message, decoded.
type mailed struct {
	To, Subject, Body string
	Attachment        []byte // the WAV as attached
}

// decodeMail parses a message: the subject, the text part and the WAV
// attachment.
func decodeMail(t *testing.T, m smtptest.Message) mailed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("mail: %v\n%s", err, m.Data)
	}
	var out mailed
	out.To = strings.Join(m.To, ",")
	out.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("mail is %q (%v), want multipart with an attachment", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("mail part: %v", err)
		}
		b, _ := io.ReadAll(p)
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			if b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), "")); err != nil {
				t.Fatalf("base64 part: %v", err)
			}
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch {
		case strings.HasSuffix(strings.ToLower(p.FileName()), ".wav") || strings.HasPrefix(pt, "audio/"):
			out.Attachment = b
		case strings.HasPrefix(pt, "text/"):
			out.Body += string(b)
		}
	}
	if out.Attachment == nil {
		t.Fatalf("mail %q has no WAV attachment", out.Subject)
	}
	return out
}

// checkVoicemail checks a voicemail mail: to, the caller in the subject,
// a tone of freq lasting about want (any length when want is 0).
func checkVoicemail(t *testing.T, m mailed, to, caller string, freq float64, want time.Duration) {
	t.Helper()
	if m.To != to {
		t.Errorf("mail to %q, want %q", m.To, to)
	}
	if !strings.Contains(m.Subject, caller) {
		t.Errorf("subject %q does not name the caller %s", m.Subject, caller)
	}
	a, err := wav.Parse(m.Attachment)
	if err != nil {
		t.Fatalf("attachment: %v", err)
	}
	samples := a.To8kHz()
	d := time.Duration(len(samples)) * time.Second / 8000
	if want > 0 && (d < want-time.Second/2 || d > want+1500*time.Millisecond) {
		t.Errorf("message of %v, want about %v", d, want)
	}
	if !audiotest.Has(samples, 8000, freq) {
		t.Errorf("the caller's %v Hz tone is not in the attached WAV", freq)
	}
}

const mediaAdmin = "media-admin-pw"

// rtpBase hands each server its own RTP port range, above the
// ephemeral range the test endpoints use.
var rtpBase atomic.Int32

// mediaServe runs xc5 serve on dir with an in-process media node, the
// relay on its own ports, mail to smtpAddr (if not ""), and extra flags.
func mediaServe(t *testing.T, dir, smtpAddr string, extra ...string) *server {
	t.Helper()
	lo := 61000 + 300*int(rtpBase.Add(1)%14)
	args := []string{"--data", dir, "--sip", "127.0.0.1:0", "--rtp-ports", fmt.Sprintf("%d-%d", lo, lo+299),
		"--mail-retry", "1s"}
	if smtpAddr != "" {
		args = append(args, "--smtp", "smtp://"+smtpAddr, "--mail-from", "pbx@x.co.nz")
	}
	return startServe(t, append(args, extra...), "XC5_ADMIN_PASSWORD="+mediaAdmin)
}

// provision PUTs each [path, body] as the system admin, wanting 200/201;
// it returns the bodies answered.
func (s *server) provision(t *testing.T, reqs ...[2]string) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		code, body := s.do(t, "PUT", r[0], "admin", mediaAdmin, r[1])
		if code != 200 && code != 201 {
			t.Fatalf("PUT %s %s: %d %s", r[0], r[1], code, body)
		}
		out = append(out, body)
	}
	return out
}

// carrierTrunk lets calls from 127.0.0.1, any port, in as a carrier's.
var carrierTrunk = [2]string{"/api-sys/trunk", `{"name":"carrier","address":"127.0.0.1","port":0,"priority":1}`}

// reception is the document's stage one, reduced to what voicemail needs:
// the company, reception with its DDI and its voicemail route.
var reception = [][2]string{
	{"/api-sys/account/", `{"username":"acmebrick.x.co.nz"}`},
	{"/api-sys/account/acmebrick.x.co.nz/child", `{"username":"reception@acmebrick.x.co.nz"}`},
	{"/api-sys/account/reception@acmebrick.x.co.nz/number", `{"number":"6491231234"}`},
	{"/api-sys/account/reception@acmebrick.x.co.nz/route", `{"order":-1,"destination":"email:reception@acmebrick.x.co.nz"}`},
}
