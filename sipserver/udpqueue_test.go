package sipserver

import (
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestStaleRequestsDropped: requests that start new work and waited in the
// socket's buffer longer than MaxQueueWait are dropped before parsing;
// responses, requests within dialogs and fresh requests are read.
func TestStaleRequestsDropped(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("receive timestamps are read on Linux only")
	}
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var dropped atomic.Int64
	c := withStaleDrop(srv, time.Second, &dropped)
	if _, ok := c.(*staleConn); !ok {
		t.Fatal("no receive timestamps on this socket")
	}
	phone := rawUDP(t, "127.0.0.1:0")
	send := func(m string) {
		if _, err := phone.WriteToUDP([]byte(m), srv.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	// Linux turns receive timestamps on for the first socket that asks
	// from a work queue, a moment later; until then datagrams are stamped
	// when read. Wait until a datagram's stamp shows its wait.
	for try := 0; ; try++ {
		send("SIP/2.0 100 Probe\r\n\r\n")
		time.Sleep(20 * time.Millisecond)
		buf, oob := make([]byte, 2048), make([]byte, 128)
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, oobn, _, _, err := srv.ReadMsgUDP(buf, oob)
		if err != nil {
			t.Fatal(err)
		}
		if at, ok := recvTime(oob[:oobn]); ok && time.Since(at) >= 20*time.Millisecond {
			break
		}
		if try == 100 {
			t.Fatal("datagrams are not stamped with their receive time")
		}
	}
	msg := func(first, to string) string {
		return first + "\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n" + to +
			"\r\nCall-ID: x\r\nCSeq: 1 X\r\nContent-Length: 0\r\n\r\n"
	}
	stale := []string{
		msg("REGISTER sip:acmebrick.x.co.nz SIP/2.0", "To: <sip:a@b>"),
		msg("OPTIONS sip:acmebrick.x.co.nz SIP/2.0", "To: <sip:a@b>"),
		msg("INVITE sip:100@acmebrick.x.co.nz SIP/2.0", "To: <sip:100@b>"),
		msg("INVITE sip:100@acmebrick.x.co.nz SIP/2.0", "t: <sip:100@b>;x=1"),
	}
	kept := []string{
		msg("INVITE sip:100@acmebrick.x.co.nz SIP/2.0", "To: <sip:100@b>;tag=2"), // a re-INVITE
		msg("INVITE sip:100@acmebrick.x.co.nz SIP/2.0", "t: <sip:100@b> ;Tag=2"),
		msg("BYE sip:100@acmebrick.x.co.nz SIP/2.0", "To: <sip:100@b>;tag=2"),
		msg("ACK sip:100@acmebrick.x.co.nz SIP/2.0", "To: <sip:100@b>;tag=2"),
		msg("SIP/2.0 180 Ringing", "To: <sip:100@b>;tag=2"),
	}
	for i := range stale {
		send(stale[i])
		send(kept[i])
	}
	send(kept[4])
	time.Sleep(1100 * time.Millisecond) // all of them waited longer than MaxQueueWait
	fresh := msg("REGISTER sip:acmebrick.x.co.nz SIP/2.0", "To: <sip:fresh@b>")
	send(fresh)
	buf := make([]byte, 2048)
	var got []string
	for range len(kept) + 1 {
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d reads: %v", len(got), err)
		}
		got = append(got, string(buf[:n]))
	}
	for i, want := range append(kept, fresh) {
		if got[i] != want {
			t.Errorf("read %d: %q, want %q", i, firstLine(got[i]), firstLine(want))
		}
	}
	if n := dropped.Load(); n != int64(len(stale)) {
		t.Errorf("%d dropped, want %d", n, len(stale))
	}
}

func firstLine(m string) string {
	first, _, _ := strings.Cut(m, "\r\n")
	return first
}
