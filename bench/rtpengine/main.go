// Command rtpbench compares xc5's RTP relay (media/relay) with rtpengine
// for docs/benchmarks.md (issue 13): the same packet load through one
// session of each, and each relay's packets per CPU-second.
//
//	rtpbench -target xc5 -seconds 5
//	rtpbench -target rtpengine -ng 127.0.0.1:22230 -pid $(cat rtpengine.pid) -seconds 5
//
// A sender keeps up to -window packets of 172 bytes (12 header, 160
// PCMU) in flight to the relay's side A, a receiver behind side B counts
// them and hands the window back. The relay under test runs in its own
// process (xc5's in a child of this one, `rtpbench -serve`), so its CPU
// time is read from /proc/PID/stat apart from the load's.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"xc5/media/relay"
)

func main() {
	target := flag.String("target", "xc5", "xc5 or rtpengine")
	ng := flag.String("ng", "127.0.0.1:22230", "rtpengine's ng control address")
	pid := flag.Int("pid", 0, "rtpengine's process id (for its CPU time)")
	seconds := flag.Float64("seconds", 5, "how long to send")
	window := flag.Int("window", 16, "packets in flight")
	rate := flag.Int("rate", 20000, "packets per second to send (0: as fast as the window allows)")
	serve := flag.Bool("serve", false, "internal: run the xc5 relay for -a and -b and print its ports")
	a := flag.String("a", "", "internal: side A's party")
	b := flag.String("b", "", "internal: side B's party")
	flag.Parse()
	if *serve {
		serveXC5(*a, *b)
		return
	}
	src, dst := listen(), listen()
	var toA netip.AddrPort
	var relayPID int
	switch *target {
	case "xc5":
		cmd, port := startXC5(addrOf(src), addrOf(dst))
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		toA, relayPID = port, cmd.Process.Pid
	case "rtpengine":
		toA = setupRTPEngine(*ng, addrOf(src), addrOf(dst))
		relayPID = *pid
	default:
		log.Fatalf("unknown target %q", *target)
	}
	cpu0 := cpuTicks(relayPID)
	n, lost, elapsed := run(src, dst, toA, *window, *rate, time.Duration(*seconds*float64(time.Second)))
	cpu := float64(cpuTicks(relayPID)-cpu0) / 100 // USER_HZ is 100 on Linux
	if *target == "rtpengine" {
		deleteRTPEngine(*ng)
	}
	perCore := 0.0
	if cpu > 0 {
		perCore = float64(n) / cpu
	}
	fmt.Printf("%-9s relayed %d packets in %.2fs: %.0f pkts/s, relay CPU %.2fs (%.0f%% of a core), %.0f pkts per CPU-second, %.0f ns CPU/pkt, lost %d\n",
		*target, n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), cpu, 100*cpu/elapsed.Seconds(), perCore, 1e9*cpu/float64(max(n, 1)), lost)
}

func listen() *net.UDPConn {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// run sends for d at rate packets a second (in bursts every millisecond)
// with at most window packets in flight, and returns what arrived. The receiver wakes the sender after each packet; if
// nothing arrives for 500 ms, what is in flight is taken as lost.
func run(src, dst *net.UDPConn, to netip.AddrPort, window, rate int, d time.Duration) (n, lost int64, elapsed time.Duration) {
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
	start := time.Now()
	end := start.Add(d)
	var sent, gone int64 // gone: given up as lost
	skipped, burst := int64(0), int64(max(rate/1000, 1))
	for ; sent%1024 != 0 || time.Now().Before(end); sent++ {
		if rate > 0 {
			// A sender that fell behind (descheduled) catches up by at most
			// a millisecond's packets: a longer burst is not RTP's shape
			// and trips rtpengine's flood guard.
			for {
				due := int64(time.Since(start).Seconds()*float64(rate)) - skipped
				if due-sent > burst {
					skipped += due - sent - burst
				}
				if sent < due {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		for last := int64(-1); sent-gone-got.Load() >= int64(window); {
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
			log.Fatal(err)
		}
	}
	for last := int64(-1); got.Load() < sent && got.Load() != last; {
		last = got.Load()
		time.Sleep(200 * time.Millisecond)
	}
	elapsed = time.Since(start)
	dst.Close()
	n = got.Load()
	return n, sent - n, elapsed
}

// cpuTicks is utime+stime of pid (all its threads) in clock ticks.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

func startXC5(a, b netip.AddrPort) (*exec.Cmd, netip.AddrPort) {
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(self, "-serve", "-a", a.String(), "-b", b.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	return cmd, netip.MustParseAddrPort(strings.TrimSpace(line))
}

// serveXC5 relays between a and b until stdin closes, and prints the
// address side A's party sends to.
func serveXC5(a, b string) {
	p, err := relay.NewPool(relay.Config{Bind: netip.MustParseAddr("127.0.0.1"), PortMin: 42000, PortMax: 42999})
	if err != nil {
		log.Fatal(err)
	}
	s, err := p.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	s.Side(0).SetRemote(netip.MustParseAddrPort(a))
	s.Side(1).SetRemote(netip.MustParseAddrPort(b))
	fmt.Println(s.Side(0).Local())
	bufio.NewReader(os.Stdin).ReadString('\n')
}
