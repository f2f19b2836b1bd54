package main_test

// Full-stack media tests: the built `xc5 serve` (and `xc5 media`) binary
// as a subprocess, a Go user agent with real RTP calling it as a carrier,
// and a real SMTP server receiving the voicemail, whose WAV attachment is
// checked for the tone the caller sent.

import (
	"bytes"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"xc5/internal/rtptest"
	"xc5/internal/smtptest"
	"xc5/storetest"
)

const caller = "6421555000"

// leaveVoicemail calls ddi as a carrier, waits for the greeting and the
// beep, sends d of 1 kHz and '#', and waits for xc5 to hang up.
func leaveVoicemail(t *testing.T, s *server, ddi string, d time.Duration) {
	t.Helper()
	car := carrier(t, s.sipAddr(t), caller)
	to := car.dial(ddi).answered()
	at, ok := hears(car.ep, 0, 1000, 30*time.Second)
	if !ok {
		t.Fatalf("no beep after the greeting (%d samples received)\nxc5 log:\n%s", len(car.ep.Received()), s.stderr)
	}
	if !heardSound(car.ep, 0) || at < 8000 {
		t.Errorf("no greeting before the beep (%d samples)", at)
	}
	time.Sleep(400 * time.Millisecond) // the rest of the beep
	car.ep.SendTone(to, rtptest.PCMU, 1000, d)
	car.ep.SendDigits(to, "#", rtptest.TelephoneEvent)
	if !car.hungUp(15 * time.Second) {
		t.Fatalf("xc5 did not hang up after the message\nxc5 log:\n%s", s.stderr)
	}
}

// TestVoicemailToEmailOverSMTP: the document's reception voicemail; the
// caller hears the system greeting and leaves 3 s of 1 kHz; one mail to
// reception arrives over SMTP naming the caller, with the tone attached.
func TestVoicemailToEmailOverSMTP(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, "127.0.0.1:0", nil, false)
	s := mediaServe(t, t.TempDir(), sink.Addr)
	s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
	leaveVoicemail(t, s, "6491231234", 3*time.Second)
	m := decodeMail(t, sink.WaitMessages(t, 1, 20*time.Second, 2*time.Second)[0])
	checkVoicemail(t, m, "reception@acmebrick.x.co.nz", caller, 1000, 3*time.Second)
	if !strings.Contains(m.Body, caller) || !strings.Contains(m.Body, "6491231234") {
		t.Errorf("body does not name caller and called number:\n%s", m.Body)
	}
	t.Run("api shows it sent", func(t *testing.T) {
		code, body := s.do(t, "GET", "/api-sys/mail", "admin", mediaAdmin, "")
		if code != 200 || !strings.Contains(body, "sent") || !strings.Contains(body, "reception@acmebrick.x.co.nz") {
			t.Errorf("GET /api-sys/mail: %d %s", code, body)
		}
	})
}

// TestMailOutboxSurvivesKillNine: the SMTP server is down when the
// voicemail is left; xc5 is killed with SIGKILL; restarted on the same
// data with the SMTP server up, it delivers the mail, once.
func TestMailOutboxSurvivesKillNine(t *testing.T) {
	t.Parallel()
	dir, smtpAddr := t.TempDir(), freePort(t)
	s := mediaServe(t, dir, smtpAddr)
	s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
	leaveVoicemail(t, s, "6491231234", 2*time.Second)
	waitLog(t, s, "mail: not sent; will try again")
	s.cmd.Process.Kill()
	s.cmd.Wait()
	sink := smtptest.Start(t, smtpAddr, nil, false)
	mediaServe(t, dir, sink.Addr)
	m := decodeMail(t, sink.WaitMessages(t, 1, 20*time.Second, 3*time.Second)[0])
	checkVoicemail(t, m, "reception@acmebrick.x.co.nz", caller, 1000, 2*time.Second)
}

