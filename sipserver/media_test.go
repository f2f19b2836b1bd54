package sipserver

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/internal/audiotest"
	"xc5/internal/poll"
	"xc5/internal/rtptest"
	"xc5/media/prompts"
	"xc5/media/relay"
	"xc5/media/service"
	"xc5/media/wav"
	"xc5/resource"
	"xc5/sqlstore"
)

// End-to-end media: phones with real RTP endpoints call through xc5, whose
// B2BUA hands calls needing audio to a real media node (media/service, on
// its own address) and anchors RTP through a real relay. What comes out
// is checked by its content: a tone sent in is found by Goertzel.

var relayPorts = struct{ next int }{next: 21000}

// newMediaPBX is newPBX with a media node and an RTP relay on loopback.
func newMediaPBX(t *testing.T, cfg Config) *pbx {
	t.Helper()
	return newMediaPBXOn(t, cfg, newStore(t))
}

// newMediaPBXOn is newMediaPBX on a bootstrapped store of the test's own.
func newMediaPBXOn(t *testing.T, cfg Config, store *sqlstore.Store) *pbx {
	t.Helper()
	svc, err := service.New(service.Config{Addr: "127.0.0.1:0", Store: store, Log: testLogger(),
		Timeouts: service.Timeouts{FirstDigit: 2 * time.Second, InterDigit: time.Second, Silence: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); svc.Close() })
	lo := relayPorts.next
	relayPorts.next += 400
	pool, err := relay.NewPool(relay.Config{Bind: netip.MustParseAddr("127.0.0.1"), PortMin: lo, PortMax: lo + 399})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Media) == 0 {
		cfg.Media = []string{svc.Addr()}
	}
	cfg.Relay = pool
	if err := prompts.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	x := newPBXOn(t, cfg, store)
	x.media = svc
	return x
}

// mediaPhone is a phone whose SDP names a real RTP endpoint.
func (x *pbx) mediaPhone(user, pw string) (*uaPhone, *rtptest.Endpoint) {
	ep := rtptest.Listen(x.t)
	var p *uaPhone
	if user == "" {
		p = newUAPhone(x.t, x.srv.addr, "UDP", "", "")
	} else {
		p = newUAPhone(x.t, x.srv.addr, "UDP", user, pw)
	}
	p.sdp = string(ep.SDP(user))
	p.holdSDP = p.sdp // a re-INVITE from xc5 is answered with the real endpoint
	if user != "" {
		p.register()
	}
	return p, ep
}

// leaveMessage has a carrier's caller (6421555000) dial number, be
// answered within answer, wait out the greeting and the beep, speak a
// 1 kHz tone for d and press #; xc5 must then hang up, the message taken.
func (x *pbx) leaveMessage(number string, answer, d time.Duration) {
	x.t.Helper()
	car, ep := x.mediaPhone("", "")
	car.number = "6421555000"
	res := car.dial(number).answered(answer)
	to := sdpAddr(x.t, res.Body())
	time.Sleep(6 * time.Second) // the greeting (system prompt) and the beep
	ep.SendTone(to, rtptest.PCMU, 1000, d)
	ep.SendDigits(to, "#", rtptest.TelephoneEvent)
	if !car.saw("BYE", 10*time.Second) {
		x.t.Fatal("xc5 did not hang up after the message")
	}
	x.idle()
}

// sdpAddr is where an SDP body says to send RTP.
func sdpAddr(t testing.TB, body []byte) netip.AddrPort {
	t.Helper()
	a, err := relay.SDPAddr(body)
	if err != nil {
		t.Fatalf("SDP %q: %v", body, err)
	}
	return a
}

// claimMails takes the queued mails (attachments included) out of the
// outbox, waiting up to 10 s for n of them.
func (x *pbx) claimMails(n int) []xc5.Mail {
	x.t.Helper()
	var got []xc5.Mail
	poll.Until(x.t, 10*time.Second, "mails in the outbox", func() bool {
		ms, err := x.store.ClaimMail(context.Background(), "test", time.Hour, 10)
		if err != nil {
			x.t.Fatal(err)
		}
		got = append(got, ms...)
		return len(got) >= n
	})
	return got
}

