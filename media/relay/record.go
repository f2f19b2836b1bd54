package relay

import (
	"encoding/binary"
	"sync"
	"time"

	"xc5/media/wav"
)

const rate = 8000 // G.711 samples per second, the recording's rate

// StartRecording starts (or restarts, discarding what was recorded)
// recording what flows each way. Only G.711 (see SetPayloadTypes) is
// decoded; anything else leaves silence.
func (s *Session) StartRecording() {
	max := int(s.pool.cfg.MaxRecording / time.Second * rate)
	s.rec.Store(&recording{start: monotonic(), max: max})
}

// StopRecording ends the recording and returns it as a stereo 8 kHz
// 16-bit WAV: channel 0 is what side 0's party (the caller) sent,
// channel 1 what side 1's party sent, on one time line. It returns nil
// and 0 if nothing was recorded.
func (s *Session) StopRecording() (wav []byte, d time.Duration) {
	rec := s.rec.Swap(nil)
	if rec == nil {
		return nil, 0
	}
	// Once done is set no packet writes to the channels, so the WAV is
	// built without the lock that a relay goroutine may be waiting on.
	rec.mu.Lock()
	rec.done = true
	a, b := rec.ch[0].samples, rec.ch[1].samples
	rec.mu.Unlock()
	n := max(len(a), len(b))
	if n == 0 {
		return nil, 0
	}
	out := stereoHeader(n)
	for i := range n {
		var l, r int16
		if i < len(a) {
			l = a[i]
		}
		if i < len(b) {
			r = b[i]
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(l))
		out = binary.LittleEndian.AppendUint16(out, uint16(r))
	}
	return out, time.Duration(n) * time.Second / rate
}

// stereoHeader is the canonical 44-byte header of n 16-bit stereo frames
// at 8 kHz, with room for them.
func stereoHeader(n int) []byte {
	data := uint32(n * 4)
	b := make([]byte, 0, 44+n*4)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, 36+data)
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1)      // PCM
	b = binary.LittleEndian.AppendUint16(b, 2)      // channels
	b = binary.LittleEndian.AppendUint32(b, rate)   // sample rate
	b = binary.LittleEndian.AppendUint32(b, rate*4) // byte rate
	b = binary.LittleEndian.AppendUint16(b, 4)      // block align
	b = binary.LittleEndian.AppendUint16(b, 16)     // bits
	b = append(b, "data"...)
	return binary.LittleEndian.AppendUint32(b, data)
}

// recording holds the decoded audio of both directions. The relay
// goroutines add to it under mu; that lock is only taken while recording.
type recording struct {
	mu    sync.Mutex
	start int64 // monotonic ns at StartRecording: sample 0 of both channels
	max   int   // samples per channel
	done  bool
	ch    [2]channel
}

// channel places one direction's packets on the time line. The first
// packet of a stream (an SSRC) is placed by its arrival time; later ones
// by their RTP timestamp relative to it, so jitter does not smear the
// audio and lost packets leave silence of the right length. A stream
// whose timestamps stray more than a second from arrival (a jump, a
// sender that restarted them) is placed anew by arrival.
type channel struct {
	samples  []int16
	anchored bool
	ssrc     uint32
	ts0      uint32
	pos0     int64
}

// maxDrift is how far (in samples) RTP time may stray from arrival time.
const maxDrift = rate

func (r *recording) add(side int, pkt []byte, now int64, pcmu, pcma int) {
	h, ok := parseRTP(pkt)
	if !ok || (h.pt != pcmu && h.pt != pcma) || len(h.payload) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	c := &r.ch[side]
	n := int64(len(h.payload))
	arrival := (now-r.start)*rate/int64(time.Second) - n
	pos := c.pos0 + int64(int32(h.ts-c.ts0))
	if !c.anchored || c.ssrc != h.ssrc || pos < 0 || pos-arrival > maxDrift || arrival-pos > maxDrift {
		c.anchored, c.ssrc, c.ts0 = true, h.ssrc, h.ts
		c.pos0 = max(arrival, 0)
		pos = c.pos0
	}
	end := int(min(pos+n, int64(r.max)))
	if end <= int(pos) {
		return
	}
	if end > len(c.samples) {
		c.samples = append(c.samples, make([]int16, end-len(c.samples))...)
	}
	dst := c.samples[pos:end]
	if h.pt == pcmu {
		for i := range dst {
			dst[i] = wav.DecodeULaw(h.payload[i])
		}
	} else {
		for i := range dst {
			dst[i] = wav.DecodeALaw(h.payload[i])
		}
	}
}