// TestMailClaimedWhenKilledSentAfterRestart: xc5 is killed while it is
// sending a voicemail's mail (the SMTP server took the connection and
// said nothing yet): the mail was claimed by the killed process. The
// restarted one sends it at once, not after the claim's five-minute
// lease.
func TestMailClaimedWhenKilledSentAfterRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mute, err := net.Listen("tcp", "127.0.0.1:0") // takes connections, never greets
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := mute.Addr().String()
	took := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			took <- c
		}
	}()
	s := mediaServe(t, dir, smtpAddr)
	s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
	leaveVoicemail(t, s, "6491231234", 2*time.Second)
	select {
	case c := <-took: // the mail is claimed, its sending under way
		defer c.Close()
	case <-time.After(20 * time.Second):
		t.Fatal("xc5 never connected to the SMTP server")
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	mute.Close()
	sink := smtptest.Start(t, smtpAddr, nil, false)
	mediaServe(t, dir, sink.Addr)
	m := decodeMail(t, sink.WaitMessages(t, 1, 20*time.Second, 3*time.Second)[0])
	checkVoicemail(t, m, "reception@acmebrick.x.co.nz", caller, 1000, 2*time.Second)
}

// TestMailDeliveredWhenSMTPComesUp: the SMTP server is down, then comes
// up on its port; the running xc5 retries and delivers the mail once.
func TestMailDeliveredWhenSMTPComesUp(t *testing.T) {
	t.Parallel()
	smtpAddr := freePort(t)
	s := mediaServe(t, t.TempDir(), smtpAddr)
	s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
	leaveVoicemail(t, s, "6491231234", 2*time.Second)
	waitLog(t, s, "mail: not sent; will try again")
	sink := smtptest.Start(t, smtpAddr, nil, false)
	m := decodeMail(t, sink.WaitMessages(t, 1, 30*time.Second, 3*time.Second)[0])
	checkVoicemail(t, m, "reception@acmebrick.x.co.nz", caller, 1000, 2*time.Second)
}

// waitLog waits for a line of xc5's log.
func waitLog(t *testing.T, s *server, want string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(s.stderr.String(), want) {
			return
		}
	}
	t.Fatalf("no %q in the log:\n%s", want, s.stderr)
}

// startMediaNode runs `xc5 media` with args until the test ends.
func startMediaNode(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(binary, append([]string{"media"}, args...)...)
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(out.String(), "xc5 media serving") {
			return out
		}
	}
	t.Fatalf("xc5 media did not start:\n%s", out)
	return nil
}

// TestSeparateMediaNode: `xc5 serve --media sip:…` hands the voicemail
// call to an `xc5 media` process on the same data directory, and the mail
// is sent; a --media naming a dead port gives the caller a 5xx, no hang.
func TestSeparateMediaNode(t *testing.T) {
	t.Parallel()
	// The store XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	store := "sqlite"
	if storetest.OnPostgres(t) {
		store = "postgres"
	}
	t.Run("voicemail through xc5 media on "+store, func(t *testing.T) {
		t.Parallel()
		// Both processes on one store: the SQLite directory, or a
		// PostgreSQL schema of the test's own.
		dir := t.TempDir()
		flags := []string{"--data", dir}
		if store == "postgres" {
			flags = append(flags, "--db", storetest.PostgresOnly(t))
		}
		sink, node := smtptest.Start(t, "127.0.0.1:0", nil, false), freeUDP(t)
		s := mediaServe(t, dir, sink.Addr, append([]string{"--media", "sip:" + node}, flags[2:]...)...)
		s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
		log := startMediaNode(t, append([]string{"--sip", node}, flags...)...)
		leaveVoicemail(t, s, "6491231234", 2*time.Second)
		if t.Failed() {
			t.Logf("xc5 media log:\n%s", log)
		}
		m := decodeMail(t, sink.WaitMessages(t, 1, 20*time.Second, 2*time.Second)[0])
		checkVoicemail(t, m, "reception@acmebrick.x.co.nz", caller, 1000, 2*time.Second)
	})
	t.Run("a dead node is passed over", func(t *testing.T) {
		t.Parallel()
		sink := smtptest.Start(t, "127.0.0.1:0", nil, false)
		dir, node := t.TempDir(), freeUDP(t)
		s := mediaServe(t, dir, sink.Addr, "--media", "sip:"+freeUDP(t)+",sip:"+node)
		s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
		startMediaNode(t, "--sip", node, "--data", dir)
		// In rotation, one of two calls is offered to the dead node first.
		for range 2 {
			leaveVoicemail(t, s, "6491231234", 1500*time.Millisecond)
		}
		for _, m := range sink.WaitMessages(t, 2, 20*time.Second, time.Second) {
			checkVoicemail(t, decodeMail(t, m), "reception@acmebrick.x.co.nz", caller, 1000, 1500*time.Millisecond)
		}
	})
	t.Run("dead media node", func(t *testing.T) {
		t.Parallel()
		s := mediaServe(t, t.TempDir(), "", "--media", "sip:"+freeUDP(t))
		s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
		res := carrier(t, s.sipAddr(t), caller).dial("6491231234").result(20 * time.Second)
		if res.StatusCode < 500 || res.StatusCode > 599 {
			t.Errorf("call with a dead media node: %d %s, want 5xx", res.StatusCode, res.Reason)
		}
	})
}

