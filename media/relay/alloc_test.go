package relay

import (
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// The packet path allocates nothing: relaying 2,000 packets may cost the
// whole process (relay, sender, receiver) no more than a few dozen
// allocations from the runtime's own bookkeeping.
func TestRelayDoesNotAllocate(t *testing.T) {
	p := newPool(t, 32300, 32399)
	s := open(t, p)
	conn := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	src, dst := conn(), conn()
	s.Side(0).SetRemote(src.LocalAddr().(*net.UDPAddr).AddrPort())
	s.Side(1).SetRemote(dst.LocalAddr().(*net.UDPAddr).AddrPort())
	var got atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := dst.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	to := s.Side(0).Local()
	send := func(n int64) {
		start := got.Load()
		for i := range n {
			for got.Load() < start+i-16 { // a few in flight, none lost
				runtime.Gosched()
			}
			src.WriteToUDPAddrPort(pkt, to)
		}
		for deadline := time.Now().Add(10 * time.Second); got.Load() < start+n && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	send(100) // warm up: latching allocates, once
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	send(2000)
	runtime.ReadMemStats(&after)
	if got.Load() != 2100 {
		t.Fatalf("%d of 2100 packets arrived", got.Load())
	}
	if n := after.Mallocs - before.Mallocs; n > 100 {
		t.Errorf("%d allocations for 2,000 packets relayed", n)
	}
}
