//go:build unix

package relay

import (
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRelay measures RTP packets per second through one session over
// loopback: a sender keeps up to 32 packets of 172 bytes (12 header, 160
// PCMU) in flight towards side 0, a receiver behind side 1 counts them.
// cpu-ns/pkt is the process's CPU (getrusage) per relayed packet, sender
// and receiver included; BenchmarkLoopback is the same load without the
// relay, so the difference is what the relay costs.
func BenchmarkRelay(b *testing.B) {
	p := newPool(b, 32100, 32199)
	s := open(b, p)
	src, dst := udpConn(b), udpConn(b)
	s.Side(0).SetRemote(addrOf(src))
	s.Side(1).SetRemote(addrOf(dst))
	blast(b, src, s.Side(0).Local(), dst)
	if st := s.Stats(); st.Dropped != 0 {
		b.Logf("relay dropped %d", st.Dropped)
	}
}

// BenchmarkLoopback is BenchmarkRelay's load sent straight to the
// receiver: the floor the relay is compared with.
func BenchmarkLoopback(b *testing.B) {
	src, dst := udpConn(b), udpConn(b)
	blast(b, src, addrOf(dst), dst)
}

func udpConn(b *testing.B) *net.UDPConn {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// blast sends b.N packets with at most 32 in flight (rtpengine, which
// bench/rtpengine compares, reads at most 50 a wake-up). The receiver
// wakes the sender after each packet, so neither spins; if nothing
// arrives for 500 ms, what is in flight is taken as lost.
func blast(b *testing.B, src *net.UDPConn, to netip.AddrPort, dst *net.UDPConn) {
	const window = 32
	var got atomic.Int64
	wake := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := dst.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			got.Add(1)
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}()
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	stall := time.NewTicker(500 * time.Millisecond)
	defer stall.Stop()
	b.ReportAllocs()
	cpu0, t0 := cpuTime(), time.Now()
	b.ResetTimer()
	var sent, gone int64
	for ; sent < int64(b.N); sent++ {
		for last := int64(-1); sent-gone-got.Load() >= window; {
			select {
			case <-wake:
			case <-stall.C:
				if g := got.Load(); g == last {
					gone = sent - g
				} else {
					last = g
				}
			}
		}
		pkt[3]++
		if _, err := src.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
	}
	for got.Load() < sent && !stalled(&got, 200*time.Millisecond) {
	}
	b.StopTimer()
	elapsed, cpu, n := time.Since(t0), cpuTime()-cpu0, got.Load()
	dst.Close()
	if n == 0 {
		b.Fatal("nothing arrived")
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/pkt")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/pkt")
	b.ReportMetric(100*float64(sent-n)/float64(sent), "%lost")
}

// stalled reports whether got stays the same for d.
func stalled(got *atomic.Int64, d time.Duration) bool {
	before := got.Load()
	time.Sleep(d)
	return got.Load() == before
}
