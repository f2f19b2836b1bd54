package sipserver

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/resource"
)

// TestCarrierByeFromAnotherTrunkAddress: a carrier's SBC cluster sends
// the INVITE from one node (127.0.0.1) and the BYE from another
// (127.0.0.2); both are addresses of its trunk, so the BYE ends the call
// and reaches the phone that answered. A BYE with the same dialog from an
// address that is not the trunk's (127.0.0.3) is a dialog that does not
// exist (481) and the call goes on.
func TestCarrierByeFromAnotherTrunkAddress(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.put(resource.Trunk, "", "", `{"name":"carrier","address":"127.0.0.1,127.0.0.2","port":0,"priority":1}`, resource.Create)
	a := x.answeredCall()

	if got := byeFrom(t, x, a, "127.0.0.3", 1); got != sip.StatusCallTransactionDoesNotExists {
		t.Fatalf("BYE from an address outside the trunk: %d, want 481", got)
	}
	if a.rec.saw("BYE", 500*time.Millisecond) {
		t.Fatal("a BYE from outside the trunk hung up the phone")
	}
	if got := byeFrom(t, x, a, "127.0.0.2", 2); got != sip.StatusOK {
		t.Fatalf("BYE from the trunk's other address: %d, want 200", got)
	}
	if !a.rec.saw("BYE", 3*time.Second) {
		t.Fatal("the carrier's BYE from its other node did not reach reception")
	}
	x.idle()
}

// byeFrom sends the carrier's in-dialog BYE of call a from a UDP socket
// on host, its CSeq step after the INVITE's, and returns the status of
// the final answer.
func byeFrom(t *testing.T, x *pbx, a *answeredCall, host string, step uint32) int {
	t.Helper()
	conn, err := net.ListenPacket("udp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	d := a.out.dlg
	seq := d.InviteRequest.CSeq().SeqNo + step
	from, to, cid := d.InviteRequest.From().Value(), d.InviteResponse.To().Value(), d.InviteRequest.CallID().Value()
	msg := fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bye%d\r\nMax-Forwards: 70\r\n"+
		"From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d BYE\r\nContent-Length: 0\r\n\r\n",
		d.InviteResponse.Contact().Address.String(), conn.LocalAddr(), seq, from, to, cid, seq)
	dst, err := net.ResolveUDPAddr("udp", x.srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteTo([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no answer to the BYE from %s: %v", host, err)
		}
		var code int
		if _, err := fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code); err == nil && code >= 200 {
			return code
		}
		if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 1") {
			t.Fatalf("unexpected message: %q", buf[:n])
		}
	}
}
