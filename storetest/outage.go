package storetest

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"xc5/sqlstore"
)

// Outage is a PostgreSQL test database that a test can take away from
// the store under test, for real, without touching the shared server:
// the store reaches it through a loopback TCP proxy that Cut drops (every
// connection closed, new ones refused) and Restore brings back, and its
// sessions carry an application_name of their own, so that Terminate
// ends exactly them (as pg_terminate_backend does when an operator or a
// failover kills sessions).
type Outage struct {
	// URL is the store's URL: through the proxy, in the test's schema.
	URL string
	// Direct reaches the same schema without the proxy, for checks.
	Direct string
	// Schema names the test's schema; every session of the store (its
	// feed's too) has it in its application_name.
	Schema string
	proxy  *proxy
	admin  *sql.DB
}

// PostgresOutage makes a fresh database (as PostgresURL) behind a proxy.
// Without PostgreSQL it skips the test, but fails it under CI.
func PostgresOutage(t testing.TB) *Outage {
	RequirePostgres(t)
	direct := PostgresURL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	o := &Outage{Direct: direct, Schema: u.Query().Get("search_path")}
	if o.proxy, err = newProxy(u.Host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.proxy.close)
	q := u.Query()
	q.Set("application_name", "xc5 test "+o.Schema)
	u.RawQuery = q.Encode()
	u.Host = o.proxy.addr
	o.URL = u.String()
	if o.admin, err = sql.Open("pgx", direct); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.admin.Close() })
	return o
}

// Cut drops every connection through the proxy and refuses new ones.
func (o *Outage) Cut() { o.proxy.cut() }

// Stall stops the traffic through the proxy without closing anything, as
// a network that drops packets does: what is sent waits (in the proxy)
// until Resume, and new connections are accepted but go nowhere.
func (o *Outage) Stall() { o.proxy.setStalled(true) }

// Resume lets the traffic through again, what waited first.
func (o *Outage) Resume() { o.proxy.setStalled(false) }

// Restore accepts connections again.
func (o *Outage) Restore(t testing.TB) {
	t.Helper()
	if err := o.proxy.restore(); err != nil {
		t.Fatal(err)
	}
}

// Terminate ends every session of the store under test on the server
// and returns how many there were.
func (o *Outage) Terminate(t testing.TB) int {
	t.Helper()
	var n int
	err := o.admin.QueryRowContext(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name LIKE '%' || $1 AND pid <> pg_backend_pid()`, o.Schema).Scan(&n)
	if err != nil {
		t.Fatalf("terminate the store's sessions: %v", err)
	}
	return n
}

// proxy is a loopback TCP proxy to target that can be cut and restored
// on the same address.
type proxy struct {
	addr, target string

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	// gate is closed while traffic flows; while stalled, a new open one
	// that the forwarding goroutines wait on.
	gate chan struct{}
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}, gate: make(chan struct{})}
	close(p.gate)
	p.serve(ln)
	return p, nil
}

// serve accepts on ln until it is closed.
func (p *proxy) serve(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

// flowing waits until traffic is not stalled.
func (p *proxy) flowing() {
	p.mu.Lock()
	g := p.gate
	p.mu.Unlock()
	<-g
}

func (p *proxy) setStalled(stalled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate: // flowing
		if stalled {
			p.gate = make(chan struct{})
		}
	default:
		if !stalled {
			close(p.gate)
		}
	}
}

// pipe joins a client to a new connection to the target.
func (p *proxy) pipe(c net.Conn) {
	p.flowing()
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	copyHalf := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.flowing()
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go copyHalf(s, c)
	go copyHalf(c, s)
	<-done
	c.Close()
	s.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

func (p *proxy) cut() {
	p.setStalled(false) // what waits fails on the closed connections
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("proxy closed")
	}
	if p.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.serve(ln)
	return nil
}

func (p *proxy) close() {
	p.cut()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// Open opens the store under test at the outage's URL, bootstrapped with
// adminPassword, and closes it when the test ends.
func (o *Outage) Open(t testing.TB, adminPassword string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenPostgres(context.Background(), o.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Bootstrap(context.Background(), adminPassword); err != nil {
		t.Fatal(err)
	}
	return s
}

// RequirePostgres returns XC5_TEST_POSTGRES for a test that needs
// PostgreSQL: without it the test is skipped on a laptop, and fails under
// CI, which must run every PostgreSQL test.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(EnvPostgres + " is not set; CI must run the PostgreSQL tests")
		}
		t.Skip("set " + EnvPostgres + " to run the PostgreSQL tests")
	}
	return base
}
