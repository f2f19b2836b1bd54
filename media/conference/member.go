package conference

import (
	"sync"
	"sync/atomic"

	"xc5/media/wav"
)

// Member is one leg in a room.
type Member struct {
	room  *Room
	codec Codec
	sink  Sink
	muted atomic.Bool

	mu  sync.Mutex // the jitter buffer and the announcement, fed by the leg's reader
	jb  playout
	pcm []int16 // decode buffer of Push
	ann []int16 // announcement still to play to this member

	// Used by the tick only (under Room.mu).
	in     [FrameSamples]int16
	talks  bool // in is not silence and the member is not muted
	annF   [FrameSamples]int16
	hasAnn bool
	out    [FrameSamples]byte
	frame  Frame
	ssrc   uint32
	seq    uint16
	ts     uint32
	sent   bool
	errs   int64
}

// Codec is what the member sends and hears.
func (m *Member) Codec() Codec { return m.codec }

// Push takes one received RTP packet: its payload type, timestamp and
// payload. PCMU and PCMA are mixed; other payloads (telephone-event,
// comfort noise) are ignored.
func (m *Member) Push(pt uint8, ts uint32, payload []byte) {
	dec := wav.DecodeULaw
	switch Codec(pt) {
	case PCMU:
	case PCMA:
		dec = wav.DecodeALaw
	default:
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cap(m.pcm) < len(payload) {
		m.pcm = make([]int16, len(payload))
	}
	pcm := m.pcm[:len(payload)]
	for i, b := range payload {
		pcm[i] = dec(b)
	}
	m.jb.put(ts, pcm)
}

// SetMuted mutes or unmutes the member: a muted member contributes
// nothing and still hears the room.
func (m *Member) SetMuted(on bool) { m.muted.Store(on) }

// ToggleMute flips the mute and returns the new state.
func (m *Member) ToggleMute() bool {
	for {
		old := m.muted.Load()
		if m.muted.CompareAndSwap(old, !old) {
			return !old
		}
	}
}

// Play mixes samples (8 kHz) into what this member alone hears, over
// anything already playing to it: prompts and tones.
func (m *Member) Play(samples []int16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.ann) < len(samples) {
		m.ann = append(m.ann, make([]int16, len(samples)-len(m.ann))...)
	}
	for i, s := range samples {
		m.ann[i] = clip(int32(m.ann[i]) + int32(s))
	}
}

// Playing reports whether an announcement is still playing to m.
func (m *Member) Playing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ann) > 0
}

// Late is how many packets of m came too late to be played.
func (m *Member) Late() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.jb.late
}

// takeFrame takes the tick's frame from the jitter buffer and the
// announcement.
func (m *Member) takeFrame() {
	m.mu.Lock()
	m.jb.take(m.in[:])
	n := copy(m.annF[:], m.ann)
	clear(m.annF[n:])
	m.hasAnn = n > 0
	m.ann = m.ann[n:]
	if len(m.ann) == 0 {
		m.ann = nil
	}
	m.mu.Unlock()
	m.talks = false
	if m.muted.Load() {
		return
	}
	for _, s := range m.in {
		if s != 0 {
			m.talks = true
			return
		}
	}
}

// send writes one frame of m's stream.
func (m *Member) send(payload []byte) {
	f := &m.frame
	*f = Frame{PayloadType: uint8(m.codec), Marker: !m.sent, Seq: m.seq, Timestamp: m.ts, SSRC: m.ssrc, Payload: payload}
	m.sent = true
	m.seq++
	m.ts += FrameSamples
	if err := m.sink.WriteFrame(f); err != nil {
		m.errs++
	}
}
