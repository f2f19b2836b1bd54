package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	dmedia "github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/internal/audiotest"
	"xc5/media"
	"xc5/media/wav"
)

// memStore is an in-test xc5.MediaStore (the real store is covered by the
// lead's end-to-end tests): prompts by GUID, what was saved and left.
type memStore struct {
	mu         sync.Mutex
	prompts    map[string][]byte
	saved      map[string][]byte
	savedLen   map[string]time.Duration
	voicemails []xc5.Voicemail
	mails      []xc5.Mail
}

func newMemStore() *memStore {
	return &memStore{prompts: map[string][]byte{}, saved: map[string][]byte{}, savedLen: map[string]time.Duration{}}
}

func (m *memStore) PromptAudio(_ context.Context, guid string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.prompts[guid]; ok {
		return b, nil
	}
	return nil, xc5.Errorf(xc5.ENOTFOUND, "no prompt %s", guid)
}

func (m *memStore) SavePromptAudio(_ context.Context, guid string, w []byte, length time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saved[guid], m.savedLen[guid] = w, length
	return nil
}

func (m *memStore) LeaveVoicemail(_ context.Context, v xc5.Voicemail, mails []xc5.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.voicemails = append(m.voicemails, v)
	m.mails = append(m.mails, mails...)
	return nil
}

func (m *memStore) QueueMail(_ context.Context, mails []xc5.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mails = append(m.mails, mails...)
	return nil
}

func (m *memStore) left() ([]xc5.Voicemail, []xc5.Mail) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.voicemails), slices.Clone(m.mails)
}

// toneWAV is a prompt of freq Hz lasting d.
func toneWAV(freq float64, d time.Duration) []byte {
	return wav.Encode(audiotest.Tone(freq, 8000, int(d*8000/time.Second), 0.4), 8000)
}

func testLog(t testing.TB) *slog.Logger {
	if os.Getenv("XC5_MEDIA_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startService starts a media service on loopback with fast timeouts.
func startService(t testing.TB, store xc5.MediaStore, tm Timeouts) *Service {
	t.Helper()
	s, err := New(Config{Addr: "127.0.0.1:0", Store: store, Log: testLog(t), Timeouts: tm})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// phone is a test phone: a diago on its own user agent that calls the
// service, sends audio and keys, keeps what it hears, and the BYE it gets.
type phone struct {
	transport string
	dg        *diago.Diago
	ua        *sipgo.UserAgent
	byes      chan *sip.Request
}

func newPhone(t testing.TB, codecs ...dmedia.Codec) *phone {
	t.Helper()
	return newPhoneOn(t, "udp", codecs...)
}

// newPhoneOn is a phone whose SIP goes over transport (udp or tcp).
func newPhoneOn(t testing.TB, transport string, codecs ...dmedia.Codec) *phone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("phone"))
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{ua: ua, byes: make(chan *sip.Request, 4), transport: transport}
	opts := []diago.DiagoOption{
		diago.WithLogger(testLog(t)),
		diago.WithTransport(diago.Transport{Transport: transport, BindHost: "127.0.0.1", BindPort: 0}),
		diago.WithServerRequestMiddleware(func(next sipgo.RequestHandler) sipgo.RequestHandler {
			return func(req *sip.Request, tx sip.ServerTransaction) {
				if req.Method == sip.BYE {
					select {
					case p.byes <- req:
					default:
					}
				}
				next(req, tx)
			}
		}),
	}
	if len(codecs) > 0 {
		opts = append(opts, diago.WithMediaConfig(diago.MediaConfig{Codecs: codecs}))
	}
	p.dg = diago.NewDiago(ua, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {}); err != nil {
		t.Fatal(err)
	}
	// diago reports ready before sipgo has pooled the listening socket; an
	// INVITE sent in between tries to bind the port again and fails.
	tp := ua.TransportLayer()
	for i := 0; i < 200; i++ {
		if ports := tp.ListenPorts(transport); len(ports) > 0 {
			if _, err := tp.GetConnection(transport, net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))); err == nil || transport != "udp" {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() { cancel(); ua.Close() })
	return p
}

func freeUDPPort(t testing.TB) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// phoneCall is one call of a phone to the service.
type phoneCall struct {
	t   testing.TB
	p   *phone
	d   *diago.DialogClientSession
	med *diago.DialogMedia
	dw  *diago.DTMFWriter

	mu    sync.Mutex
	heard []int16 // decoded audio received, in order
	times []int64 // arrival of each audio packet, unix ns
	send  []int16 // audio queued to send; silence when empty
	stop  chan struct{}
	wg    sync.WaitGroup
	quiet atomic.Bool // send no RTP at all
}

// invite calls app on s with r's arguments; err is the INVITE's failure.
func (p *phone) invite(s *Service, app string, r media.Request) (*phoneCall, error) {
	return p.inviteAddr(s.Addr(), app, r)
}

// inviteAddr calls app at the SIP address addr.
func (p *phone) inviteAddr(addr, app string, r media.Request) (*phoneCall, error) {
	host, port, _ := net.SplitHostPort(addr)
	pn, _ := strconv.Atoi(port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, med, err := p.dg.Invite(ctx, sip.Uri{User: app, Host: host, Port: pn},
		diago.InviteOptions{Transport: p.transport, Headers: []sip.Header{sip.NewHeader(media.HeaderArgs, r.Encode())}})
	if err != nil {
		return nil, err
	}
	return &phoneCall{p: p, d: d, med: med, stop: make(chan struct{})}, nil
}

// call is invite that must succeed; the phone then sends and listens.
func (p *phone) call(t testing.TB, s *Service, app string, r media.Request) *phoneCall {
	t.Helper()
	return p.callAddr(t, s.Addr(), app, r)
}

func (p *phone) callAddr(t testing.TB, addr, app string, r media.Request) *phoneCall {
	t.Helper()
	c, err := p.inviteAddr(addr, app, r)
	if err != nil {
		t.Fatalf("INVITE %s: %v", app, err)
	}
	c.t = t
	dw, err := c.med.AudioWriterDTMF()
	if err != nil {
		t.Fatal(err)
	}
	c.dw = dw
	c.wg.Add(2)
	go c.sendLoop()
	go c.readLoop()
	t.Cleanup(c.close)
	return c
}

func (c *phoneCall) sendLoop() {
	defer c.wg.Done()
	buf := make([]byte, frame)
	pcm := make([]int16, frame)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		if c.quiet.Load() {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		c.mu.Lock()
		n := copy(pcm, c.send)
		c.send = c.send[n:]
		c.mu.Unlock()
		clear(pcm[n:])
		for i, s := range pcm {
			buf[i] = wav.EncodeULaw(s)
		}
		if _, err := c.dw.Write(buf); err != nil {
			return
		}
	}
}

func (c *phoneCall) readLoop() {
	defer c.wg.Done()
	r := c.med.RTPPacketReader
	buf := make([]byte, dmedia.RTPBufSize)
	for {
		n, err := r.Read(buf)
		if err != nil {
			return
		}
		pt := r.PacketHeader.PayloadType
		if pt != 0 && pt != 8 {
			continue
		}
		c.mu.Lock()
		c.times = append(c.times, time.Now().UnixNano())
		for _, b := range buf[:n] {
			if pt == 0 {
				c.heard = append(c.heard, wav.DecodeULaw(b))
			} else {
				c.heard = append(c.heard, wav.DecodeALaw(b))
			}
		}
		c.mu.Unlock()
	}
}

// say queues samples to send.
func (c *phoneCall) say(s []int16) {
	c.mu.Lock()
	c.send = append(c.send, s...)
	c.mu.Unlock()
}

// saying reports whether queued audio is still being sent.
func (c *phoneCall) saying() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.send) > 0
}

