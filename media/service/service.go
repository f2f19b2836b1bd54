// Package service is the media service of xc5: it answers the media legs
// the B2BUA sends it (see package media for the protocol), runs their app
// (menu, voicemail, record-prompt, play) with real RTP audio, and ends each
// with a BYE carrying the result.
//
// It is built on github.com/emiago/diago, on a sipgo user agent and server
// of its own (diago installs its own INVITE, ACK and BYE handlers). Apps
// see diago only through the call interface (leg.go).
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	dmedia "github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/media"
)

// Timeouts of the apps; zero fields take the defaults.
type Timeouts struct {
	FirstDigit time.Duration // after a menu prompt ends, for the first key (5 s)
	InterDigit time.Duration // between keys of a multi-digit key (3 s)
	MaxRecord  time.Duration // a voicemail message's longest (180 s)
	Silence    time.Duration // silence that ends a voicemail message (5 s)
	MinMessage time.Duration // shorter messages are dropped (1 s)
	RTPIdle    time.Duration // a leg without RTP from the caller this long ends (30 s)
	Leg        time.Duration // the longest any leg lasts (30 min)
}

func (t *Timeouts) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&t.FirstDigit, 5*time.Second)
	set(&t.InterDigit, 3*time.Second)
	set(&t.MaxRecord, 180*time.Second)
	set(&t.Silence, 5*time.Second)
	set(&t.MinMessage, time.Second)
	set(&t.RTPIdle, 30*time.Second)
	set(&t.Leg, 30*time.Minute)
}

// Config configures a Service.
type Config struct {
	Addr string // SIP listen address (UDP and TCP), e.g. "127.0.0.1:5080" or "127.0.0.1:0"
	// RTPBind is the address of RTP sockets. diago v0.42.1 binds RTP to
	// the SIP address, so it may only be left unset or equal that IP.
	RTPBind netip.Addr
	// RTPPortMin and RTPPortMax bound RTP ports (0: any). diago keeps the
	// range in package variables: it applies to every diago in the process.
	RTPPortMin, RTPPortMax int
	Store                  xc5.MediaStore
	// Allow lists the addresses signalling nodes send media legs from;
	// an INVITE from anywhere else is refused (403), since a media leg
	// can leave voicemail in any mailbox and record any prompt. Default:
	// loopback only (the in-process node).
	Allow    []netip.Prefix
	Log      *slog.Logger
	Timeouts Timeouts
	// Conference configures conference rooms (conference.go).
	Conference ConferenceConfig
	Now        func() time.Time
}

// Service is a running media node.
type Service struct {
	cfg  Config
	log  *slog.Logger
	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	dg   *diago.Diago
	conn net.PacketConn
	ln   net.Listener
	addr string

	ctx    context.Context // parent of every leg; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // running INVITE handlers
	legs   atomic.Int64

	mu     sync.Mutex
	calls  map[string]*diagoLeg // answered legs by dialog ID, for SIP INFO
	closed bool

	rooms rooms    // conference rooms with members (conference.go)
	pins  pinGuard // mailboxes locked against PIN guessing (pinguard.go)
}

// New checks cfg and prepares a Service; Start listens.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("media service: no store")
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("media service: address %q: %v", cfg.Addr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("media service: address %q: the host must be an IP", cfg.Addr)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("media service: address %q: bad port", cfg.Addr)
	}
	if cfg.RTPBind.IsValid() && cfg.RTPBind != ip {
		return nil, fmt.Errorf("media service: RTP must bind to the SIP address %s, not %s (diago v0.42.1)", ip, cfg.RTPBind)
	}
	if cfg.RTPPortMin < 0 || cfg.RTPPortMax < cfg.RTPPortMin || cfg.RTPPortMax > 65535 {
		return nil, fmt.Errorf("media service: bad RTP port range %d-%d", cfg.RTPPortMin, cfg.RTPPortMax)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Timeouts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{cfg: cfg, log: cfg.Log, ctx: ctx, cancel: cancel, calls: map[string]*diagoLeg{}}, nil
}

// Start binds the SIP sockets (UDP and TCP on one port) and serves; it is
// listening when it returns. ctx bounds the serving as Close does.
func (s *Service) Start(ctx context.Context) error {
	conn, ln, err := listen(s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("media service: %w", err)
	}
	ap := netip.MustParseAddrPort(conn.LocalAddr().String())
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("xc5-media"))
	if err != nil {
		conn.Close()
		ln.Close()
		return err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		conn.Close()
		ln.Close()
		ua.Close()
		return err
	}
	if s.cfg.RTPPortMax > 0 {
		dmedia.RTPPortStart, dmedia.RTPPortEnd = s.cfg.RTPPortMin, s.cfg.RTPPortMax
	}
	host, port := ap.Addr().String(), int(ap.Port())
	s.dg = diago.NewDiago(ua, diago.WithServer(srv), diago.WithLogger(s.log),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: host, BindPort: port}),
		diago.WithTransport(diago.Transport{Transport: "tcp", BindHost: host, BindPort: port}),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: []dmedia.Codec{
			dmedia.CodecAudioUlaw, dmedia.CodecAudioAlaw, dmedia.CodecTelephoneEvent8000}}))
	// diago answers every INFO with 406; ours reads the keys.
	srv.OnInfo(s.onInfo)
	s.dg.HandleFunc(s.serve)
	s.ua, s.srv, s.conn, s.ln, s.addr = ua, srv, conn, ln, ap.String()
	go func() {
		if err := srv.ServeUDP(conn); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Debug("media service: SIP UDP transport stopped", "error", err)
		}
	}()
	go func() {
		if err := srv.ServeTCP(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Debug("media service: SIP TCP transport stopped", "error", err)
		}
	}()
	context.AfterFunc(ctx, func() { s.Close() })
	s.log.Info("media service listening", "addr", s.addr)
	return nil
}

