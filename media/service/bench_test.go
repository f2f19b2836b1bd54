package service

import (
	"bytes"
	"context"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"

	"xc5/media"
)

// BenchmarkMenuLegs runs N concurrent menu legs playing a 60 s prompt and
// measures, at the receiving phones, the p99 gap between RTP packets and
// the process CPU per leg-second over a 5 s window; diago's own playback
// loop (AudioPlayback.Play of the same WAV) is the anchor, with the same
// phones. N is XC5_MEDIA_LEGS (default 50). Run with -benchtime=1x.
func BenchmarkMenuLegs(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("XC5_MEDIA_LEGS")); err == nil && v > 0 {
		n = v
	}
	prompt := toneWAV(1000, 60*time.Second)
	b.Run("xc5", func(b *testing.B) {
		store := newMemStore()
		store.prompts[promptGUID] = prompt
		s := startService(b, store, Timeouts{RTPIdle: time.Hour, FirstDigit: time.Hour})
		measureLegs(b, n, s.Addr(), media.AppMenu, media.Request{Prompt: promptGUID, Keys: []string{"1"}})
	})
	b.Run("diago-playback", func(b *testing.B) {
		addr := anchorServer(b, prompt)
		measureLegs(b, n, addr, "play", media.Request{})
	})
}

// anchorServer is a diago server that answers and plays wavData with
// diago's playback loop.
func anchorServer(b *testing.B, wavData []byte) string {
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("anchor"))
	if err != nil {
		b.Fatal(err)
	}
	dg := diago.NewDiago(ua, diago.WithLogger(testLog(b)),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: 0}))
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(func() { cancel(); ua.Close() })
	err = dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {
		med, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			return
		}
		pb, err := med.PlaybackCreate()
		if err != nil {
			return
		}
		_, _ = pb.Play(bytes.NewReader(wavData), "audio/wav")
	})
	if err != nil {
		b.Fatal(err)
	}
	for range 200 {
		if ports := ua.TransportLayer().ListenPorts("udp"); len(ports) > 0 {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Fatal("anchor not listening")
	return ""
}

func measureLegs(b *testing.B, n int, addr, app string, r media.Request) {
	p := newPhone(b)
	calls := make([]*phoneCall, n)
	for i := range calls {
		calls[i] = p.callAddr(b, addr, app, r)
		calls[i].quiet.Store(true)
	}
	time.Sleep(time.Second) // settle
	start := make([]int, n)
	for i, c := range calls {
		c.mu.Lock()
		start[i] = len(c.times)
		c.mu.Unlock()
	}
	window := 5 * time.Second
	cpu0 := cpuTime()
	b.ResetTimer()
	time.Sleep(window)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	var gaps []float64
	packets := 0
	for i, c := range calls {
		c.mu.Lock()
		ts := c.times[start[i]:]
		for j := 1; j < len(ts); j++ {
			gaps = append(gaps, float64(ts[j]-ts[j-1])/1e6)
		}
		packets += len(ts)
		c.mu.Unlock()
	}
	slices.Sort(gaps)
	if len(gaps) == 0 {
		b.Fatal("no packets")
	}
	b.ReportMetric(gaps[len(gaps)*99/100], "p99_gap_ms")
	b.ReportMetric(gaps[len(gaps)-1], "max_gap_ms")
	b.ReportMetric(float64(packets)/float64(n)/window.Seconds(), "pps/leg")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n)/window.Seconds(), "cpu_ms/leg-s")
	for _, c := range calls {
		c.close()
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
