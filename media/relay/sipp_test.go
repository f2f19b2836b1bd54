package relay

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/internal/rtptest"
)

// sippDTMF is a UAC scenario that calls, plays sipp's RFC 4733 captures
// of 1, 2 and # to the media address of the answer, and hangs up.
const sippDTMF = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="relay dtmf">
<send retrans="500"><![CDATA[
INVITE sip:relay@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:sipp@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:relay@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=- 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
]]></send>
<recv response="200" rtd="true"/>
<send><![CDATA[
ACK sip:relay@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:sipp@[local_ip]:[local_port]>;tag=[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
%s
<pause milliseconds="300"/>
<send retrans="500"><![CDATA[
BYE sip:relay@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:sipp@[local_ip]:[local_port]>;tag=[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
`

// TestDTMFSipp has sipp itself play its DTMF captures into the relay,
// as the phone of a call: the way xc5's end-to-end tests send digits.
func TestDTMFSipp(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	dir := ""
	for _, d := range []string{"/usr/share/sip-tester/pcap", "/usr/share/sip-tester"} {
		if _, err := os.Stat(filepath.Join(d, "dtmf_2833_1.pcap")); err == nil {
			dir = d
		}
	}
	if err != nil || dir == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("sipp or its DTMF pcaps are missing (install sip-tester)")
		}
		t.Skip("sipp or its DTMF pcaps are not installed")
	}
	p := newPool(t, 32400, 32499)
	s := open(t, p)
	b := rtptest.Listen(t)
	s.Side(1).SetRemote(b.Addr())
	got := digitsOf(s, 0)

	plays := ""
	for _, name := range []string{"1", "2", "pound"} {
		plays += fmt.Sprintf(`<nop><action><exec play_pcap_audio="%s"/></action></nop>
<pause milliseconds="400"/>
`, filepath.Join(dir, "dtmf_2833_"+name+".pcap"))
	}
	scen := filepath.Join(t.TempDir(), "dtmf.xml")
	if err := os.WriteFile(scen, []byte(fmt.Sprintf(sippDTMF, plays)), 0o644); err != nil {
		t.Fatal(err)
	}
	uas := answerer(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, uas.String(), "-sf", scen, "-m", "1", "-i", "127.0.0.1",
		"-p", fmt.Sprint(freePort(t)), "-mp", fmt.Sprint(freePort(t)), "-nostdin", "-timeout", "25s", "-timeout_error")
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, lastLines(string(out), 15))
	}
	poll.Until(t, 5*time.Second, "the digits reported", func() bool { return len(got()) >= 3 })
	if got() != "12#" {
		t.Errorf("reported %q, want \"12#\"", got())
	}
	if b.Digits() != "12#" {
		t.Errorf("the callee received %q, want the events relayed", b.Digits())
	}
}

// answerer is the far end of sipp's call: it answers the INVITE with the
// relay's side 0 in its SDP, and the BYE with 200.
func answerer(t *testing.T, s *Session) netip.AddrPort {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 8192)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			head, body, _ := strings.Cut(msg, "\r\n\r\n")
			var sdp string
			switch {
			case strings.HasPrefix(msg, "INVITE "):
				if a, err := SDPAddr([]byte(body)); err == nil {
					s.Side(0).SetRemote(a)
				}
				sdp = string(RewriteSDP([]byte(body), s.Side(0).Local()))
			case strings.HasPrefix(msg, "BYE "):
			default:
				continue
			}
			c.WriteToUDPAddrPort([]byte(response(head, sdp)), from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// response is a 200 OK to the request whose header is head.
func response(head, sdp string) string {
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "from", "call-id", "cseq":
			b.WriteString(l + "\r\n")
		case "to":
			b.WriteString(l + ";tag=relaytest\r\n")
		}
	}
	b.WriteString("Contact: <sip:relay@127.0.0.1>\r\n")
	if sdp != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(sdp), sdp)
	return b.String()
}

func freePort(t *testing.T) int {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return int(c.LocalAddr().(*net.UDPAddr).Port)
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}