// keys presses keys by RFC 4733.
func (c *phoneCall) keys(keys string) {
	for _, k := range keys {
		if err := c.dw.WriteDTMF(k); err != nil {
			// The service may end the call as soon as a key is complete,
			// before the last key's end packets are out.
			c.t.Logf("DTMF %c: %v", k, err)
			return
		}
		time.Sleep(60 * time.Millisecond)
	}
}

// info presses a key by SIP INFO with body of content type ct.
func (c *phoneCall) info(ct, body string) error {
	req := sip.NewRequest(sip.INFO, c.d.RemoteContact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", ct))
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.d.Do(ctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("INFO: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// heardAudio is a copy of what the phone received so far.
func (c *phoneCall) heardAudio() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.heard)
}

// waitHear waits until the last 100 ms window heard holds freq (or,
// with present false, until freq was heard and is no longer).
func (c *phoneCall) waitHear(freq float64, present bool) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	seen := false
	for time.Now().Before(deadline) {
		h := c.heardAudio()
		if len(h) >= 800 {
			on := audiotest.Has(h[len(h)-800:], 8000, freq)
			seen = seen || on
			if on == present && (present || seen) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("waited 20 s for %v Hz present=%v", freq, present)
}

// bye waits for the service's BYE and returns its result.
func (c *phoneCall) bye() media.Result {
	c.t.Helper()
	select {
	case req := <-c.p.byes:
		h := req.GetHeader(media.HeaderResult)
		if h == nil {
			c.t.Fatalf("BYE without %s", media.HeaderResult)
		}
		r, err := media.DecodeResult(h.Value())
		if err != nil {
			c.t.Fatal(err)
		}
		return r
	case <-time.After(60 * time.Second):
		c.t.Fatal("no BYE from the media service")
	}
	return media.Result{}
}

func (c *phoneCall) hangup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.d.Hangup(ctx); err != nil {
		c.t.Logf("hangup: %v", err)
	}
}

func (c *phoneCall) close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.d.Close()
	c.med.Close()
	c.wg.Wait()
}

// toneRuns counts the separate stretches of 100 ms windows holding freq.
func toneRuns(s []int16, freq float64) (runs, windows int) {
	on := false
	for i := 0; i+800 <= len(s); i += 800 {
		h := audiotest.Has(s[i:i+800], 8000, freq)
		if h {
			windows++
			if !on {
				runs++
			}
		}
		on = h
	}
	return runs, windows
}

func inviteStatus(err error) int {
	var e sipgo.ErrDialogResponse
	if errors.As(err, &e) {
		return e.Res.StatusCode
	}
	var pe *sipgo.ErrDialogResponse
	if errors.As(err, &pe) {
		return pe.Res.StatusCode
	}
	return 0
}
