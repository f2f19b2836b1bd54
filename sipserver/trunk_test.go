package sipserver

import (
	"net"
	"strconv"
	"testing"
	"time"

	"xc5/resource"
)

// TestTrunkSourcePort: a carrier is recognised by its address and its UDP
// port. From the trunk's address but another port, an INVITE is refused
// with 403 before any routing, and no phone rings; from the trunk's port
// (or with port 0, any port) it is let in.
func TestTrunkSourcePort(t *testing.T) {
	x := newPBX(t, Config{})
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.reject(486, "Busy Here") })
	car := x.carrier("6421555000")
	_, p, _ := net.SplitHostPort(car.addr)
	port, _ := strconv.Atoi(p)
	other := port + 1
	if other > 65535 {
		other = port - 1
	}
	x.put(resource.Trunk, "", "", `{"name":"carrier","address":"127.0.0.1","port":`+strconv.Itoa(other)+`}`, resource.Create)
	for _, c := range []struct {
		port, code, rang int
		why              string
	}{
		{other, 403, 0, "from the trunk's address, another port"},
		{port, 486, 1, "from the trunk's port"},
		{0, 486, 2, "trunk on any port"},
		{5060, 403, 2, "trunk on the default port"},
	} {
		x.put(resource.Trunk, "", "carrier", `{"port":`+strconv.Itoa(c.port)+`}`, resource.Patch)
		if c.port == 5060 {
			// The default, as a trunk written without a port gets it.
			x.put(resource.Trunk, "", "", `{"name":"default","address":"127.0.0.1"}`, resource.Create)
			x.put(resource.Trunk, "", "carrier", `{"enabled":false}`, resource.Patch)
		}
		res := car.dial("6499290089").result(3 * time.Second)
		if res.StatusCode != c.code {
			t.Errorf("%s: %d %s, want %d", c.why, res.StatusCode, res.Reason, c.code)
		}
		x.idle()
		if n := sal.count("INVITE"); n != c.rang {
			t.Errorf("%s: sales was rung %d times in all, want %d", c.why, n, c.rang)
		}
	}
	if n := len(x.cdrs(sales, 2)); n != 2 {
		t.Errorf("sales has %d CDRs, want 2 (refused INVITEs write none)", n)
	}
}

// TestTrunkInboundAuth: a trunk with inbound_auth challenges its
// carrier's INVITE with 407, lets in an answer made with the trunk's
// username and password, and refuses a wrong one with 403, ringing no
// phone; many wrong ones do not lock the carrier out.
func TestTrunkInboundAuth(t *testing.T) {
	x := newPBX(t, Config{AuthFailures: 20}) // the registrar's default limit, on
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.reject(486, "Busy Here") })
	x.put(resource.Trunk, "", "", `{"name":"carrier","address":"127.0.0.1","port":0,"inbound_auth":true,"username":"xc5-in","password":"carrier-pw"}`, resource.Create)
	for _, c := range []struct {
		why        string
		user, pw   string
		code, rang int
	}{
		{"no credentials", "", "", 407, 0},
		{"wrong password", "xc5-in", "guess", 403, 0},
		{"the trunk's credentials", "xc5-in", "carrier-pw", 486, 1},
	} {
		car := x.carrier("6421555000")
		car.authUser, car.password = c.user, c.pw
		res := car.dial("6499290089").result(3 * time.Second)
		if res.StatusCode != c.code {
			t.Errorf("%s: %d %s, want %d", c.why, res.StatusCode, res.Reason, c.code)
		}
		if c.code == 407 && res.GetHeader("Proxy-Authenticate") == nil {
			t.Errorf("%s: 407 without Proxy-Authenticate", c.why)
		}
		x.idle()
		if n := sal.count("INVITE"); n != c.rang {
			t.Errorf("%s: sales was rung %d times in all, want %d", c.why, n, c.rang)
		}
	}
	// Bad answers from the carrier's address (anyone forging it) do not
	// lock the carrier out, as the per-address failure limit would.
	for range 25 {
		car := x.carrier("6421555000")
		car.authUser, car.password = "xc5-in", "guess"
		if res := car.dial("6499290089").result(3 * time.Second); res.StatusCode != 403 {
			t.Fatalf("wrong password: %d %s, want 403", res.StatusCode, res.Reason)
		}
	}
	car := x.carrier("6421555000")
	car.authUser, car.password = "xc5-in", "carrier-pw"
	if res := car.dial("6499290089").result(3 * time.Second); res.StatusCode != 486 {
		t.Errorf("the carrier after 25 wrong answers from its address: %d %s, want 486", res.StatusCode, res.Reason)
	}
	x.idle()
	// Phones on the carrier's address still authenticate as themselves.
	rec := x.phone(reception, password, "UDP")
	if res := rec.dial("608").result(3 * time.Second); res.StatusCode != 486 {
		t.Errorf("a phone on the trunk's address: %d %s, want 486", res.StatusCode, res.Reason)
	}
	x.idle()
}