// TestCallerHangsUpDuringGreeting: a caller who hangs up while the
// greeting plays leaves no mail; the next caller's message is mailed, and
// it is the only mail.
func TestCallerHangsUpDuringGreeting(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, "127.0.0.1:0", nil, false)
	s := mediaServe(t, t.TempDir(), sink.Addr)
	s.provision(t, append([][2]string{carrierTrunk}, reception...)...)
	quitter := carrier(t, s.sipAddr(t), "6421999999")
	c := quitter.dial("6491231234")
	c.answered()
	for deadline := time.Now().Add(10 * time.Second); !heardSound(quitter.ep, 0); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no greeting heard")
		}
	}
	if err := c.hangup(); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	leaveVoicemail(t, s, "6491231234", 2*time.Second)
	m := decodeMail(t, sink.WaitMessages(t, 1, 20*time.Second, 3*time.Second)[0])
	checkVoicemail(t, m, "reception@acmebrick.x.co.nz", caller, 1000, 2*time.Second)
}

// stereo splits a 16-bit stereo WAV into its channels.
func stereo(t *testing.T, b []byte) (left, right []int16) {
	t.Helper()
	i := bytes.Index(b, []byte("data"))
	if i < 0 || len(b) < 44 || b[22] != 2 || b[34] != 16 {
		t.Fatalf("not a 16-bit stereo WAV (%d bytes)", len(b))
	}
	d := b[i+8:]
	for j := 0; j+3 < len(d); j += 4 {
		left = append(left, int16(uint16(d[j])|uint16(d[j+1])<<8))
		right = append(right, int16(uint16(d[j+2])|uint16(d[j+3])<<8))
	}
	return left, right
}

// TestTwoNodesMailOnce: two xc5 serve processes on one PostgreSQL
// database, both sending from the shared outbox to one SMTP server; a
// voicemail left through one is mailed once.
func TestTwoNodesMailOnce(t *testing.T) {
	t.Parallel()
	// In CI's postgres pass only (XC5_TEST_STORE=postgres): it ran in both passes.
	db := storetest.PostgresOnly(t)
	sink := smtptest.Start(t, "127.0.0.1:0", nil, false)
	a := mediaServe(t, t.TempDir(), sink.Addr, "--db", db)
	mediaServe(t, t.TempDir(), sink.Addr, "--db", db)
	a.provision(t, append([][2]string{carrierTrunk}, reception...)...)
	leaveVoicemail(t, a, "6491231234", 2*time.Second)
	m := decodeMail(t, sink.WaitMessages(t, 1, 20*time.Second, 5*time.Second)[0])
	checkVoicemail(t, m, "reception@acmebrick.x.co.nz", caller, 1000, 2*time.Second)
}
