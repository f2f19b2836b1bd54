package main_test

// A Go SIP user agent with a real RTP endpoint, for the full-stack media
// tests: it calls `xc5 serve` as a carrier (a trunk lets it in without
// digest) or as a company's phone (digest), and answers calls xc5 sends it.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5/internal/audiotest"
	"xc5/internal/rtptest"
	"xc5/media/relay"
)

// goUA is one user agent: SIP on its own loopback UDP socket, audio on
// ep.
type goUA struct {
	t        *testing.T
	xc5      string       // xc5's SIP address
	user, pw string       // account and password; "" for a carrier
	number   string       // a carrier caller's number
	extra    []sip.Header // added to the INVITEs it sends
	natHost  string       // written into its SDP instead of 127.0.0.1: a phone behind NAT
	ep       *rtptest.Endpoint
	client   *sipgo.Client
	contact  sip.ContactHeader
	uac      *sipgo.DialogClientCache
	uas      *sipgo.DialogServerCache
	invites  chan *sipgo.DialogServerSession

	mu   sync.Mutex
	byes int
}

var quiet = slog.New(slog.DiscardHandler)

func newUA(t *testing.T, xc5, user, pw string) *goUA {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("xc5 e2e"), sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := conn.LocalAddr().String()
	t.Cleanup(func() { ua.Close(); conn.Close() })
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(quiet),
		sipgo.WithClientConnectionAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	local, _, _ := strings.Cut(user, "@")
	if local == "" {
		local = "carrier"
	}
	u := &goUA{t: t, xc5: xc5, user: user, pw: pw, ep: rtptest.Listen(t), client: client,
		contact: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: local, Host: "127.0.0.1", Port: port}},
		invites: make(chan *sipgo.DialogServerSession, 4)}
	u.uac = sipgo.NewDialogClientCache(client, u.contact)
	u.uas = sipgo.NewDialogServerCache(client, u.contact)
	srv.OnInvite(u.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { u.uas.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if u.uac.ReadBye(req, tx) != nil && u.uas.ReadBye(req, tx) != nil {
			tx.Respond(sip.NewResponseFromRequest(req, 481, "No Such Dialog", nil))
			return
		}
		u.mu.Lock()
		u.byes++
		u.mu.Unlock()
	})
	go srv.ServeUDP(conn)
	for {
		if _, err := srv.TransportLayer().GetConnection("udp", addr); err == nil {
			return u
		}
		time.Sleep(time.Millisecond)
	}
}

// carrier is a carrier's user agent calling from number.
func carrier(t *testing.T, xc5, number string) *goUA {
	u := newUA(t, xc5, "", "")
	u.number = number
	return u
}

func (u *goUA) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	d, err := u.uas.ReadInvite(req, tx)
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 500, err.Error(), nil))
		return
	}
	u.invites <- d
	<-d.Context().Done() // the transaction lives until the dialog ends
}

// behindNAT makes the phone write host, a private address its packets do
// not come from, into its Contact and SDP, as a phone behind NAT without
// STUN does.
func (u *goUA) behindNAT(host string) {
	u.natHost = host
	u.contact.Address.Host = host
	u.uac = sipgo.NewDialogClientCache(u.client, u.contact)
	u.uas = sipgo.NewDialogServerCache(u.client, u.contact)
}

// sdp is the endpoint's SDP, with the private address of a phone behind
// NAT when it has one.
func (u *goUA) sdp() []byte {
	b := u.ep.SDP(u.contact.Address.User)
	if u.natHost != "" {
		b = bytes.ReplaceAll(b, []byte("127.0.0.1"), []byte(u.natHost))
	}
	return b
}

// answer waits for an INVITE from xc5, answers it with the endpoint's SDP
// and returns where to send RTP.
func (u *goUA) answer(within time.Duration) netip.AddrPort {
	u.t.Helper()
	select {
	case d := <-u.invites:
		if err := d.RespondSDP(u.sdp()); err != nil {
			u.t.Fatalf("answer: %v", err)
		}
		return sdpAddr(u.t, d.InviteRequest.Body())
	case <-time.After(within):
		u.t.Fatalf("%s: no INVITE within %v", u.user, within)
		return netip.AddrPort{}
	}
}

