package sipserver

import (
	"fmt"
	"os"
	"time"

	"github.com/emiago/sipgo/sip"
)

// traceOverload prints, every 250 ms while a load runs, what the
// registrar's overload rules see (XC5_LOAD_TRACE=1): REGISTERs in progress
// and the oldest one's wait, the UDP queue, workers, and what was refused,
// dropped and completed since the last line. The returned func stops it.
func traceOverload(s *Server) func() {
	if os.Getenv("XC5_LOAD_TRACE") == "" {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		reg, bye := methodSlot(sip.REGISTER), methodSlot(sip.BYE)
		var lastShed, lastStale, lastOK, lastReq, lastBye, lastCPU int64
		start := time.Now()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			shed, stale := s.shedRegs.Load(), s.stale.Load()
			ok := s.count.responses[reg][200-100].Load()
			req, byes := s.count.requests[reg].Load(), s.count.requests[bye].Load()
			cpu := processCPU().Microseconds()
			q, answers, live, away := 0, 0, int32(0), int32(0)
			if u := s.udpReg; u != nil {
				q, answers, live, away = len(u.queue), len(u.answers), u.live.Load(), u.away.Load()
			}
			fmt.Printf("TRACE t=%5.2f inprog=%5d oldest=%4dms queued=%5d answers=%5d live=%4d away=%4d | req=%5d ok=%5d shed=%5d stale=%5d bye=%5d cpu=%3d%%\n",
				time.Since(start).Seconds(), s.registers.Load(), s.regWork.oldest().Milliseconds(), q, answers, live, away,
				req-lastReq, ok-lastOK, shed-lastShed, stale-lastStale, byes-lastBye, (cpu-lastCPU)/2500)
			lastShed, lastStale, lastOK, lastReq, lastBye, lastCPU = shed, stale, ok, req, byes, cpu
		}
	}()
	return func() { close(done); <-stopped }
}