// TestVoicemailToEmail: a call to an account whose route is email:… is
// answered by the media node; the caller's 1 kHz message ended by # is
// mailed (the outbox holds it, the WAV has the tone) and kept in the
// mailbox of an account with ums_pin.
func TestVoicemailToEmail(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	x.patch("mail@acmebrick.x.co.nz", `{"ums_pin":"1234"}`)
	x.leaveMessage("6499290081", 5*time.Second, 3*time.Second)
	mails := x.claimMails(1)
	m := mails[0]
	if m.To != "reception@acmebrick.x.co.nz" || !bytes.Contains([]byte(m.Subject), []byte("6421555000")) {
		t.Errorf("mail to %q subject %q", m.To, m.Subject)
	}
	a, err := wav.Parse(m.Attachment)
	if err != nil {
		t.Fatalf("attachment: %v", err)
	}
	samples := a.Samples
	if d := time.Duration(len(samples)) * time.Second / 8000; d < 2*time.Second || d > 5*time.Second {
		t.Errorf("message of %v, want about 3 s", d)
	}
	if !audiotest.Has(samples, 8000, 1000) {
		t.Error("the caller's 1 kHz tone is not in the voicemail")
	}
	if c := x.cdrs("mail@acmebrick.x.co.nz", 1)[0]; c["outcome"] != "email" || c["answered_by"] != "voicemail" || c["answered"] == "" {
		t.Errorf("the callee's CDR: %v", c)
	}
	var kept []xc5.Voicemail
	x.store.ListVoicemail(context.Background(), x.ids["mail@acmebrick.x.co.nz"], func(v xc5.Voicemail) error {
		kept = append(kept, v)
		return nil
	})
	if len(kept) != 1 || kept[0].From != "6421555000" {
		t.Errorf("mailbox holds %+v", kept)
	}
}

