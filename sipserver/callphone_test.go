package sipserver

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5/media/service"
	"xc5/resource"
	"xc5/routing"
	"xc5/sqlstore"
)

// uaPhone is a SIP phone (or carrier) for call tests: a sipgo user agent
// listening on its own loopback port that registers with xc5, receives
// INVITEs and places calls, recording what happens to it.
type uaPhone struct {
	t         testing.TB
	user      string // account username; "" for a carrier
	number    string // a carrier caller's number
	authUser  string // a carrier's digest username, for a trunk with inbound_auth
	password  string
	transport string
	xc5       string
	addr      string
	sdp       string
	client    *sipgo.Client
	contact   sip.ContactHeader
	uas       *sipgo.DialogServerCache
	uac       *sipgo.DialogClientCache

	calls     chan *inbound     // INVITEs the test handles itself
	reinvites chan *sip.Request // re-INVITEs received (answered 200 with holdSDP)
	notifies  chan *sip.Request // NOTIFYs received (answered 200)
	updates   chan *sip.Request // UPDATEs received (answered 200, with holdSDP to an offer)
	infos     chan *sip.Request // INFOs received (answered 200)
	holdSDP   string
	onInvite  func(in *inbound) // automatic behaviour instead of calls

	mu     sync.Mutex
	events []string
}

// sdpFor makes a distinct SDP offer per phone, so that tests can see whose
// SDP reached whom.
func sdpFor(name string, port int) string {
	return fmt.Sprintf("v=0\r\no=%s 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=sendrecv\r\n", name, port)
}

var rtpPort = struct {
	sync.Mutex
	n int
}{n: 40000}

func newUAPhone(t testing.TB, xc5addr, transport, user, password string) *uaPhone {
	t.Helper()
	name := user
	if name == "" {
		name = "carrier"
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Phone "+name), sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(testLogger())),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(testLogger())))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	var serve func()
	switch transport {
	case "UDP":
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = conn.LocalAddr().String()
		serve = func() { go srv.ServeUDP(conn) }
		t.Cleanup(func() { conn.Close() })
	case "TCP":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr().String()
		serve = func() { go srv.ServeTCP(l) }
		t.Cleanup(func() { l.Close() })
	}
	t.Cleanup(func() { ua.Close() })
	opts := []sipgo.ClientOption{sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(testLogger())}
	if transport == "UDP" {
		// Send from the listening socket, as a phone does: xc5 reaches
		// it at the address it registered from.
		opts = append(opts, sipgo.WithClientConnectionAddr(addr))
	}
	client, err := sipgo.NewClient(ua, opts...)
	if err != nil {
		t.Fatal(err)
	}
	_, portStr, _ := net.SplitHostPort(addr)
	var port int
	fmt.Sscan(portStr, &port)
	local, _, _ := strings.Cut(name, "@")
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: local, Host: "127.0.0.1", Port: port}}
	if transport == "TCP" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", "tcp")
	}
	rtpPort.Lock()
	rtpPort.n += 2
	rp := rtpPort.n
	rtpPort.Unlock()
	p := &uaPhone{t: t, user: user, password: password, transport: transport, xc5: xc5addr, addr: addr,
		sdp: sdpFor(local, rp), client: client, contact: contact,
		uas:       sipgo.NewDialogServerCache(client, contact),
		uac:       sipgo.NewDialogClientCache(client, contact),
		calls:     make(chan *inbound, 16),
		reinvites: make(chan *sip.Request, 16),
		notifies:  make(chan *sip.Request, 16),
		updates:   make(chan *sip.Request, 16),
		infos:     make(chan *sip.Request, 16),
		holdSDP:   strings.Replace(sdpFor(local, rp), "sendrecv", "recvonly", 1),
	}
	srv.OnInvite(p.handleInvite)
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		select {
		case p.notifies <- req:
		default:
		}
	})
	srv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		select {
		case p.infos <- req:
		default:
		}
	})
	srv.OnUpdate(func(req *sip.Request, tx sip.ServerTransaction) {
		p.event("UPDATE")
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		if len(req.Body()) > 0 {
			res = sip.NewSDPResponseFromRequest(req, []byte(p.holdSDP))
		}
		tx.Respond(res)
		select {
		case p.updates <- req:
		default:
		}
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		p.uas.ReadAck(req, tx)
		p.event("ACK")
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.uas.ReadBye(req, tx); err != nil {
			if err := p.uac.ReadBye(req, tx); err != nil {
				tx.Respond(sip.NewResponseFromRequest(req, 481, "No Such Dialog", nil))
				return
			}
		}
		p.event("BYE")
	})
	serve()
	if transport == "UDP" {
		for {
			if _, err := srv.TransportLayer().GetConnection("udp", addr); err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	return p
}

// behave sets what the phone does with INVITEs (nil: hand them to the
// test through calls).
func (p *uaPhone) behave(f func(in *inbound)) {
	p.mu.Lock()
	p.onInvite = f
	p.mu.Unlock()
}

func (p *uaPhone) forget() {
	p.mu.Lock()
	p.events = nil
	p.mu.Unlock()
}

func (p *uaPhone) event(e string) {
	p.mu.Lock()
	p.events = append(p.events, e)
	p.mu.Unlock()
}

// saw reports whether the phone has seen event e (within a second or so).
func (p *uaPhone) saw(e string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		for _, x := range p.events {
			if x == e {
				p.mu.Unlock()
				return true
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *uaPhone) count(e string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, x := range p.events {
		if x == e {
			n++
		}
	}
	return n
}

// register binds the phone's contact to its account (digest, SHA-256).
func (p *uaPhone) register() {
	p.t.Helper()
	p.registerFor("600")
}

// unregister removes the phone's binding (REGISTER Expires: 0).
func (p *uaPhone) unregister() {
	p.t.Helper()
	p.registerFor("0")
}

// registerFor sends the phone's REGISTER with the given Expires,
// answering the digest challenge.
func (p *uaPhone) registerFor(expires string) {
	p.t.Helper()
	local, host, _ := strings.Cut(p.user, "@")
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: local, Host: host}}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: from.Address})
	ct := p.contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Expires", expires))
	req.SetDestination(p.xc5)
	req.SetTransport(p.transport)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.user, Password: p.password})
	}
	if err != nil || res.StatusCode != 200 {
		p.t.Fatalf("REGISTER %s (Expires %s): %v %v", p.user, expires, res, err)
	}
}

