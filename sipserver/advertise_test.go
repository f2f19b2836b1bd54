package sipserver

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// portForward is a NAT's port forward: datagrams to its public address
// (on 127.0.0.2) go to the inside address set later (xc5 on 127.0.0.1),
// from one inside socket per outside source, and the answers go back.
func portForward(t *testing.T) (public string, to func(inside string)) {
	t.Helper()
	pub, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	t.Cleanup(func() { pub.Close() })
	var mu sync.Mutex
	var dst *net.UDPAddr
	conns := map[string]*net.UDPConn{}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, src, err := pub.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			c := conns[src.String()]
			if c == nil && dst != nil {
				if c, err = net.DialUDP("udp", nil, dst); err != nil {
					mu.Unlock()
					continue
				}
				conns[src.String()] = c
				t.Cleanup(func() { c.Close() })
				go func() {
					back := make([]byte, 65535)
					for {
						n, err := c.Read(back)
						if err != nil {
							return
						}
						pub.WriteTo(back[:n], src)
					}
				}()
			}
			mu.Unlock()
			if c != nil {
				c.Write(buf[:n])
			}
		}
	}()
	return pub.LocalAddr().String(), func(inside string) {
		a, err := net.ResolveUDPAddr("udp", inside)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		dst = a
		mu.Unlock()
	}
}

// TestAdvertisedAddress: xc5 listens on 127.0.0.1 behind a NAT whose
// public address (127.0.0.2) forwards to it, and advertises that address
// (Config.Host and Port, `--sip-advertise`). The INVITE a phone receives
// carries it in its Via and Contact, the 200 the caller receives in its
// Contact, and the caller's ACK and BYE, sent there, reach the callee.
func TestAdvertisedAddress(t *testing.T) {
	public, forwardTo := portForward(t)
	host, p, _ := net.SplitHostPort(public)
	port, _ := strconv.Atoi(p)
	x := newPBX(t, Config{Host: host, Port: port})
	forwardTo(x.srv.addr)
	// The caller reaches xc5 through the forward for everything, as
	// through a real NAT: the forward's own socket is then the one
	// source of all its requests, which xc5 checks in-dialog requests
	// against (dialog.go fromEnd).
	rec := newUAPhone(t, public, "UDP", reception, password)
	rec.register()
	sal := x.phone(sales, salesPassword, "UDP")

	out := rec.dial("608")
	in := sal.next(5 * time.Second)
	via := in.req.Via()
	if via.Host != host || via.Port != port || !via.Params.Has("rport") {
		t.Errorf("the callee's INVITE has Via %s, want sent-by %s with rport", via.Value(), public)
	}
	if c := in.req.Contact(); c.Address.Host != host || c.Address.Port != port {
		t.Errorf("the callee's INVITE has Contact %s, want %s", c.Value(), public)
	}
	go func() {
		if err := in.answer(); err != nil {
			t.Logf("answer: %v", err)
		}
	}()
	res := out.answered(5 * time.Second)
	if c := res.Contact(); c.Address.Host != host || c.Address.Port != port {
		t.Errorf("the caller's 200 has Contact %s, want %s", c.Value(), public)
	}
	if !sal.saw("ACK", 2*time.Second) {
		t.Fatal("the caller's ACK, sent to the advertised address, did not reach sales")
	}
	// The BYE is built by hand so that it leaves from the phone's one
	// socket (sipgo's dialog BYE opens a socket of its own toward an
	// address it has not sent to before; a real phone does not).
	bye := sip.NewRequest(sip.BYE, res.Contact().Address)
	bye.AppendHeader(out.dlg.InviteRequest.From())
	bye.AppendHeader(res.To())
	bye.AppendHeader(out.dlg.InviteRequest.CallID())
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: out.dlg.InviteRequest.CSeq().SeqNo + 1, MethodName: sip.BYE})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r, err := rec.client.Do(ctx, bye); err != nil || r.StatusCode != 200 {
		t.Fatalf("caller BYE to the advertised address: %v %v", r, err)
	}
	if !sal.saw("BYE", 2*time.Second) {
		t.Fatal("the caller's BYE did not reach sales")
	}
	x.idle()
}