// TestMenuReachesPhone: the IVR answers, the caller presses 1, and the
// menu's action (sales' DDI) rings sales; once answered the two hear each
// other through the relay, the caller's dialog unchanged.
func TestMenuReachesPhone(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, sep := x.mediaPhone(sales, salesPassword)
	car, cep := x.mediaPhone("", "")
	car.number = "6421555000"
	out := car.dial("6499290082")
	res := out.answered(5 * time.Second)
	to := sdpAddr(t, res.Body())
	time.Sleep(500 * time.Millisecond)
	cep.SendDigits(to, "1", rtptest.TelephoneEvent)
	in := sal.next(10 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	if !sal.saw("ACK", 3*time.Second) {
		t.Fatal("xc5 did not acknowledge sales' answer")
	}
	toSales := sdpAddr(t, in.req.Body())
	stopC := cep.StartTone(to, rtptest.PCMU, 1000)
	stopS := sep.StartTone(toSales, rtptest.PCMU, 600)
	time.Sleep(1500 * time.Millisecond)
	stopC()
	stopS()
	if got := sep.Received(); !audiotest.Has(lastSamples(got, 4000), 8000, 1000) {
		t.Errorf("sales does not hear the caller's 1 kHz (%d samples)", len(got))
	}
	if got := cep.Received(); !audiotest.Has(lastSamples(got, 4000), 8000, 600) {
		t.Errorf("the caller does not hear sales' 600 Hz (%d samples)", len(got))
	}
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	if !sal.saw("BYE", 3*time.Second) {
		t.Fatal("the caller's BYE did not reach sales")
	}
	x.idle()
}

// TestRecordedCall: reception records the calls it answers; a carrier's
// call to its DDI is answered, both parties send a tone, and after the
// hang-up the outbox holds the recording: the caller's 1 kHz on the left
// channel, reception's 600 Hz on the right.
func TestRecordedCall(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	x.put(resource.CallRule, reception, "", `{"order":-12,"record_email":"boss@acmebrick.x.co.nz"}`, resource.Create)
	rec, rep := x.mediaPhone(reception, password)
	car, cep := x.mediaPhone("", "")
	car.number = "6421555000"
	out := car.dial("6491231234")
	in := rec.next(5 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	res := out.answered(5 * time.Second)
	toCaller, toRec := sdpAddr(t, res.Body()), sdpAddr(t, in.req.Body())
	if toCaller == cep.Addr() || toRec == rep.Addr() {
		t.Fatalf("a recorded call's media is not anchored: caller told %v, reception told %v", toCaller, toRec)
	}
	stopC := cep.StartTone(toCaller, rtptest.PCMU, 1000)
	stopR := rep.StartTone(toRec, rtptest.PCMU, 600)
	time.Sleep(2 * time.Second)
	stopC()
	stopR()
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
	for _, cdr := range x.cdrs(reception, 1) {
		if cdr["recorded"] != true {
			t.Errorf("CDR does not say the call was recorded: %v", cdr)
		}
	}
	m := x.claimMails(1)[0]
	if m.To != "boss@acmebrick.x.co.nz" {
		t.Errorf("recording mailed to %q", m.To)
	}
	left, right := stereo(t, m.Attachment)
	if !toneIn(left, 1000) || toneIn(left, 600) {
		t.Error("the left channel is not the caller's 1 kHz alone")
	}
	if !toneIn(right, 600) || toneIn(right, 1000) {
		t.Error("the right channel is not reception's 600 Hz alone")
	}
}

// TestMediaNodeSilent: a media node that never answers costs the caller a
// 503 after MediaTimeout, not a hang.
func TestMediaNodeSilent(t *testing.T) {
	dead := rtptest.Listen(t) // a UDP socket that answers nothing
	x := newMediaPBX(t, Config{Media: []string{dead.Addr().String()}, MediaTimeout: time.Second})
	x.trunk("", "", "")
	car, _ := x.mediaPhone("", "")
	car.number = "6421555000"
	res := car.dial("6499290081").result(10 * time.Second)
	if res == nil || res.StatusCode != 503 {
		t.Fatalf("call to a silent media node: %v", res)
	}
	x.idle()
}

func lastSamples(s []int16, n int) []int16 {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stereo splits a 16-bit stereo WAV into its channels.
func stereo(t testing.TB, b []byte) (left, right []int16) {
	t.Helper()
	i := bytes.Index(b, []byte("data"))
	if i < 0 || len(b) < 44 || b[22] != 2 {
		t.Fatalf("not a stereo WAV (%d bytes)", len(b))
	}
	d := b[i+8:]
	for j := 0; j+3 < len(d); j += 4 {
		left = append(left, int16(uint16(d[j])|uint16(d[j+1])<<8))
		right = append(right, int16(uint16(d[j+2])|uint16(d[j+3])<<8))
	}
	return left, right
}

// info sends DTMF as SIP INFO in the caller's dialog.
func (o *outbound) info(ctype, body string) *sip.Response {
	o.p.t.Helper()
	req := sip.NewRequest(sip.INFO, o.dlg.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", ctype))
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := o.dlg.Do(ctx, req)
	if err != nil {
		o.p.t.Fatalf("INFO: %v", err)
	}
	return res
}

// TestMenuKeysBySIPInfo: phones that send DTMF as SIP INFO
// (application/dtmf-relay, application/dtmf) reach the menu through xc5,
// which relays the INFO to the media node's leg.
func TestMenuKeysBySIPInfo(t *testing.T) {
	for _, tc := range []struct{ ctype, body string }{
		{"application/dtmf-relay", "Signal=1\r\nDuration=160\r\n"},
		{"application/dtmf", "1"},
	} {
		t.Run(tc.ctype, func(t *testing.T) {
			x := newMediaPBX(t, Config{})
			x.trunk("", "", "")
			sal, _ := x.mediaPhone(sales, salesPassword)
			car, _ := x.mediaPhone("", "")
			car.number = "6421555000"
			out := car.dial("6499290082")
			out.answered(5 * time.Second)
			time.Sleep(300 * time.Millisecond)
			if res := out.info(tc.ctype, tc.body); res.StatusCode != 200 {
				t.Fatalf("INFO answered %d %s", res.StatusCode, res.Reason)
			}
			in := sal.next(10 * time.Second)
			in.reject(486, "Busy Here")
			if !car.saw("BYE", 10*time.Second) {
				t.Fatal("the call did not end after sales was busy")
			}
			x.idle()
		})
	}
}

// TestCallerBehindNAT: a caller whose SDP names an address it does not
// send from (a phone behind NAT) has its call anchored, and the relay
// sends it audio where its packets come from.
func TestCallerBehindNAT(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	rec, rep := x.mediaPhone(reception, password)
	sal, sep := x.mediaPhone(sales, salesPassword)
	// Sales' phone says it is at a private address it cannot be reached
	// at; its packets come from 127.0.0.1.
	sal.sdp = strings.Replace(string(sep.SDP(sales)), "c=IN IP4 127.0.0.1", "c=IN IP4 10.9.8.7", 1)
	out := sal.dial("600")
	in := rec.next(5 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	res := out.answered(5 * time.Second)
	toXc5FromSales, toXc5FromRec := sdpAddr(t, res.Body()), sdpAddr(t, in.req.Body())
	if toXc5FromRec.Addr().String() == "10.9.8.7" {
		t.Fatal("reception was told the NATed phone's private address: the call is not anchored")
	}
	stopS := sep.StartTone(toXc5FromSales, rtptest.PCMU, 1000)
	stopR := rep.StartTone(toXc5FromRec, rtptest.PCMU, 600)
	time.Sleep(1500 * time.Millisecond)
	stopS()
	stopR()
	if !audiotest.Has(lastSamples(sep.Received(), 4000), 8000, 600) {
		t.Error("the phone behind NAT does not hear reception")
	}
	if !audiotest.Has(lastSamples(rep.Received(), 4000), 8000, 1000) {
		t.Error("reception does not hear the phone behind NAT")
	}
	out.hangup()
	x.idle()
}

// TestPromptRecordedByPhone: reception dials the company prompt's code,
// records 600 Hz, keeps it with 1; the prompt's audio is that recording,
// and the next caller to a menu with that prompt hears 600 Hz.
func TestPromptRecordedByPhone(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	const co = "acmebrick.x.co.nz"
	p := x.put(resource.Prompt, co, "", `{"description":"After Hours Menu"}`, resource.Create)
	code := p.Values["group_access"].(string)
	rec, rep := x.mediaPhone(reception, password)
	out := rec.dial(code)
	res := out.answered(5 * time.Second)
	to := sdpAddr(t, res.Body())
	time.Sleep(5 * time.Second) // the instructions and the beep
	rep.SendTone(to, rtptest.PCMU, 600, 2*time.Second)
	rep.SendDigits(to, "#", rtptest.TelephoneEvent)
	for i := 0; i < 15 && !rec.saw("BYE", 2*time.Second); i++ {
		rep.SendDigits(to, "1", rtptest.TelephoneEvent) // keep it (once the question is asked)
	}
	if !rec.saw("BYE", time.Second) {
		t.Fatal("the recording call did not end after 1")
	}
	x.idle()
	audio, err := x.store.PromptAudio(context.Background(), p.GUID)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wav.Parse(audio)
	if err != nil {
		t.Fatal(err)
	}
	if d := a.Duration(); d < time.Second || d > 4*time.Second || !audiotest.Has(a.Samples, 8000, 600) {
		t.Fatalf("the prompt is %v long, 600 Hz found: %v", d, audiotest.Has(a.Samples, 8000, 600))
	}
	// The next caller to a menu that plays it hears it.
	x.put(resource.Route, "ivr@acmebrick.x.co.nz", "", `{"order":-9,"menu_level":1,"digit_map":"1=6499290089","promptguid":"`+p.GUID+`"}`, resource.Create)
	car, cep := x.mediaPhone("", "")
	car.number = "6421555000"
	call := car.dial("6499290082")
	call.answered(5 * time.Second)
	time.Sleep(2500 * time.Millisecond)
	if got := cep.Received(); !audiotest.Has(got, 8000, 600) {
		t.Errorf("the caller does not hear the recorded prompt (%d samples)", len(got))
	}
	call.hangup()
	x.idle()
}

// TestHangUpDuringGreeting: a caller who hangs up while the greeting
// plays leaves no message, no mail and nothing running: the media node's
// leg ends and the relay's ports are given back.
func TestHangUpDuringGreeting(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	x.patch("mail@acmebrick.x.co.nz", `{"ums_pin":"1234"}`)
	car, _ := x.mediaPhone("", "")
	car.number = "6421555000"
	out := car.dial("6499290081")
	out.answered(5 * time.Second)
	time.Sleep(time.Second)
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
	poll.Until(t, 5*time.Second, "relay sessions closed", func() bool { return x.srv.cfg.Relay.Stats().Sessions == 0 })
	poll.Until(t, 5*time.Second, "media legs ended", func() bool { return x.media.Legs() == 0 })
	time.Sleep(time.Second)
	if ms, err := x.store.ClaimMail(context.Background(), "test", time.Hour, 10); err != nil || len(ms) != 0 {
		t.Fatalf("mail after a hang-up in the greeting: %d, %v", len(ms), err)
	}
	n := 0
	x.store.ListVoicemail(context.Background(), x.ids["mail@acmebrick.x.co.nz"], func(xc5.Voicemail) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d messages kept", n)
	}
}

// TestMenuDeadEnd: a caller who only presses keys the menu does not have
// hears "invalid entry" and the menu again, three tries, then (the menu
// having no T action) a goodbye and xc5's BYE.
func TestMenuDeadEnd(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	car, cep := x.mediaPhone("", "")
	car.number = "6421555000"
	out := car.dial("6499290082")
	res := out.answered(5 * time.Second)
	to := sdpAddr(t, res.Body())
	for i := 0; i < 10 && !car.saw("BYE", 1500*time.Millisecond); i++ {
		cep.SendDigits(to, "7", rtptest.TelephoneEvent)
	}
	if !car.saw("BYE", 20*time.Second) {
		t.Fatal("xc5 did not hang up after three wrong keys")
	}
	x.idle()
	if c := x.cdrs("ivr@acmebrick.x.co.nz", 1)[0]; c["answered_by"] != "menu" || c["outcome"] != "unanswered" {
		t.Errorf("the menu's CDR: %v", c)
	}
}

// toneIn reports whether some quarter second of s holds freq: a loaded
// machine delays packets, and a recording keeps the gaps as silence.
func toneIn(s []int16, freq float64) bool {
	for i := 0; i+2000 <= len(s); i += 1000 {
		if audiotest.Has(s[i:i+2000], 8000, freq) {
			return true
		}
	}
	return false
}

// TestMediaAnchorModes: --media-anchor decides whether a call between two
// phones has its RTP relayed by xc5: auto only when it must (here: the
// callee records its calls), always, or never.
func TestMediaAnchorModes(t *testing.T) {
	for _, tc := range []struct {
		mode      string
		recording bool
		anchored  bool
	}{
		{AnchorAuto, false, false},
		{AnchorAuto, true, true},
		{AnchorAlways, false, true},
		{AnchorNever, true, false},
	} {
		t.Run(tc.mode+map[bool]string{true: "/recorded", false: ""}[tc.recording], func(t *testing.T) {
			x := newMediaPBX(t, Config{MediaAnchor: tc.mode})
			if tc.recording {
				x.put(resource.CallRule, reception, "", `{"order":-12,"record_email":"boss@acmebrick.x.co.nz"}`, resource.Create)
			}
			rec, _ := x.mediaPhone(reception, password)
			sal, sep := x.mediaPhone(sales, salesPassword)
			out := sal.dial("600")
			in := rec.next(5 * time.Second)
			if err := in.answer(); err != nil {
				t.Fatal(err)
			}
			out.answered(5 * time.Second)
			if got := sdpAddr(t, in.req.Body()) != sep.Addr(); got != tc.anchored {
				t.Errorf("anchored %v, want %v", got, tc.anchored)
			}
			out.hangup()
			x.idle()
		})
	}
}

// TestPickupAfterMenu: a call that a menu answered rings sales; reception
// picks it up with *8. The caller's dialog stays as it is (no second
// 200), and the two hear each other through the relay.
func TestPickupAfterMenu(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, _ := x.mediaPhone(sales, salesPassword)
	rec, rep := x.mediaPhone(reception, password)
	car, cep := x.mediaPhone("", "")
	car.number = "6421555000"
	out := car.dial("6499290082")
	res := out.answered(5 * time.Second)
	to := sdpAddr(t, res.Body())
	time.Sleep(500 * time.Millisecond)
	cep.SendDigits(to, "1", rtptest.TelephoneEvent)
	in := sal.next(10 * time.Second)
	in.ring()
	pick := rec.dial("*8")
	pres := pick.answered(5 * time.Second)
	if !in.cancelled(3 * time.Second) {
		t.Fatal("sales still rings after the pickup")
	}
	toRec := sdpAddr(t, pres.Body())
	stopC := cep.StartTone(to, rtptest.PCMU, 1000)
	stopR := rep.StartTone(toRec, rtptest.PCMU, 600)
	time.Sleep(1500 * time.Millisecond)
	stopC()
	stopR()
	if !toneIn(rep.Received(), 1000) {
		t.Error("the picker does not hear the caller")
	}
	if !toneIn(cep.Received(), 600) {
		t.Error("the caller does not hear the picker")
	}
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	if !rec.saw("BYE", 3*time.Second) {
		t.Fatal("the caller's BYE did not reach the picker")
	}
	x.idle()
}

// TestMenuKeyDialsOut: a menu key whose action is an external number (the
// after-hours mobile) rings it over the carrier and bridges the caller
// to it; the caller hears the mobile.
func TestMenuKeyDialsOut(t *testing.T) {
	x := newMediaPBX(t, Config{})
	mobile := newUAPhone(t, x.srv.addr, "UDP", "", "")
	mep := rtptest.Listen(t)
	mobile.sdp = string(mep.SDP("mobile"))
	x.trunk(mobile.addr, "", "")
	x.put(resource.Route, "ivr@acmebrick.x.co.nz", "", `{"order":-9,"menu_level":1,"digit_map":"1=6499290089,2=64211234567"}`, resource.Create)
	got := make(chan *inbound, 1)
	mobile.behave(func(in *inbound) {
		got <- in
		in.answer()
	})
	car, cep := x.mediaPhone("", "")
	car.number = "6421555000"
	out := car.dial("6499290082")
	res := out.answered(5 * time.Second)
	to := sdpAddr(t, res.Body())
	time.Sleep(500 * time.Millisecond)
	cep.SendDigits(to, "2", rtptest.TelephoneEvent)
	var in *inbound
	select {
	case in = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the mobile was not called")
	}
	if in.req.Recipient.User != "64211234567" {
		t.Errorf("called %s", in.req.Recipient.String())
	}
	stopM := mep.StartTone(sdpAddr(t, in.req.Body()), rtptest.PCMU, 600)
	time.Sleep(1500 * time.Millisecond)
	stopM()
	if !toneIn(cep.Received(), 600) {
		t.Error("the caller does not hear the mobile")
	}
	out.hangup()
	if !mobile.saw("BYE", 3*time.Second) {
		t.Fatal("no BYE at the mobile")
	}
	x.idle()
}

// TestMediaNodeDiesMidLeg: a media node that answers and then sends no
// RTP (it died) is left after a few seconds: the caller gets a BYE, not
// thirty minutes of silence.
func TestMediaNodeDiesMidLeg(t *testing.T) {
	node := newUAPhone(t, "127.0.0.1:9", "UDP", "", "") // answers, never sends RTP
	node.behave(func(in *inbound) { in.answer() })
	x := newMediaPBX(t, Config{Media: []string{node.addr}})
	x.trunk("", "", "")
	car, _ := x.mediaPhone("", "")
	car.number = "6421555000"
	car.dial("6499290081").answered(5 * time.Second)
	if !car.saw("BYE", 20*time.Second) {
		t.Fatal("the caller was not hung up after the media node went silent")
	}
	if !node.saw("BYE", 3*time.Second) {
		t.Error("the silent node's leg was not ended")
	}
	x.idle()
}

// TestDelayedOfferToMedia: a caller whose INVITE has no SDP cannot reach
// a media node (it needs the offer): 488, not a 503 that sends a carrier
// to another route.
func TestDelayedOfferToMedia(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	car := x.carrier("6421555000")
	car.sdp = ""
	res := car.dial("6499290081").result(10 * time.Second)
	if res == nil || res.StatusCode != 488 {
		t.Fatalf("a delayed offer to voicemail: %v", res)
	}
	x.idle()
}

// TestRecordedCallOffersG711: the relay records G.711, so a call to an
// account that records is offered no other codec (a G.722 caller's phone
// falls back); telephone-event stays.
func TestRecordedCallOffersG711(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.put(resource.CallRule, reception, "", `{"order":-12,"record_email":"boss@acmebrick.x.co.nz"}`, resource.Create)
	rec, _ := x.mediaPhone(reception, password)
	sal, sep := x.mediaPhone(sales, salesPassword)
	sal.sdp = strings.Replace(strings.Replace(string(sep.SDP(sales)), "RTP/AVP 0 8 101", "RTP/AVP 9 0 8 101", 1),
		"a=rtpmap:0 PCMU/8000", "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000", 1)
	out := sal.dial("600")
	in := rec.next(5 * time.Second)
	body := string(in.req.Body())
	if strings.Contains(body, "G722") || !strings.Contains(body, "RTP/AVP 0 8 101") {
		t.Errorf("the recorded callee was offered %q", body)
	}
	in.reject(486, "Busy Here")
	out.result(5 * time.Second)
	x.idle()
}