// register binds the phone's contact to its account (digest).
func (u *goUA) register() {
	u.t.Helper()
	local, host, _ := strings.Cut(u.user, "@")
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: local, Host: host}}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: from.Address})
	ct := u.contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	req.SetDestination(u.xc5)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := u.client.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = u.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: u.user, Password: u.pw})
	}
	if err != nil || res.StatusCode != 200 {
		u.t.Fatalf("register %s: %v %v", u.user, res, err)
	}
}

// call is a call the user agent placed.
type call struct {
	u    *goUA
	dlg  *sipgo.DialogClientSession
	done chan struct{}
	err  error
	res  *sip.Response
}

// dial calls dialed at xc5, answering a digest challenge with the
// account's credentials.
func (u *goUA) dial(dialed string) *call {
	u.t.Helper()
	h, p, _ := net.SplitHostPort(u.xc5)
	var port int
	fmt.Sscan(p, &port)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: u.number, Host: "carrier.test"}}
	if u.user != "" {
		local, host, _ := strings.Cut(u.user, "@")
		from.Address = sip.Uri{Scheme: "sip", User: local, Host: host}
	}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: dialed, Host: h, Port: port})
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: req.Recipient})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	for _, h := range u.extra {
		req.AppendHeader(h)
	}
	req.SetBody(u.sdp())
	req.SetDestination(u.xc5)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	dlg, err := u.uac.WriteInvite(ctx, req)
	if err != nil {
		cancel()
		u.t.Fatalf("INVITE %s: %v", dialed, err)
	}
	c := &call{u: u, dlg: dlg, done: make(chan struct{})}
	go func() {
		defer cancel()
		defer close(c.done)
		c.err = dlg.WaitAnswer(ctx, sipgo.AnswerOptions{Username: u.user, Password: u.pw})
		c.res = dlg.InviteResponse
		if c.err == nil {
			dlg.Ack(ctx)
		}
	}()
	u.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		dlg.Bye(ctx)
	})
	return c
}

// result waits for the final response (a guard against a hang, not a
// timing assertion).
func (c *call) result(within time.Duration) *sip.Response {
	c.u.t.Helper()
	select {
	case <-c.done:
	case <-time.After(within):
		c.u.t.Fatalf("no final response within %v", within)
	}
	if c.res == nil {
		c.u.t.Fatalf("no response: %v", c.err)
	}
	return c.res
}

// answered waits for a 200 and returns where to send RTP.
func (c *call) answered() netip.AddrPort {
	c.u.t.Helper()
	res := c.result(20 * time.Second)
	if res.StatusCode != 200 || c.err != nil {
		c.u.t.Fatalf("call not answered: %d %s (%v)", res.StatusCode, res.Reason, c.err)
	}
	return sdpAddr(c.u.t, res.Body())
}

// hungUp waits for xc5's BYE.
func (u *goUA) hungUp(within time.Duration) bool {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		u.mu.Lock()
		n := u.byes
		u.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

func sdpAddr(t testing.TB, body []byte) netip.AddrPort {
	t.Helper()
	a, err := relay.SDPAddr(body)
	if err != nil {
		t.Fatalf("SDP %q: %v", body, err)
	}
	return a
}

// hears waits until the last 150 ms the endpoint received, after sample
// from, carry freq (long enough that speech does not pass for a tone);
// it returns the sample count at that moment.
func hears(ep *rtptest.Endpoint, from int, freq float64, within time.Duration) (int, bool) {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(15 * time.Millisecond) {
		got := ep.Received()
		if len(got)-from >= 1200 && audiotest.Has(got[len(got)-1200:], 8000, freq) {
			return len(got), true
		}
	}
	return 0, false
}

// heardSound reports whether the samples from on are more than silence.
func heardSound(ep *rtptest.Endpoint, from int) bool {
	got := ep.Received()
	return len(got) > from && audiotest.Energy(got[from:]) > 1e-4
}

// hangup sends BYE in the answered call.
func (c *call) hangup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.dlg.Bye(ctx)
}

// info sends digit by SIP INFO (application/dtmf-relay) in the call.
func (c *call) info(t *testing.T, digit rune) {
	t.Helper()
	req := sip.NewRequest(sip.INFO, c.dlg.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
	req.SetBody([]byte("Signal=" + string(digit) + "\r\nDuration=160\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.dlg.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO %c: %v %v", digit, res, err)
	}
}