// inbound is an INVITE a phone received from xc5.
type inbound struct {
	p    *uaPhone
	req  *sip.Request
	dlg  *sipgo.DialogServerSession
	done chan struct{}
	once sync.Once
}

func (p *uaPhone) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	if req.To().Params.Has("tag") {
		p.event("reINVITE")
		p.reinvites <- req
		res := sip.NewSDPResponseFromRequest(req, []byte(p.holdSDP))
		ct := p.contact
		res.AppendHeader(&ct)
		tx.Respond(res)
		return
	}
	p.event("INVITE")
	dlg, err := p.uas.ReadInvite(req, tx)
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 500, err.Error(), nil))
		return
	}
	tx.OnCancel(func(*sip.Request) { p.event("CANCEL") })
	in := &inbound{p: p, req: req, dlg: dlg, done: make(chan struct{})}
	p.mu.Lock()
	f := p.onInvite
	p.mu.Unlock()
	if f != nil {
		go f(in)
	} else {
		p.calls <- in
	}
	select {
	case <-in.done:
	case <-dlg.Context().Done():
	case <-time.After(30 * time.Second):
	}
}

func (in *inbound) release() { in.once.Do(func() { close(in.done) }) }

func (in *inbound) ring() {
	if err := in.dlg.Respond(180, "Ringing", nil); err != nil {
		in.p.t.Logf("%s: 180: %v", in.p.user, err)
	}
}

// answer answers with the phone's SDP and returns once xc5 has ACKed.
func (in *inbound) answer() error {
	defer in.release()
	return in.dlg.RespondSDP([]byte(in.p.sdp))
}

func (in *inbound) reject(code int, reason string) {
	defer in.release()
	in.dlg.Respond(code, reason, nil)
}

// cancelled waits for the call to be cancelled.
func (in *inbound) cancelled(within time.Duration) bool {
	select {
	case <-in.dlg.Context().Done():
		return true
	case <-time.After(within):
		return false
	}
}

// hangup sends BYE in the answered call.
func (in *inbound) hangup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return in.dlg.Bye(ctx)
}

