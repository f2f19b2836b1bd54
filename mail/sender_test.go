package mail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/internal/audiotest"
	"xc5/internal/poll"
	"xc5/internal/smtptest"
	"xc5/mail"
	"xc5/sqlstore"
	"xc5/storetest"
)

var ctx = context.Background()

const wait = 30 * time.Second // bounds every wait: only catches a hang

// wavOf makes an 8 kHz 16-bit mono PCM WAV of samples.
func wavOf(samples []int16) []byte {
	var b bytes.Buffer
	n := uint32(len(samples) * 2)
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, 36+n)
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, n)
	binary.Write(&b, binary.LittleEndian, samples)
	return b.Bytes()
}

// samplesOf reads the PCM samples back out of a WAV made by wavOf.
func samplesOf(t *testing.T, wav []byte) []int16 {
	t.Helper()
	if len(wav) < 44 || string(wav[:4]) != "RIFF" || string(wav[36:40]) != "data" {
		t.Fatalf("not a WAV: % x", wav[:min(len(wav), 44)])
	}
	out := make([]int16, (len(wav)-44)/2)
	binary.Read(bytes.NewReader(wav[44:]), binary.LittleEndian, out)
	return out
}

// sender starts a sender over outbox until the test ends.
func sender(t *testing.T, cfg mail.Config) *mail.Sender {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.From == "" {
		cfg.From = "xc5@pbx.test"
	}
	s, err := mail.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Run(c); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// fast are back-off settings for tests.
func fast(cfg mail.Config) mail.Config {
	cfg.Poll, cfg.Backoff, cfg.MaxBackoff, cfg.Timeout = 20*time.Millisecond, 20*time.Millisecond, 100*time.Millisecond, 5*time.Second
	return cfg
}

// outbox lists the outbox.
func outbox(t *testing.T, s xc5.MailLister, state string) []xc5.Mail {
	t.Helper()
	var out []xc5.Mail
	if err := s.ListMail(ctx, state, 0, func(m xc5.Mail) error { out = append(out, m); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// parsed is a received message taken apart.
type parsed struct {
	Header                 netmail.Header
	Subject, Body          string
	AttachName, AttachType string
	Attachment             []byte
}

// parse reads a received MIME message: a text part and a WAV attachment.
func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, data)
	}
	var p parsed
	p.Header = m.Header
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, part)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if part.FileName() != "" {
			p.AttachName, p.AttachType, p.Attachment = part.FileName(), ct, b
		} else if ct == "text/plain" {
			p.Body = string(b) // quoted-printable is decoded by multipart
		}
	}
	return p
}

// TestVoicemailDelivered: a voicemail's mail, queued with the message,
// goes out at once (Kick; polling is off), over STARTTLS, with its WAV
// attachment intact: the same bytes, audio/wav, the tone still in it.
func TestVoicemailDelivered(t *testing.T) {
	storetest.Each(t, "pw-test-Mail1", func(t *testing.T, s *sqlstore.Store) {
		serverTLS, clientTLS := selfSigned(t)
		srv := smtptest.Start(t, "127.0.0.1:0", serverTLS, false)
		cfg := fast(mail.Config{URL: "smtp://" + srv.Addr, Node: "n1", Outbox: s, TLS: clientTLS})
		cfg.Poll = time.Hour
		snd := sender(t, cfg)
		s.OnMailQueued(snd.Kick)
		wav := wavOf(audiotest.Tone(440, 8000, 8000, 0.5))
		v := xc5.Voicemail{From: "6499290085", To: "reception@acme.test", Received: time.Date(2026, 12, 3, 10, 15, 0, 0, time.UTC),
			Duration: 7 * time.Second, Audio: wav}
		if err := s.LeaveVoicemail(ctx, v, []xc5.Mail{xc5.VoicemailMail(v, "boss@acme.test", "reception@acme.test")}); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, wait, "the mail arrives", func() bool { return len(srv.Messages()) == 1 })
		got := srv.Messages()[0]
		if !got.TLS || got.From != "xc5@pbx.test" || len(got.To) != 1 || got.To[0] != "boss@acme.test" {
			t.Errorf("envelope %+v (tls %v)", got.To, got.TLS)
		}
		p := parse(t, got.Data)
		if !strings.Contains(p.Subject, "6499290085") || !strings.Contains(p.Body, "reception@acme.test") || !strings.Contains(p.Body, "0:07") {
			t.Errorf("subject %q body %q", p.Subject, p.Body)
		}
		if p.AttachName != "voicemail-20261203-101500.wav" || p.AttachType != "audio/wav" || !bytes.Equal(p.Attachment, wav) {
			t.Errorf("attachment %q %q, %d bytes (want %d, equal %v)", p.AttachName, p.AttachType, len(p.Attachment), len(wav), bytes.Equal(p.Attachment, wav))
		}
		if !audiotest.Has(samplesOf(t, p.Attachment), 8000, 440) {
			t.Errorf("the 440 Hz tone is not in the received WAV")
		}
		poll.Until(t, wait, "the mail marked sent", func() bool { return len(outbox(t, s, xc5.MailSent)) == 1 })
	})
}