// listen binds UDP and TCP on one port; with port 0, it retries until an
// ephemeral UDP port is also free for TCP.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	var err error
	for range 20 {
		var conn net.PacketConn
		if conn, err = net.ListenPacket("udp", addr); err != nil {
			return nil, nil, err
		}
		var ln net.Listener
		if ln, err = net.Listen("tcp", conn.LocalAddr().String()); err == nil {
			return conn, ln, nil
		}
		conn.Close()
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, nil, err
}

// Addr is the SIP host:port the service listens on.
func (s *Service) Addr() string { return s.addr }

// Legs is the number of media legs in progress.
func (s *Service) Legs() int { return int(s.legs.Load()) }

// Close ends every leg (with its BYE) and frees the sockets.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.log.Warn("media service: legs still ending at close")
	}
	if s.ua == nil {
		return nil
	}
	var errs []error
	for _, c := range []io.Closer{s.ua, s.conn, s.ln} { // sipgo may have closed the sockets already
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// serve runs one INVITE: checks, answers, runs the app, ends with BYE.
func (s *Service) serve(d *diago.DialogServerSession) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = d.Respond(sip.StatusServiceUnavailable, "Media service closing", nil)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	req, code, reason := checkInvite(d.InviteRequest)
	if !s.allowed(d.InviteRequest.Source()) {
		code, reason = sip.StatusForbidden, "Not A Signalling Node"
	}
	if code != 0 {
		s.log.Info("media: request refused", "code", code, "reason", reason, "uri", d.InviteRequest.Recipient.String())
		_ = d.Respond(code, reason, nil)
		return
	}
	s.legs.Add(1)
	defer s.legs.Add(-1)
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeouts.Leg)
	defer cancel()
	stop := context.AfterFunc(d.Context(), cancel) // the caller hung up
	defer stop()

	med, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		s.log.Info("media: answer failed", "error", err)
		_ = d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		return
	}
	log := s.log.With("app", req.App, "call", d.InviteRequest.CallID().Value())
	idle := s.cfg.Timeouts.RTPIdle
	if req.Loop {
		idle = 0 // hold music: a held phone may send nothing; the B2BUA ends the leg
	}
	c := newDiagoLeg(d, med, cancel, idle, log)
	s.mu.Lock()
	s.calls[d.ID] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.calls, d.ID)
		s.mu.Unlock()
	}()
	wait := c.run(ctx)
	res := (&leg{s: s, req: req, c: c}).runApp(ctx)
	cancel()
	wait()
	bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer bcancel()
	if err := c.hangup(bctx, res); err != nil {
		log.Debug("media: BYE failed", "error", err)
	}
	log.Info("media: leg done", "result", res.Encode())
}

// checkInvite decodes the request of an INVITE, or returns the SIP
// refusal: 400 for a bad app or arguments, 488 for SDP without G.711.
func checkInvite(inv *sip.Request) (media.Request, int, string) {
	h := inv.GetHeader(media.HeaderArgs)
	args := ""
	if h != nil {
		args = h.Value()
	}
	req, err := media.Decode(inv.Recipient.User, args)
	if err != nil {
		return req, sip.StatusBadRequest, err.Error()
	}
	switch {
	case req.App == media.AppVoicemail && req.Mailbox == "" && req.Email == "":
		return req, sip.StatusBadRequest, "a voicemail needs a mailbox or an email"
	case req.App == media.AppRecordPrompt && req.Prompt == "":
		return req, sip.StatusBadRequest, "record-prompt needs a prompt"
	}
	if reason := checkSDP(inv.Body()); reason != "" {
		return req, sip.StatusNotAcceptableHere, reason
	}
	return req, 0, ""
}

// checkSDP says what is wrong with an INVITE's offer, or "".
func checkSDP(body []byte) string {
	if len(body) == 0 {
		return "no SDP offer (late offer is not supported)"
	}
	sd := sdpDescription{}
	if err := sd.parse(body); err != nil {
		return "bad SDP: " + err.Error()
	}
	if !sd.g711 {
		return "no common codec: offer PCMU or PCMA"
	}
	return ""
}

// onInfo reads a key sent by SIP INFO within an answered leg.
func (s *Service) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	id, err := sip.DialogIDFromRequestUAS(req)
	s.mu.Lock()
	c := s.calls[id]
	s.mu.Unlock()
	if err != nil || c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	r, ok := infoDigit(ct, req.Body())
	if !ok {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", nil))
		return
	}
	c.pushDigit(r)
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
}

// allowed reports a request source (host:port) among Config.Allow.
func (s *Service) allowed(source string) bool {
	ap, err := netip.ParseAddrPort(source)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	if len(s.cfg.Allow) == 0 {
		return ip.IsLoopback()
	}
	for _, p := range s.cfg.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
