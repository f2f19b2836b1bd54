// Package conference mixes conference rooms: one clock per room, a short
// jitter buffer per member, and each member hears the sum of all the
// others, never itself, in its own codec and its own RTP stream.
//
// It is ours rather than diago's BridgeMix, which is experimental: it has
// no shared clock and restarts every stream when a member joins. The
// package is pure logic over G.711 payloads: the caller feeds each
// member's received packets (Member.Push) and gives each a Sink for the
// frames the room sends it. Room.Tick is one 20 ms mixing step; Start runs
// it from the room's clock.
package conference

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"xc5/media/wav"
)

// FrameSamples is a 20 ms frame at 8 kHz; TickInterval is the room's clock.
const (
	FrameSamples = 160
	TickInterval = 20 * time.Millisecond
)

// Codec is a G.711 RTP payload type.
type Codec uint8

// Codecs a member may send and hear.
const (
	PCMU Codec = 0
	PCMA Codec = 8
)

// Frame is one RTP packet the room sends a member. Payload is valid only
// during Sink.WriteFrame.
type Frame struct {
	PayloadType uint8
	Marker      bool // the first packet of the member's stream
	Seq         uint16
	Timestamp   uint32
	SSRC        uint32
	Payload     []byte
}

// Sink takes the frames the room sends a member; WriteFrame is called
// from the room's clock and must not block.
type Sink interface {
	WriteFrame(f *Frame) error
}

// Config tunes a room; zero fields take the defaults.
type Config struct {
	// Delay is the jitter buffer's depth in frames (2: 40 ms): a packet is
	// played this long after the stream's first one would have been.
	Delay int
	// LateAfter is how late a tick may run before Stats counts it (5 ms).
	LateAfter time.Duration
}

// Stats are a room clock's counters.
type Stats struct {
	Ticks   int64         // mixing steps run by the clock
	Late    int64         // ticks that started more than LateAfter after their time
	Skipped int64         // ticks dropped after the clock fell 3 ticks behind
	MaxLate time.Duration // the latest tick
	Busy    time.Duration // time spent mixing and sending
}

// maxBehind is how many ticks the clock catches up by running back to
// back; further behind (the process was stopped), it skips to now.
const maxBehind = 3

// Room is one conference room.
type Room struct {
	cfg Config

	mu      sync.Mutex // members and the mixing buffers
	members []*Member
	sum     [FrameSamples]int32
	cache   [2][FrameSamples]byte // the whole sum, encoded, per codec

	clockMu sync.Mutex
	stop    chan struct{}
	done    chan struct{}

	ticks, late, skipped, maxLate, busy atomic.Int64
}

// NewRoom makes an empty room; its clock runs from Start to Close.
func NewRoom(cfg Config) *Room {
	if cfg.Delay <= 0 {
		cfg.Delay = 2
	}
	if cfg.LateAfter <= 0 {
		cfg.LateAfter = 5 * time.Millisecond
	}
	return &Room{cfg: cfg}
}

// Join adds a member who sends and hears codec; frames go to sink from the
// next tick on.
func (r *Room) Join(codec Codec, sink Sink) *Member {
	if codec != PCMA {
		codec = PCMU
	}
	m := &Member{room: r, codec: codec, sink: sink, jb: newPlayout(r.cfg.Delay),
		ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32()}
	r.mu.Lock()
	r.members = append(r.members, m)
	r.mu.Unlock()
	return m
}

// Leave removes m and returns how many members remain.
func (r *Room) Leave(m *Member) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.members {
		if x == m {
			r.members = append(r.members[:i], r.members[i+1:]...)
			break
		}
	}
	return len(r.members)
}

// Len is the number of members.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// Announce plays samples (8 kHz) to every member but except (nil: all),
// over what they hear: join and leave tones.
func (r *Room) Announce(samples []int16, except *Member) {
	r.mu.Lock()
	ms := append([]*Member(nil), r.members...)
	r.mu.Unlock()
	for _, m := range ms {
		if m != except {
			m.Play(samples)
		}
	}
}

// Tick is one mixing step: every member's next frame is taken from its
// jitter buffer, and every member is sent the sum of the others' frames
// plus its own announcement, clipped to 16 bits and encoded in its codec.
func (r *Room) Tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.sum[:])
	for _, m := range r.members {
		m.takeFrame()
		if m.talks {
			for i, s := range m.in {
				r.sum[i] += int32(s)
			}
		}
	}
	var cached [2]bool
	for _, m := range r.members {
		ci := 0
		if m.codec == PCMA {
			ci = 1
		}
		switch {
		case !m.talks && !m.hasAnn: // hears the whole sum, like every other such member
			if !cached[ci] {
				encode(r.cache[ci][:], &r.sum, nil, nil, m.codec)
				cached[ci] = true
			}
			m.send(r.cache[ci][:])
		default:
			var own, ann *[FrameSamples]int16
			if m.talks {
				own = &m.in
			}
			if m.hasAnn {
				ann = &m.annF
			}
			encode(m.out[:], &r.sum, own, ann, m.codec)
			m.send(m.out[:])
		}
	}
}

// encode writes sum - own + ann, clipped, in codec.
func encode(dst []byte, sum *[FrameSamples]int32, own, ann *[FrameSamples]int16, codec Codec) {
	enc := wav.EncodeULaw
	if codec == PCMA {
		enc = wav.EncodeALaw
	}
	for i := range dst {
		v := sum[i]
		if own != nil {
			v -= int32(own[i])
		}
		if ann != nil {
			v += int32(ann[i])
		}
		dst[i] = enc(clip(v))
	}
}

// clip saturates to 16 bits: loud members together flatten, never wrap.
func clip(v int32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}

// skip drops n ticks: jitter buffers and output timestamps move on, so
// every stream stays in time with the clock.
func (r *Room) skip(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		m.mu.Lock()
		m.jb.skip(n * FrameSamples)
		m.mu.Unlock()
		m.ts += uint32(n * FrameSamples)
	}
}