func (in *inbound) header(name string) string {
	if h := in.req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// reinvite sends a re-INVITE from the callee's side and ACKs a 2xx.
func (in *inbound) reinvite(t testing.TB, body string) *sip.Response {
	t.Helper()
	req := sip.NewRequest(sip.INVITE, in.dlg.InviteRequest.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := in.dlg.Do(ctx, req)
	if err != nil {
		t.Fatalf("re-INVITE: %v", err)
	}
	if res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, in.dlg.InviteRequest.Contact().Address)
		if err := in.dlg.WriteRequest(ack); err != nil {
			t.Fatalf("ACK: %v", err)
		}
	}
	return res
}

// next waits for the phone's next INVITE.
func (p *uaPhone) next(within time.Duration) *inbound {
	p.t.Helper()
	select {
	case in := <-p.calls:
		return in
	case <-time.After(within):
		p.t.Fatalf("%s: no INVITE within %v", p.user, within)
		return nil
	}
}

// none checks that no INVITE arrives for a while.
func (p *uaPhone) none(within time.Duration) {
	p.t.Helper()
	select {
	case in := <-p.calls:
		p.t.Fatalf("%s: unexpected INVITE from %s", p.user, in.req.From().Value())
	case <-time.After(within):
	}
}

// outbound is a call a phone placed through xc5.
type outbound struct {
	p      *uaPhone
	dlg    *sipgo.DialogClientSession
	cancel context.CancelFunc
	prov   chan *sip.Response
	done   chan struct{}
	err    error
	res    *sip.Response
}

// dial places a call to dialed; a phone answers xc5's 407 with its
// credentials, a carrier sends none.
func (p *uaPhone) dial(dialed string, hdrs ...sip.Header) *outbound {
	p.t.Helper()
	// The Request-URI names xc5 by address, so that a CANCEL (sent to
	// the Request-URI) reaches it without DNS.
	h, port, _ := net.SplitHostPort(p.xc5)
	var pn int
	fmt.Sscan(port, &pn)
	return p.dialURI(sip.Uri{Scheme: "sip", User: dialed, Host: h, Port: pn}, hdrs...)
}

// dialURI places a call with the Request-URI uri (a tel: URI, parameters).
func (p *uaPhone) dialURI(uri sip.Uri, hdrs ...sip.Header) *outbound {
	p.t.Helper()
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: p.number, Host: "carrier.test"}}
	if p.user != "" {
		local, h, _ := strings.Cut(p.user, "@")
		from.Address = sip.Uri{Scheme: "sip", User: local, Host: h}
	}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req := sip.NewRequest(sip.INVITE, uri)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: req.Recipient})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	req.SetBody([]byte(p.sdp))
	req.SetDestination(p.xc5)
	req.SetTransport(p.transport)
	ctx, cancel := context.WithCancel(context.Background())
	dlg, err := p.uac.WriteInvite(ctx, req)
	if err != nil {
		cancel()
		p.t.Fatalf("INVITE %s: %v", uri.String(), err)
	}
	o := &outbound{p: p, dlg: dlg, cancel: cancel, prov: make(chan *sip.Response, 8), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		user := p.user
		if p.authUser != "" {
			user = p.authUser
		}
		o.err = dlg.WaitAnswer(ctx, sipgo.AnswerOptions{Username: user, Password: p.password,
			OnResponse: func(res *sip.Response) error {
				if res.StatusCode > 100 && res.StatusCode < 200 {
					select {
					case o.prov <- res:
					default:
					}
				}
				return nil
			}})
		o.res = dlg.InviteResponse
		if o.err == nil {
			actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer acancel()
			dlg.Ack(actx)
		}
	}()
	return o
}

// ringing waits for a provisional response relayed by xc5.
func (o *outbound) ringing(t testing.TB) *sip.Response {
	t.Helper()
	select {
	case r := <-o.prov:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no 180/183 relayed to the caller")
		return nil
	}
}

// result waits for the call's final response.
func (o *outbound) result(within time.Duration) *sip.Response {
	o.p.t.Helper()
	select {
	case <-o.done:
	case <-time.After(within):
		o.p.t.Fatalf("no final response within %v", within)
	}
	if o.res == nil {
		o.p.t.Fatalf("no response: %v", o.err)
	}
	return o.res
}