// TestAdvertisedAddressPerTransport: calls over TCP carry Config.Host and
// Port; over TLS, TLSHost and TLSPort; without them, the bound address.
func TestAdvertisedAddressPerTransport(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        Config
		transport  string
		host       string
		port       int
		clientHost string
	}{
		{"tcp advertised", Config{Host: "pbx.example.net", Port: 5080}, "TCP", "pbx.example.net", 5080, "pbx.example.net"},
		{"tls advertised", Config{Host: "pbx.example.net", Port: 5080, TLSHost: "tls.example.net", TLSPort: 5081}, "TLS", "tls.example.net", 5081, "tls.example.net"},
		{"tls defaults to Host", Config{Host: "pbx.example.net", TLSPort: 5081}, "TLS", "pbx.example.net", 5081, "pbx.example.net"},
		{"none", Config{}, "UDP", "127.0.0.1", 0, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newPBX(t, tc.cfg)
			x.srv.mu.RLock()
			b := x.srv.b2b
			x.srv.mu.RUnlock()
			want := tc.port
			if want == 0 {
				_, p, _ := net.SplitHostPort(x.srv.addr)
				want, _ = strconv.Atoi(p)
			}
			ua := b.dialogUA(tc.transport)
			if c := ua.ContactHDR.Address; c.Host != tc.host || c.Port != want {
				t.Errorf("Contact %s, want %s:%d", c.String(), tc.host, want)
			}
			if ua.Client.Hostname() != tc.clientHost {
				t.Errorf("Via host %q, want %q", ua.Client.Hostname(), tc.clientHost)
			}
			if tp, _ := ua.ContactHDR.Address.UriParams.Get("transport"); tc.transport != "UDP" && tp != sip.NetworkToLower(tc.transport) {
				t.Errorf("Contact transport %q", tp)
			}
		})
	}
}

// TestAdvertisedNonLocalAddress: advertising an address that is not the
// machine's (192.0.2.1, TEST-NET-1: behind a NAT, xc5 never holds its
// public address) changes only what is written, not where xc5 sends
// from: the callee's INVITE, sent from the socket xc5 bound, arrives and
// carries the advertised address in its Via (with rport) and Contact,
// and the ringing relayed to the caller carries it in its Contact. The
// callee then refuses, so that no request ever has to reach 192.0.2.1.
func TestAdvertisedNonLocalAddress(t *testing.T) {
	const host, port = "192.0.2.1", 5099
	if a, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, strconv.Itoa(port))); err == nil {
		if c, err := net.ListenUDP("udp", a); err == nil {
			c.Close()
			t.Skipf("%s is an address of this machine", host)
		}
	}
	x := newPBX(t, Config{Host: host, Port: port})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")

	out := rec.dial("608")
	in := sal.next(5 * time.Second)
	if in == nil {
		t.Fatal("the callee's INVITE did not arrive: xc5 did not send it from its own socket")
	}
	via := in.req.Via()
	if via.Host != host || via.Port != port || !via.Params.Has("rport") {
		t.Errorf("the callee's INVITE has Via %s, want sent-by %s:%d with rport", via.Value(), host, port)
	}
	if c := in.req.Contact(); c == nil || c.Address.Host != host || c.Address.Port != port {
		t.Errorf("the callee's INVITE has Contact %v, want %s:%d", c, host, port)
	}
	in.ring()
	if c := out.ringing(t).Contact(); c == nil || c.Address.Host != host || c.Address.Port != port {
		t.Errorf("the caller's 180 has Contact %v, want %s:%d", c, host, port)
	}
	in.reject(486, "Busy Here")
	if res := out.result(5 * time.Second); res.StatusCode != 486 {
		t.Errorf("the caller got %d, want the callee's 486", res.StatusCode)
	}
	x.idle()
}
