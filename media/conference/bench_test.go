package conference

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"xc5/internal/audiotest"
)

type discard struct{}

func (discard) WriteFrame(*Frame) error { return nil }

// BenchmarkTick is the mixer's own cost: one tick of a room whose members
// all talk (each pushes a frame of its own tone per tick, half PCMU and
// half PCMA), without the network. ns/member is the CPU per member per
// 20 ms.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{3, 20, 50} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := NewRoom(Config{})
			ms := make([]*Member, n)
			frames := make([][]byte, n)
			for i := range ms {
				c := PCMU
				if i%2 == 1 {
					c = PCMA
				}
				ms[i] = r.Join(c, discard{})
				frames[i] = encodeFrame(audiotest.Tone(float64(300+50*i), 8000, FrameSamples, 0.1), c)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for k := range b.N {
				for i, m := range ms {
					m.Push(uint8(m.codec), uint32(k*FrameSamples), frames[i])
				}
				r.Tick()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
		})
	}
}

// echoSink feeds its member a frame of tone for every frame the member is
// sent, so that every member talks without a goroutine of its own.
type echoSink struct {
	m     *Member
	frame []byte
	ts    uint32
}

func (e *echoSink) WriteFrame(*Frame) error {
	if e.m != nil {
		e.m.Push(uint8(e.m.codec), e.ts, e.frame)
		e.ts += FrameSamples
	}
	return nil
}

// BenchmarkRealtime runs rooms on their own clocks in real time, with
// in-process frames (every member talks; no network) for XC5_CONF_SECONDS
// (default 5 s), and
// reports the share of ticks that started more than 5 ms late, the
// latest, and the CPU of the mixing per member-second. Run with
// -benchtime=1x.
func BenchmarkRealtime(b *testing.B) {
	window := 5 * time.Second
	if v, err := strconv.Atoi(os.Getenv("XC5_CONF_SECONDS")); err == nil && v > 0 {
		window = time.Duration(v) * time.Second
	}
	for _, tc := range []struct{ rooms, members int }{{1, 20}, {50, 3}} {
		b.Run(fmt.Sprintf("%drooms_x%d", tc.rooms, tc.members), func(b *testing.B) {
			rooms := make([]*Room, tc.rooms)
			for i := range rooms {
				rooms[i] = NewRoom(Config{})
				for j := range tc.members {
					e := &echoSink{frame: encodeFrame(audiotest.Tone(float64(300+50*j), 8000, FrameSamples, 0.1), PCMU)}
					e.m = rooms[i].Join(PCMU, e)
				}
			}
			b.ResetTimer()
			for _, r := range rooms {
				r.Start()
			}
			time.Sleep(window)
			var t Stats
			for _, r := range rooms {
				r.Close()
				s := r.Stats()
				t.Ticks, t.Late, t.Busy = t.Ticks+s.Ticks, t.Late+s.Late, t.Busy+s.Busy
				t.MaxLate = max(t.MaxLate, s.MaxLate)
			}
			n := float64(tc.rooms * tc.members)
			b.ReportMetric(100*float64(t.Late)/float64(t.Ticks), "late_%")
			b.ReportMetric(float64(t.MaxLate)/1e6, "max_late_ms")
			b.ReportMetric(float64(t.Busy.Microseconds())/1000/n/window.Seconds(), "mix_ms/member-s")
		})
	}
}
