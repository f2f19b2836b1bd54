package sipserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// listenReady returns a context that reports the address sipgo bound.
func listenReady(ctx context.Context) (context.Context, <-chan string) {
	ch := make(chan string, 1)
	f := sipgo.ListenReadyFuncCtxValue(func(network, addr string) { ch <- addr })
	return context.WithValue(ctx, sipgo.ListenReadyCtxKey, f), ch //nolint:staticcheck // sipgo's key
}

// TestListenAndServe serves extra transports beside Serve: plain TCP on
// another port, and TLS.
func TestListenAndServe(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tcpCtx, tcpAddr := listenReady(ctx)
	tcpDone := make(chan error, 1)
	go func() { tcpDone <- srv.ListenAndServe(tcpCtx, "tcp", "127.0.0.1:0") }()

	cert := selfSigned(t)
	tlsCtx, tlsAddr := listenReady(ctx)
	tlsDone := make(chan error, 1)
	go func() {
		tlsDone <- srv.ListenAndServeTLS(tlsCtx, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	}()

	p := newPhone(t, <-tcpAddr, "TCP")
	wantStatus(t, p.login(p.register(reception, []string{"<sip:tcp@127.0.0.1:5001;transport=tcp>"}, 600), "MD5", reception, password), 200)

	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("TLSPhone"), sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool, ServerName: "localhost"}),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(testLogger())),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(testLogger())))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	tp := &phone{t: t, client: c, server: <-tlsAddr, transport: "TLS", name: "TLSPhone"}
	wantStatus(t, tp.login(tp.register(reception, []string{"<sips:tls@127.0.0.1:5002>"}, 600), "SHA-256", reception, password), 200)

	bs, _ := store.ContactsOf(context.Background(), guid, srv.clock.Now())
	if len(bs) != 2 || !strings.HasPrefix(bs[0].Source, "tcp:") || !strings.HasPrefix(bs[1].Source, "tls:") {
		t.Fatalf("bindings = %+v", bs)
	}
	cancel()
	for _, done := range []chan error{tcpDone, tlsDone} {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("ListenAndServe did not return after cancel")
		}
	}
}

// TestServeBusyPort: a taken port is reported by Listen, before serving.
func TestServeBusyPort(t *testing.T) {
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := New(Config{Addr: l.LocalAddr().String()}, newMemRegistry(), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Serve(context.Background()); err == nil || !strings.Contains(err.Error(), "listen udp") {
		t.Fatalf("Serve on a busy port: %v", err)
	}
	if _, err := New(Config{MinExpires: time.Hour, MaxExpires: time.Minute}, newMemRegistry(), nil); err == nil {
		t.Fatal("MinExpires > MaxExpires accepted")
	}
}

// TestCloseStopsServe: Close ends Serve with nil.
func TestCloseStopsServe(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0"}, newMemRegistry(), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	if err := s.Listen(); err == nil {
		t.Fatal("Listen after Close succeeded")
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
