package relay

import (
	"os"
	"runtime"
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/internal/rtptest"
)

func openFDs(t *testing.T) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(fds)
}

// Opening and closing a thousand sessions leaves no socket, goroutine or
// port behind.
func TestOpenCloseNoLeak(t *testing.T) {
	p := newPool(t, 32000, 32011) // 6 pairs: ports must be freed for this to go on
	e := rtptest.Listen(t)
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	fds, gs := openFDs(t), runtime.NumGoroutine()
	for i := range 1000 {
		s, err := p.Open()
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i%2 == 0 {
			s.Side(1).SetRemote(e.Addr()) // traffic through half of them
			e.Send(s.Side(0).Local(), pkt)
		}
		s.Close()
	}
	if st := p.Stats(); st.Sessions != 0 || st.Packets+st.Dropped == 0 {
		t.Errorf("stats %+v: want no session open, some packets seen", st)
	}
	if n := openFDs(t); n > fds {
		t.Errorf("%d open files after, %d before", n, fds)
	}
	poll.Until(t, 5*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= gs })
}