// TestSMTPSWithAuth: smtps:// is TLS from the first byte, and the URL's
// user and password log in.
func TestSMTPSWithAuth(t *testing.T) {
	s := storetest.Backends(t)[0].Open(t)
	t.Cleanup(func() { s.Close() })
	serverTLS, clientTLS := selfSigned(t)
	srv := smtptest.Start(t, "127.0.0.1:0", serverTLS, true)
	srv.User, srv.Pass = "relay@pbx.test", "s3cret:/@"
	sender(t, fast(mail.Config{URL: "smtps://relay%40pbx.test:s3cret%3A%2F%40@" + srv.Addr, Node: "n1", Outbox: s, TLS: clientTLS}))
	if err := s.QueueMail(ctx, []xc5.Mail{{To: "a@x.test", Subject: "hello", Body: "plain"}}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, wait, "the mail arrives", func() bool { return len(srv.Messages()) == 1 })
	if got := srv.Messages()[0]; !got.TLS || got.User != "relay@pbx.test" {
		t.Errorf("tls %v user %q", got.TLS, got.User)
	}
}

// TestSMTPDownThenUp: while nothing listens the mail is tried and stays
// queued with the connection error; once the server is up it is
// delivered, exactly once.
func TestSMTPDownThenUp(t *testing.T) {
	s := storetest.Backends(t)[0].Open(t)
	t.Cleanup(func() { s.Close() })
	addr := freePort(t)
	sender(t, fast(mail.Config{URL: "smtp://" + addr, Node: "n1", Outbox: s}))
	if err := s.QueueMail(ctx, []xc5.Mail{{To: "a@x.test", Subject: "down", Body: "b"}}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, wait, "two failed tries", func() bool {
		q := outbox(t, s, xc5.MailQueued)
		return len(q) == 1 && q[0].Attempts >= 2 && q[0].LastError != ""
	})
	srv := smtptest.Start(t, addr, nil, false)
	poll.Until(t, wait, "the mail marked sent", func() bool { return len(outbox(t, s, xc5.MailSent)) == 1 })
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d messages arrived, want 1", n)
	}
	if m := outbox(t, s, xc5.MailSent)[0]; m.LastError != "" || m.Attempts < 3 {
		t.Errorf("sent mail %+v", m)
	}
}

// TestTemporaryFailureRetried: 451 twice, then accepted: the mail is
// tried three times and arrives once.
func TestTemporaryFailureRetried(t *testing.T) {
	s := storetest.Backends(t)[0].Open(t)
	t.Cleanup(func() { s.Close() })
	srv := smtptest.Start(t, "127.0.0.1:0", nil, false)
	srv.Reject = func(n int, _ string) error {
		if n <= 2 {
			return errTryLater
		}
		return nil
	}
	sender(t, fast(mail.Config{URL: "smtp://" + srv.Addr, Node: "n1", Outbox: s, PermanentTries: 1}))
	if err := s.QueueMail(ctx, []xc5.Mail{{To: "a@x.test", Subject: "later", Body: "b"}}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, wait, "the mail marked sent", func() bool { return len(outbox(t, s, xc5.MailSent)) == 1 })
	if m := outbox(t, s, xc5.MailSent)[0]; m.Attempts != 3 || len(srv.Messages()) != 1 {
		t.Errorf("attempts %d, %d messages; want 3 and 1", m.Attempts, len(srv.Messages()))
	}
}

// TestPermanentFailure: 550 on every try fails the mail for good after
// PermanentTries, with the server's answer recorded.
func TestPermanentFailure(t *testing.T) {
	s := storetest.Backends(t)[0].Open(t)
	t.Cleanup(func() { s.Close() })
	srv := smtptest.Start(t, "127.0.0.1:0", nil, false)
	srv.Reject = func(int, string) error { return errNoSuchUser }
	sender(t, fast(mail.Config{URL: "smtp://" + srv.Addr, Node: "n1", Outbox: s, PermanentTries: 2}))
	if err := s.QueueMail(ctx, []xc5.Mail{{To: "nobody@x.test", Subject: "s", Body: "b"}}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, wait, "the mail failed", func() bool { return len(outbox(t, s, xc5.MailFailed)) == 1 })
	m := outbox(t, s, xc5.MailFailed)[0]
	if m.Attempts != 2 || !strings.Contains(m.LastError, "550") || !strings.Contains(m.LastError, "no such user here") {
		t.Errorf("failed mail: attempts %d, last error %q", m.Attempts, m.LastError)
	}
	if len(srv.Messages()) != 0 {
		t.Errorf("a refused mail arrived")
	}
}

