package relay

import (
	"encoding/binary"
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/internal/poll"
	"xc5/internal/rtptest"
	"xc5/media/wav"
)

// stereo checks the WAV header StopRecording writes and splits the
// channels.
func stereo(t *testing.T, b []byte) (left, right []int16) {
	t.Helper()
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("not a canonical WAV: % x", b[:min(len(b), 44)])
	}
	le := binary.LittleEndian
	if ch, sr, bits := le.Uint16(b[22:]), le.Uint32(b[24:]), le.Uint16(b[34:]); ch != 2 || sr != 8000 || bits != 16 {
		t.Fatalf("format %d channels, %d Hz, %d bits; want 2, 8000, 16", ch, sr, bits)
	}
	if n := le.Uint32(b[40:]); int(n) != len(b)-44 || le.Uint32(b[4:]) != n+36 {
		t.Fatalf("data size %d for %d bytes", n, len(b)-44)
	}
	for i := 44; i+4 <= len(b); i += 4 {
		left = append(left, int16(le.Uint16(b[i:])))
		right = append(right, int16(le.Uint16(b[i+2:])))
	}
	return left, right
}

// The caller speaks for half a second, then the callee: each is on its
// own channel, at its own time.
func TestRecordingChannelsAndAlignment(t *testing.T) {
	p := newPool(t, 31400, 31499)
	s, a, b := call(t, p)
	s.StartRecording()
	a.SendTone(s.Side(0).Local(), rtptest.PCMU, 1000, 500*time.Millisecond)
	b.SendTone(s.Side(1).Local(), rtptest.PCMA, 600, 500*time.Millisecond)
	poll.Until(t, 5*time.Second, "B's audio at A", func() bool { return len(a.Received()) >= 4000 })
	data, d := s.StopRecording()
	if d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("duration %v, want about 1 s", d)
	}
	left, right := stereo(t, data)
	if time.Duration(len(left))*time.Second/8000 != d {
		t.Errorf("%d frames for %v", len(left), d)
	}
	if !audiotest.Has(left, 8000, 1000) || audiotest.Has(left, 8000, 600) {
		t.Error("channel 0 should have the caller's 1 kHz only")
	}
	if !audiotest.Has(right, 8000, 600) || audiotest.Has(right, 8000, 1000) {
		t.Error("channel 1 should have the callee's 600 Hz only")
	}
	// Aligned: the caller's tone is in the first half, the callee's in the
	// second; where one speaks, the other channel is silent.
	q := len(left) / 4
	if !audiotest.Has(left[:q], 8000, 1000) || audiotest.Energy(right[:q]) > 1e-6 {
		t.Error("first quarter: want the caller only")
	}
	if !audiotest.Has(right[3*q:], 8000, 600) || audiotest.Energy(left[3*q:]) > 1e-6 {
		t.Error("last quarter: want the callee only")
	}
	if again, _ := s.StopRecording(); again != nil {
		t.Error("a second StopRecording returned audio")
	}
}

// Lost packets leave silence of their length, placed by RTP timestamp
// even when the rest arrive in a burst.
func TestRecordingLossBySequence(t *testing.T) {
	p := newPool(t, 31500, 31599)
	s, a, b := call(t, p)
	s.StartRecording()
	tone := audiotest.Tone(1000, 8000, 40*160, 0.3)
	sent := 0
	for i := range 40 {
		if i >= 20 && i < 30 {
			continue // lost
		}
		pkt := make([]byte, 12, 172)
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], 1000+uint32(i*160))
		binary.BigEndian.PutUint32(pkt[8:], 42)
		for _, x := range tone[i*160 : (i+1)*160] {
			pkt = append(pkt, wav.EncodeULaw(x))
		}
		a.Send(s.Side(0).Local(), pkt)
		sent++
		time.Sleep(time.Millisecond) // keep within socket buffers, not real time
	}
	poll.Until(t, 5*time.Second, "the packets at B", func() bool { return b.Packets() == sent })
	data, _ := s.StopRecording()
	left, right := stereo(t, data)
	start := -1
	for i, x := range left {
		if x != 0 {
			start = i - 1 // the sine starts at 0
			break
		}
	}
	if start < 0 || len(left) != start+40*160 {
		t.Fatalf("recorded %d samples starting at %d, want %d after the start", len(left), start, 40*160)
	}
	gap := left[start+20*160+8 : start+30*160]
	if e := audiotest.Energy(gap); e != 0 {
		t.Errorf("the lost packets' time has energy %v, want silence", e)
	}
	if !audiotest.Has(left[start+30*160:], 8000, 1000) || !audiotest.Has(left[start:start+20*160], 8000, 1000) {
		t.Error("the tone is missing around the gap")
	}
	if audiotest.Energy(right) != 0 {
		t.Error("the callee's channel has sound")
	}
}

func TestRecordingNothing(t *testing.T) {
	p := newPool(t, 31600, 31699)
	s := open(t, p)
	if data, d := s.StopRecording(); data != nil || d != 0 {
		t.Error("audio without StartRecording")
	}
	s.StartRecording()
	if data, d := s.StopRecording(); data != nil || d != 0 {
		t.Error("audio from a silent call")
	}
}