// answered waits for a 200 and fails otherwise.
func (o *outbound) answered(within time.Duration) *sip.Response {
	o.p.t.Helper()
	res := o.result(within)
	if res.StatusCode != 200 || o.err != nil {
		o.p.t.Fatalf("call not answered: %d %s (%v)", res.StatusCode, res.Reason, o.err)
	}
	return res
}

func (o *outbound) hangup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return o.dlg.Bye(ctx)
}

// reinvite sends a re-INVITE with body and returns the final response.
func (o *outbound) reinvite(body string) *sip.Response {
	o.p.t.Helper()
	req := sip.NewRequest(sip.INVITE, o.dlg.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := o.dlg.Do(ctx, req)
	if err != nil {
		o.p.t.Fatalf("re-INVITE: %v", err)
	}
	if res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, o.dlg.InviteResponse.Contact().Address)
		if err := o.dlg.WriteAck(ctx, ack); err != nil {
			o.p.t.Fatalf("ACK re-INVITE: %v", err)
		}
	}
	return res
}

// pbx is xc5 with the document's acmebrick organisation provisioned
// through the store, its routing view following the store, calls enabled.
type pbx struct {
	t     *testing.T
	store *sqlstore.Store
	view  *routing.View
	srv   *testServer
	ids   map[string]string
	media *service.Service // the media node of newMediaPBX
}

const salesPassword = "Sales-pw-2"

func newPBX(t *testing.T, cfg Config) *pbx {
	t.Helper()
	return newPBXOn(t, cfg, newStore(t))
}

// newPBXOn is newPBX on a bootstrapped store of the test's own.
func newPBXOn(t *testing.T, cfg Config, store *sqlstore.Store) *pbx {
	t.Helper()
	// 6499650085 is the document's voicemail number (its POTS line's
	// cfna_dest).
	view := routing.NewView(routing.Defaults{CountryCode: "64", VoicemailNumbers: []string{"6499650085"}})
	view.Follow(store)
	x := &pbx{t: t, store: store, view: view, ids: map[string]string{}}
	x.provision()
	if err := view.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	if cfg.AuthFailures == 0 {
		cfg.AuthFailures = -1
	}
	x.srv = startServer(t, cfg, store)
	if err := x.srv.EnableCalls(view); err != nil {
		t.Fatal(err)
	}
	return x
}

// put writes a record through the store the way the API does: the JSON
// body is decoded and checked against the resource's description.
func (x *pbx) put(r *resource.Resource, parent, id, body string, mode resource.PutMode) resource.Record {
	x.t.Helper()
	in, err := resource.Decode(r, []byte(body))
	if err != nil {
		x.t.Fatalf("%s %s: %v", r.Name, body, err)
	}
	rec, _, err := x.store.Put(context.Background(), "", r, parent, id, in, mode)
	if err != nil {
		x.t.Fatalf("put %s %s: %v", r.Name, body, err)
	}
	return rec
}

func (x *pbx) account(parent, body string) {
	if parent != "" {
		body = `{"parent":"` + parent + `",` + body[1:]
	}
	rec := x.put(resource.Account, "", "", body, resource.Create)
	x.ids[rec.Values["username"].(string)] = rec.GUID
}

func (x *pbx) patch(username, body string) {
	x.put(resource.Account, "", username, body, resource.Patch)
}