// TestTwoNodesSendOnce: two nodes' senders over one database (two
// stores, as two nodes on one PostgreSQL) send every mail exactly once.
func TestTwoNodesSendOnce(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s1, s2 := b.Open(t), b.Open(t)
			t.Cleanup(func() { s1.Close(); s2.Close() })
			srv := smtptest.Start(t, "127.0.0.1:0", nil, false)
			for i, s := range []*sqlstore.Store{s1, s2} {
				cfg := fast(mail.Config{URL: "smtp://" + srv.Addr, Node: []string{"n1", "n2"}[i], Outbox: s, Batch: 3})
				s.OnMailQueued(sender(t, cfg).Kick)
			}
			const n = 40
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				s := []*sqlstore.Store{s1, s2}[i%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.QueueMail(ctx, []xc5.Mail{{To: "a@x.test", Subject: "s", Body: "b"}}); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			poll.Until(t, wait, "every mail marked sent", func() bool { return len(outbox(t, s1, xc5.MailSent)) == n })
			ids := map[string]int{}
			for _, m := range srv.Messages() {
				msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
				if err != nil {
					t.Fatal(err)
				}
				ids[msg.Header.Get("Message-Id")]++
			}
			if len(ids) != n || len(srv.Messages()) != n {
				t.Errorf("%d messages with %d distinct Message-IDs, want %d of each", len(srv.Messages()), len(ids), n)
			}
		})
	}
}

// TestRestartDelivers: a mail queued while no SMTP server was configured
// survives the store's close and reopening, and the next sender sends it.
func TestRestartDelivers(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			var logs bytes.Buffer
			func() {
				c, cancel := context.WithCancel(ctx)
				snd, err := mail.NewSender(mail.Config{Node: "n1", Outbox: s, Log: slog.New(slog.NewTextHandler(&logs, nil))})
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				go func() { snd.Run(c); close(done) }()
				s.OnMailQueued(snd.Kick)
				if err := s.QueueMail(ctx, []xc5.Mail{{To: "a@x.test", Subject: "kept", Body: "b", Attachment: []byte("RIFF"), AttachmentName: "x.wav"}}); err != nil {
					t.Fatal(err)
				}
				snd.Kick()
				cancel()
				<-done
			}()
			if n := strings.Count(logs.String(), "no SMTP server configured"); n != 1 {
				t.Errorf("without SMTP the log says so %d times, want once:\n%s", n, logs.String())
			}
			if q := outbox(t, s, xc5.MailQueued); len(q) != 1 || q[0].Attempts != 0 {
				t.Fatalf("without SMTP: outbox %+v", q)
			}
			s.Close()
			s = b.Open(t)
			t.Cleanup(func() { s.Close() })
			srv := smtptest.Start(t, "127.0.0.1:0", nil, false)
			sender(t, fast(mail.Config{URL: "smtp://" + srv.Addr, Node: "n2", Outbox: s}))
			poll.Until(t, wait, "the kept mail arrives", func() bool { return len(srv.Messages()) == 1 })
			if p := parse(t, srv.Messages()[0].Data); p.Subject != "kept" || string(p.Attachment) != "RIFF" {
				t.Errorf("received %+v", p)
			}
		})
	}
}

func TestNewSenderErrors(t *testing.T) {
	s := storetest.Backends(t)[0].Open(t)
	t.Cleanup(func() { s.Close() })
	tests := []struct {
		cfg  mail.Config
		want string
	}{
		{mail.Config{URL: "smtp://h:25", Node: "n"}, "no outbox"},
		{mail.Config{URL: "smtp://h:25", Outbox: s}, "node"},
		{mail.Config{URL: "imap://h:25", Node: "n", Outbox: s, From: "a@b.test"}, "scheme"},
		{mail.Config{URL: "smtp://h:25", Node: "n", Outbox: s}, "--mail-from"},
		{mail.Config{URL: "smtp://h:25", Node: "n", Outbox: s, From: "not an address"}, "sender address"},
		{mail.Config{URL: "smtp://h:25", Node: "n", Outbox: s, From: "a@b.test", Lease: time.Minute, Timeout: time.Minute}, "lease"},
	}
	for _, tt := range tests {
		if _, err := mail.NewSender(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewSender(%+v) = %v, want an error with %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := mail.NewSender(mail.Config{Node: "n", Outbox: s}); err != nil {
		t.Errorf("without a URL: %v", err)
	}
}
