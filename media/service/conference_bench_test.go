package service

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/media"
	"xc5/media/conference"
)

// BenchmarkConference runs conference rooms in real time with real SIP and
// RTP over loopback: every member is a diago phone in this process sending
// its own tone, and the service mixes. Over a window (XC5_CONF_SECONDS,
// default 10 s) it reports the share of room clock ticks that started more
// than 5 ms late, the latest tick, the mixer's own time per tick, and the
// process CPU (getrusage: phones, legs and mixer together) per member-second.
// Run with -benchtime=1x.
func BenchmarkConference(b *testing.B) {
	window := 10 * time.Second
	if v, err := strconv.Atoi(os.Getenv("XC5_CONF_SECONDS")); err == nil && v > 0 {
		window = time.Duration(v) * time.Second
	}
	for _, tc := range []struct{ rooms, members int }{{1, 20}, {50, 3}} {
		b.Run(fmt.Sprintf("%drooms_x%d", tc.rooms, tc.members), func(b *testing.B) {
			benchRooms(b, tc.rooms, tc.members, window)
		})
	}
}

func benchRooms(b *testing.B, rooms, members int, window time.Duration) {
	s := startService(b, newMemStore(), Timeouts{RTPIdle: time.Hour})
	p := newPhone(b)
	var calls []*phoneCall
	for r := range rooms {
		for m := range members {
			c := p.call(b, s, media.AppConference, media.Request{Room: fmt.Sprint(1000 + r)})
			c.say(audiotest.Tone(float64(300+100*m), 8000, 8000*int(window/time.Second+30), 0.1))
			calls = append(calls, c)
		}
	}
	for range 400 {
		if s.Rooms() == rooms && s.RoomMembers("1000") == members {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if s.Rooms() != rooms {
		b.Fatalf("%d rooms", s.Rooms())
	}
	time.Sleep(2 * time.Second) // settle
	before := roomStats(s)
	cpu0 := cpuTime()
	b.ResetTimer()
	time.Sleep(window)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	after := roomStats(s)
	ticks, late := after.Ticks-before.Ticks, after.Late-before.Late
	if ticks == 0 {
		b.Fatal("no ticks")
	}
	n := float64(rooms * members)
	b.ReportMetric(100*float64(late)/float64(ticks), "late_%")
	b.ReportMetric(float64(after.MaxLate)/1e6, "max_late_ms")
	b.ReportMetric(float64(after.Skipped-before.Skipped), "skipped")
	b.ReportMetric(float64((after.Busy-before.Busy).Microseconds())/float64(ticks), "mix_us/tick")
	b.ReportMetric(float64(cpu.Microseconds())/1000/n/window.Seconds(), "cpu_ms/member-s")
	for _, c := range calls {
		c.close()
	}
}

// roomStats sums the clocks' counters of the service's rooms (MaxLate is
// the latest of all, since each room started).
func roomStats(s *Service) conference.Stats {
	s.rooms.mu.Lock()
	defer s.rooms.mu.Unlock()
	var t conference.Stats
	for _, r := range s.rooms.rooms {
		st := r.Stats()
		t.Ticks += st.Ticks
		t.Late += st.Late
		t.Skipped += st.Skipped
		t.Busy += st.Busy
		t.MaxLate = max(t.MaxLate, st.MaxLate)
	}
	return t
}