// provision is stages one to four of the document (without the IVR and
// voicemail, which need media), with ring times of a second or two.
func (x *pbx) provision() {
	const co = "acmebrick.x.co.nz"
	x.account("", `{"username":"acmebrick.x.co.nz","pickup_group":"Alpha"}`)
	x.account(co, `{"username":"reception@acmebrick.x.co.nz","password":"`+password+`","cfna_duration":2}`)
	x.account(co, `{"username":"sales@acmebrick.x.co.nz","password":"`+salesPassword+`","cfna_duration":2}`)
	x.put(resource.Number, reception, "", `{"number":"6491231234"}`, resource.Create)
	x.put(resource.Number, sales, "", `{"number":"6499290089"}`, resource.Create)
	x.put(resource.CallRule, co, "", `{"order":-2,"prefix_raw":"600","username":"reception@acmebrick.x.co.nz","destination":":600"}`, resource.Create)
	x.put(resource.CallRule, co, "", `{"order":-2,"prefix_raw":"608","username":"sales@acmebrick.x.co.nz","destination":":608"}`, resource.Create)
	x.put(resource.CallRule, reception, "", `{"order":-14,"location":"<CallRule-International>","destination":"drop:404:destination blocked"}`, resource.Create)
	// The hunt group: reception then sales, a second each.
	x.account(co, `{"username":"main_entry@acmebrick.x.co.nz"}`)
	x.put(resource.Number, "main_entry@acmebrick.x.co.nz", "", `{"number":"6499290087"}`, resource.Create)
	x.put(resource.Route, "main_entry@acmebrick.x.co.nz", "", `{"order":100,"username":"reception@acmebrick.x.co.nz","hunt_user":true,"ring_seconds":1}`, resource.Create)
	x.put(resource.Route, "main_entry@acmebrick.x.co.nz", "", `{"order":101,"username":"sales@acmebrick.x.co.nz","hunt_user":true,"ring_seconds":1}`, resource.Create)
	// The blast group: both phones at once.
	x.account(co, `{"username":"blast@acmebrick.x.co.nz","cfna_duration":3}`)
	x.put(resource.Number, "blast@acmebrick.x.co.nz", "", `{"number":"6499290088"}`, resource.Create)
	x.put(resource.Fork, "blast@acmebrick.x.co.nz", "", `{"destination":"6491231234"}`, resource.Create)
	x.put(resource.Fork, "blast@acmebrick.x.co.nz", "", `{"destination":"6499290089"}`, resource.Create)
	// Destinations that need media.
	x.account(co, `{"username":"mail@acmebrick.x.co.nz"}`)
	x.put(resource.Number, "mail@acmebrick.x.co.nz", "", `{"number":"6499290081"}`, resource.Create)
	x.put(resource.Route, "mail@acmebrick.x.co.nz", "", `{"order":-1,"destination":"email:reception@acmebrick.x.co.nz"}`, resource.Create)
	x.account(co, `{"username":"ivr@acmebrick.x.co.nz"}`)
	x.put(resource.Number, "ivr@acmebrick.x.co.nz", "", `{"number":"6499290082"}`, resource.Create)
	x.put(resource.Route, "ivr@acmebrick.x.co.nz", "", `{"order":-8,"menu_level":1,"digit_map":"1=6499290089"}`, resource.Create)
}

// trunk provisions the carrier trunk: calls from 127.0.0.1, from any
// port (the test carriers' ports are random), come in from it; external
// calls go to proxy (when not "").
func (x *pbx) trunk(proxy, username, pw string) {
	body := `{"name":"carrier","address":"127.0.0.1","port":0,"priority":1`
	if proxy != "" {
		body += `,"proxy":"` + proxy + `"`
	}
	if username != "" {
		body += `,"username":"` + username + `","password":"` + pw + `"`
	}
	x.put(resource.Trunk, "", "", body+"}", resource.Create)
}

// phone starts a phone for an account and registers it.
func (x *pbx) phone(user, pw, transport string) *uaPhone {
	p := newUAPhone(x.t, x.srv.addr, transport, user, pw)
	p.register()
	return p
}

// carrier starts a carrier user agent calling from number.
func (x *pbx) carrier(number string) *uaPhone {
	p := newUAPhone(x.t, x.srv.addr, "UDP", "", "")
	p.number = number
	return p
}

// cdrs waits for n call detail records of an account and returns them.
func (x *pbx) cdrs(username string, n int) []map[string]any {
	x.t.Helper()
	guid := x.ids[username]
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out []map[string]any
		err := x.store.List(context.Background(), "", resource.CDR, resource.Query{Parent: guid}, func(r resource.Record) error {
			out = append(out, r.Values)
			return nil
		})
		if err != nil {
			x.t.Fatal(err)
		}
		if len(out) >= n || time.Now().After(deadline) {
			if len(out) != n {
				x.t.Fatalf("%s has %d CDRs, want %d: %v", username, len(out), n, out)
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idle waits until xc5 has no call in progress.
func (x *pbx) idle() {
	x.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for x.srv.Calls() != 0 {
		if time.Now().After(deadline) {
			x.t.Fatalf("%d calls still in progress", x.srv.Calls())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
