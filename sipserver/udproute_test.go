package sipserver

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRegisterUDPRportValueIgnored: a Via whose rport already carries a
// value (RFC 3581 §3: a client MUST NOT send one) is routed as sipgo routes
// it and as docs/sip.md says: the source address at the Via's port (it was
// sent to the port the rport value named).
func TestRegisterUDPRportValueIgnored(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1}, store)
	send, viaPort, other := rawUDP(t, "127.0.0.1:0"), rawUDP(t, "127.0.0.1:0"), rawUDP(t, "127.0.0.1:0")
	dst, _ := net.ResolveUDPAddr("udp", srv.addr)
	otherPort := strconv.Itoa(other.LocalAddr().(*net.UDPAddr).Port)
	req := rawRequest(send, "REGISTER", rawRURI, reception, "rportval")
	req = bytes.Replace(req, []byte(send.LocalAddr().String()+";branch=z9hG4bKrportval;rport"),
		[]byte(viaPort.LocalAddr().String()+";branch=z9hG4bKrportval;rport="+otherPort), 1)
	send.WriteToUDP(req, dst)
	if got := readRaw(viaPort, 3*time.Second); !bytes.HasPrefix(got, []byte("SIP/2.0 401 ")) {
		t.Errorf("rport with a value: nothing at the Via's port (%q)", got)
	}
	if got := readRaw(other, 200*time.Millisecond); got != nil {
		t.Errorf("rport with a value: the response went to the port the client named in rport: %q", reviewFirstLine(got))
	}
}

func reviewFirstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\r\n")
	return s
}

// TestRegisterUDPReusedBranchNewCSeq: a UA that wrongly reuses a Via
// branch for its next REGISTER (a new CSeq) gets that REGISTER answered,
// not the earlier one's kept response (which names the old CSeq).
func TestRegisterUDPReusedBranchNewCSeq(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: -1, SourceRate: -1, DigestAlgorithms: []string{"MD5"}}, store)
	p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	authed, _ := registerRaw(t, p)
	i := bytes.Index(authed, []byte("\r\nCSeq: "))
	j := bytes.Index(authed[i+2:], []byte("\r\n"))
	next := append(append(append([]byte{}, authed[:i]...), "\r\nCSeq: 99 REGISTER"...), authed[i+2+j:]...)
	p.c.WriteToUDP(next, p.dst)
	again := readRaw(p.c, 5*time.Second)
	if !bytes.Contains(again, []byte("CSeq: 99 REGISTER")) {
		t.Fatalf("REGISTER with a reused branch and CSeq 99 answered\n%s", again)
	}
}
