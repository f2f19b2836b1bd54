package sipserver

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// rawUDP is a bare UDP socket bound to local ("127.0.0.1:0"), for tests
// that count datagrams: sipgo's client would absorb retransmissions.
func rawUDP(t testing.TB, local string) *net.UDPConn {
	t.Helper()
	la, err := net.ResolveUDPAddr("udp", local)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		t.Skipf("cannot bind %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawRequest is a request as a phone would send it from c: method to
// ruri, From and To user@domain, the Via with branch.
func rawRequest(c *net.UDPConn, method, ruri, aor, branch string, extra ...string) []byte {
	la := c.LocalAddr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n", la, branch)
	fmt.Fprintf(&b, "From: <sip:%s>;tag=%s\r\nTo: <sip:%s>\r\n", aor, branch, aor)
	fmt.Fprintf(&b, "Call-ID: %s@test\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\n", branch, method)
	fmt.Fprintf(&b, "Contact: <sip:%s>\r\n", la)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(b.String())
}

// countResponses reads what arrives on c for d and counts the responses
// by status line ("SIP/2.0 407 ...").
func countResponses(c *net.UDPConn, d time.Duration) map[string]int {
	got := map[string]int{}
	buf := make([]byte, 65535)
	deadline := time.Now().Add(d)
	for {
		c.SetReadDeadline(deadline)
		n, err := c.Read(buf)
		if err != nil {
			return got
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if strings.HasPrefix(line, "SIP/2.0 ") {
			got[strings.Fields(line)[1]]++
		}
	}
}

// TestUnauthenticatedInviteNotAmplified: an INVITE without credentials
// that is never ACKed draws one 407, not the INVITE transaction's
// retransmissions (the second would come 500 ms after the first, the
// third a second later). A retransmission of the INVITE draws one more at
// most. A refusal before authentication (a missing Contact) is stateless
// the same way.
func TestUnauthenticatedInviteNotAmplified(t *testing.T) {
	x := newPBX(t, Config{})
	ruri := "sip:608@" + x.srv.addr
	dst, _ := net.ResolveUDPAddr("udp", x.srv.addr)
	for _, tc := range []struct {
		name  string
		sends int
		drop  string // a header line the request goes without
		code  string
	}{
		{"one INVITE", 1, "", "407"},
		{"INVITE retransmitted once", 2, "", "407"},
		{"no Contact", 1, "Contact:", "400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := rawUDP(t, "127.0.0.1:0")
			msg := string(rawRequest(c, "INVITE", ruri, reception, "amp"+strings.ReplaceAll(tc.name, " ", "")))
			if tc.drop != "" {
				i := strings.Index(msg, tc.drop)
				j := i + strings.Index(msg[i:], "\r\n") + 2
				msg = msg[:i] + msg[j:]
			}
			for i := 0; i < tc.sends; i++ {
				if _, err := c.WriteToUDP([]byte(msg), dst); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			got := countResponses(c, 2500*time.Millisecond)
			if got[tc.code] < 1 || got[tc.code] > tc.sends || len(got) != 1 {
				t.Fatalf("%d INVITE(s), never ACKed, drew %v in 2.5 s; want 1 to %d %s", tc.sends, got, tc.sends, tc.code)
			}
		})
	}
}
