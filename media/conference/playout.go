package conference

// playout is a member's jitter buffer: decoded samples are placed by their
// RTP timestamp in a ring, and each tick reads the next frame a fixed delay
// behind the stream. Placing by timestamp, not arrival, puts reordered
// packets back in order and makes duplicates harmless (they overwrite the
// same samples); a packet whose samples were already played is dropped;
// a missing packet plays as silence (the ring is cleared as it is read).
// Any packetization (10, 20, 30 ms) works alike.
type playout struct {
	ring   [ringSize]int16
	pos    uint32 // RTP timestamp of the next sample to play
	synced bool
	delay  int // samples between a packet's arrival and its playout

	lateRun int   // consecutive packets that came entirely too late
	minOff  int   // smallest arrival offset in the current window
	window  int   // packets in the current window
	late    int64 // packets dropped as too late
	resyncs int64 // times the stream was re-anchored
	trims   int64 // times extra latency was cut
}

const (
	ringSize = 4096 // samples (512 ms); a power of two so that timestamps index it
	ringMask = ringSize - 1
	// lateResync is how many whole packets in a row may come too late
	// before the stream is re-anchored: its timestamps jumped back or its
	// clock is slower than ours.
	lateResync = 3
	// trimWindow is how many packets the buffer watches before it cuts
	// latency that built up (a sender whose clock is faster than ours).
	trimWindow = 100
)

func newPlayout(delayFrames int) playout {
	return playout{delay: delayFrames * FrameSamples}
}

// put places a packet's decoded samples, whose first has RTP timestamp ts.
func (p *playout) put(ts uint32, pcm []int16) {
	n := len(pcm)
	if n == 0 || n > ringSize/2 {
		return
	}
	if !p.synced {
		p.resync(ts)
	}
	off := int(int32(ts - p.pos))
	switch {
	case off+n <= 0: // every sample already played
		p.late++
		if p.lateRun++; p.lateRun < lateResync {
			return
		}
		p.resync(ts)
		off = p.delay
	case off+n > ringSize-FrameSamples: // far ahead: a new stream or a jump
		p.resync(ts)
		off = p.delay
	}
	if off+n > 0 {
		p.lateRun = 0
	}
	p.watch(off)
	for i, s := range pcm {
		if off+i >= 0 {
			p.ring[(ts+uint32(i))&ringMask] = s
		}
	}
}

// watch cuts latency a fast sender built up: when every packet of a
// window came more than a frame earlier than the delay asks, the playout
// point moves forward by the excess.
func (p *playout) watch(off int) {
	if p.window == 0 || off < p.minOff {
		p.minOff = off
	}
	if p.window++; p.window < trimWindow {
		return
	}
	if extra := p.minOff - p.delay; extra > FrameSamples {
		p.skip(extra)
		p.trims++
	}
	p.window = 0
}

func (p *playout) resync(ts uint32) {
	p.ring = [ringSize]int16{}
	p.pos = ts - uint32(p.delay)
	p.synced = true
	p.lateRun, p.window = 0, 0
	p.resyncs++
}

// take fills dst with the next samples to play (silence where nothing
// came) and moves on.
func (p *playout) take(dst []int16) {
	if !p.synced {
		clear(dst)
		return
	}
	for i := range dst {
		j := (p.pos + uint32(i)) & ringMask
		dst[i], p.ring[j] = p.ring[j], 0
	}
	p.pos += uint32(len(dst))
}

// skip drops n samples (ticks the clock missed).
func (p *playout) skip(n int) {
	if !p.synced || n <= 0 {
		return
	}
	if n >= ringSize {
		p.ring = [ringSize]int16{}
	} else {
		for i := range n {
			p.ring[(p.pos+uint32(i))&ringMask] = 0
		}
	}
	p.pos += uint32(n)
}
