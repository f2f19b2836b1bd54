package sipserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Listen binds Config.Addr on UDP and TCP, the same port for both. Serve
// calls it when it has not been called; calling it first reports a busy
// port before anything else starts.
func (s *Server) Listen() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closing {
		return errors.New("sip: server closed")
	}
	if s.udp != nil {
		return nil
	}
	host, port, err := net.SplitHostPort(s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("sip: address %q: %w", s.cfg.Addr, err)
	}
	// With port 0 the UDP port is chosen first and TCP may find it taken:
	// try again with another.
	for try := 0; ; try++ {
		udp, err := net.ListenPacket("udp", s.cfg.Addr)
		if err != nil {
			return fmt.Errorf("sip: listen udp %s: %w", s.cfg.Addr, err)
		}
		_, p, _ := net.SplitHostPort(udp.LocalAddr().String())
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err == nil {
			s.udp, s.tcp = udp, tcp
			s.sizeBuffers(udp)
			if u, ok := udp.(*net.UDPConn); ok {
				s.udpReg = newUDPRegistrar(s, u)
			}
			return nil
		}
		udp.Close()
		if port != "0" || try == 20 {
			return fmt.Errorf("sip: listen tcp %s: %w", net.JoinHostPort(host, p), err)
		}
	}
}

// sizeBuffers asks for UDP socket buffers of Config.UDPBuffer bytes. The
// kernel's default (about 200 KiB) holds a few hundred requests: a pause
// of a few tens of milliseconds at thousands of requests a second (a
// garbage collection, another process on the CPU) overflows it, and every
// dropped request comes back as a retransmission half a second later,
// adding load just when there is least room for it. Linux caps the size
// at net.core.rmem_max / wmem_max.
func (s *Server) sizeBuffers(c net.PacketConn) {
	u, ok := c.(*net.UDPConn)
	if !ok || s.cfg.UDPBuffer <= 0 {
		return
	}
	if err := u.SetReadBuffer(s.cfg.UDPBuffer); err != nil {
		s.log.Warn("sip: UDP read buffer", "err", err)
	}
	if err := u.SetWriteBuffer(s.cfg.UDPBuffer); err != nil {
		s.log.Warn("sip: UDP write buffer", "err", err)
	}
}

// udpAddr is the local address of the UDP listener Serve uses, for
// requests that must leave from it.
func (s *Server) udpAddr() (sip.Addr, bool) {
	s.life.Lock()
	defer s.life.Unlock()
	if s.udp == nil {
		return sip.Addr{}, false
	}
	host, p, err := net.SplitHostPort(s.udp.LocalAddr().String())
	if err != nil {
		return sip.Addr{}, false
	}
	port, _ := strconv.Atoi(p)
	return sip.Addr{IP: net.ParseIP(host), Port: port, Hostname: host}, true
}

// Addr returns the address Listen bound ("host:port", the same for UDP
// and TCP), or "" before it.
func (s *Server) Addr() string {
	s.life.Lock()
	defer s.life.Unlock()
	if s.udp == nil {
		return ""
	}
	return s.udp.LocalAddr().String()
}

// Serve listens on Config.Addr over UDP and TCP and serves until ctx is
// cancelled or Close is called, and then shuts the server down as Close
// does. It returns nil after such a shutdown, or the error that stopped a
// transport.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.life.Lock()
	udp, tcp, reg := s.udp, s.tcp, s.udpReg
	s.life.Unlock()
	s.warmBeforeServing()
	s.startSweep()
	errc := make(chan error, 2)
	go func() {
		err := s.sip.ServeUDP(s.udpReader(udp, reg))
		errc <- fmt.Errorf("sip: udp stopped: %v", err)
	}()
	go func() {
		err := s.sip.ServeTCP(tcp)
		errc <- fmt.Errorf("sip: tcp stopped: %w", err)
	}()
	s.servingOnce.Do(func() { close(s.serving) })
	var err error
	select {
	case <-ctx.Done():
	case <-s.ctx.Done():
	case err = <-errc:
	}
	s.life.Lock()
	closing := s.closing
	s.life.Unlock()
	s.Close()
	if closing {
		return nil
	}
	return err
}

// Serving is closed once Serve has warmed what it warms before serving
// (the credentials cache) and reads requests: a load that should meet a
// server already at work waits for it.
func (s *Server) Serving() <-chan struct{} { return s.serving }

// ListenAndServe serves one transport ("udp", "tcp", "ws" and their 4/6
// variants) on addr, like sipgo's, until ctx is cancelled or Close is
// called. Several may run on one server; Serve is the usual way.
func (s *Server) ListenAndServe(ctx context.Context, network, addr string) error {
	s.startSweep()
	ctx, stop := mergeCancel(s.watchListen(ctx), s.ctx)
	defer stop()
	return s.sip.ListenAndServe(ctx, network, addr)
}

// watchListen returns ctx carrying sipgo's listen-ready hook, recording
// the address each extra transport bound (for the Contact of calls over
// it) and calling any hook ctx already carried.
func (s *Server) watchListen(ctx context.Context) context.Context {
	prev, _ := ctx.Value(sipgo.ListenReadyCtxKey).(sipgo.ListenReadyFuncCtxValue)
	f := sipgo.ListenReadyFuncCtxValue(func(network, addr string) {
		s.life.Lock()
		if s.listening == nil {
			s.listening = map[string]string{}
		}
		s.listening[strings.ToLower(network)] = addr
		s.life.Unlock()
		if prev != nil {
			prev(network, addr)
		}
	})
	return context.WithValue(ctx, sipgo.ListenReadyCtxKey, f) //nolint:staticcheck // sipgo's key
}

// listenPort is the port an extra transport (tls, ws) listens on, 0 if
// none.
func (s *Server) listenPort(network string) int {
	s.life.Lock()
	defer s.life.Unlock()
	_, p, err := net.SplitHostPort(s.listening[network])
	if err != nil {
		return 0
	}
	port, _ := strconv.Atoi(p)
	return port
}

// ListenAndServeTLS serves SIP over TLS on addr (conventionally port
// 5061) with conf, until ctx is cancelled or Close is called. It runs
// beside Serve on the same server: same handlers, same bindings.
func (s *Server) ListenAndServeTLS(ctx context.Context, addr string, conf *tls.Config) error {
	s.startSweep()
	ctx, stop := mergeCancel(s.watchListen(ctx), s.ctx)
	defer stop()
	return s.sip.ListenAndServeTLS(ctx, "tls", addr, conf)
}

// mergeCancel returns a context cancelled when either a or b is done.
func mergeCancel(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// Close stops serving: it closes the listeners, stops the sweep and
// releases the transports. Bindings stay in the store.
func (s *Server) Close() error {
	s.life.Lock()
	if s.closing {
		s.life.Unlock()
		return nil
	}
	s.closing = true
	s.cancel()
	s.mu.RLock()
	if s.b2b != nil {
		s.b2b.trunks.stop() // its background loads
	}
	s.mu.RUnlock()
	var errs []error
	if s.udp != nil {
		errs = append(errs, s.udp.Close())
	}
	if s.tcp != nil {
		errs = append(errs, s.tcp.Close())
	}
	reg := s.udpReg
	s.life.Unlock()
	s.wg.Wait()
	if reg != nil {
		reg.stop()
	}
	errs = append(errs, s.ua.Close())
	for _, err := range errs {
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	return nil
}
