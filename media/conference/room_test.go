package conference

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/internal/poll"
	"xc5/media/wav"
)

// capture is a Sink that keeps what a member heard, decoded, and checks
// its RTP stream's headers as frames come.
type capture struct {
	t      testing.TB
	mu     sync.Mutex
	frames [][]int16
	last   Frame
	n      int
}

func (c *capture) WriteFrame(f *Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n > 0 && (f.Seq != c.last.Seq+1 || f.Timestamp != c.last.Timestamp+FrameSamples || f.SSRC != c.last.SSRC || f.Marker) {
		c.t.Errorf("frame %d: header %+v after %+v", c.n, *f, c.last)
	}
	if c.n == 0 && !f.Marker {
		c.t.Errorf("first frame without marker")
	}
	pcm := make([]int16, len(f.Payload))
	for i, b := range f.Payload {
		if f.PayloadType == uint8(PCMA) {
			pcm[i] = wav.DecodeALaw(b)
		} else {
			pcm[i] = wav.DecodeULaw(b)
		}
	}
	c.frames = append(c.frames, pcm)
	c.last, c.n = *f, c.n+1
	c.last.Payload = nil
	return nil
}

func (c *capture) audio(from int) []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []int16
	for _, f := range c.frames[from:] {
		s = append(s, f...)
	}
	return s
}

func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

func encodeFrame(pcm []int16, codec Codec) []byte {
	b := make([]byte, len(pcm))
	for i, s := range pcm {
		if codec == PCMA {
			b[i] = wav.EncodeALaw(s)
		} else {
			b[i] = wav.EncodeULaw(s)
		}
	}
	return b
}

// TestMix: three members sending different tones each hear the two others
// and never themselves, across codecs; a muted member is heard by nobody
// and still hears the others.
func TestMix(t *testing.T) {
	freqs := []float64{500, 1000, 1500}
	for _, tc := range []struct {
		name   string
		codecs []Codec
		muted  int // -1: none
	}{
		{"PCMU", []Codec{PCMU, PCMU, PCMU}, -1},
		{"mixed codecs", []Codec{PCMU, PCMA, PCMA}, -1},
		{"one muted", []Codec{PCMU, PCMA, PCMU}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRoom(Config{})
			caps := make([]*capture, 3)
			ms := make([]*Member, 3)
			tones := make([][]int16, 3)
			for i := range ms {
				caps[i] = &capture{t: t}
				ms[i] = r.Join(tc.codecs[i], caps[i])
				tones[i] = audiotest.Tone(freqs[i], 8000, 50*FrameSamples, 0.3)
			}
			if tc.muted >= 0 {
				ms[tc.muted].SetMuted(true)
			}
			ts := []uint32{1000, 70000, 4000000000} // each stream's own start
			for k := range 50 {
				for i, m := range ms {
					m.Push(uint8(tc.codecs[i]), ts[i]+uint32(k*FrameSamples),
						encodeFrame(tones[i][k*FrameSamples:(k+1)*FrameSamples], tc.codecs[i]))
				}
				r.Tick()
			}
			for i, c := range caps {
				heard := c.audio(5) // past the jitter buffer's delay
				for w := 0; w+800 <= len(heard); w += 800 {
					win := heard[w : w+800]
					for j, f := range freqs {
						want := j != i && j != tc.muted
						if got := audiotest.Has(win, 8000, f); got != want {
							t.Fatalf("member %d, window %d: %v Hz heard %v, want %v", i, w/800, f, got, want)
						}
					}
				}
			}
		})
	}
}

// TestClipping: two loud members in phase sum past 16 bits; a listener
// hears the sum flattened at full scale, never wrapped to the other sign.
func TestClipping(t *testing.T) {
	r := NewRoom(Config{})
	loud := audiotest.Tone(400, 8000, 20*FrameSamples, 0.9)
	a, b := r.Join(PCMU, &capture{t: t}), r.Join(PCMA, &capture{t: t})
	listen := &capture{t: t}
	r.Join(PCMU, listen)
	for k := range 20 {
		f := loud[k*FrameSamples : (k+1)*FrameSamples]
		a.Push(0, uint32(k*FrameSamples), encodeFrame(f, PCMU))
		b.Push(8, uint32(k*FrameSamples), encodeFrame(f, PCMA))
		r.Tick()
	}
	heard := listen.audio(2)
	clipped := 0
	for i, s := range heard {
		in := loud[i]
		if (in > 2000 && s < 0) || (in < -2000 && s > 0) {
			t.Fatalf("sample %d: %d from 2×%d wrapped around", i, s, in)
		}
		if in > 20000 && s > 32000 {
			clipped++
		}
	}
	if clipped == 0 {
		t.Fatal("the loud sum was not clipped at full scale")
	}
}

// TestJitterBuffer: what a listener hears of one sender, frame by frame,
// when packets come in order, reordered, late, twice, lost, in 10 ms
// packets, or with a timestamp jump. Frame k carries the constant sample
// level(k); -1 is silence. Delay is 2 frames: tick k plays frame k-2.
func TestJitterBuffer(t *testing.T) {
	type push struct {
		frame int
		ts    uint32 // 0: the frame's own timestamp (base + 160·frame)
		half  int    // 0 whole, 1 first 10 ms, 2 second 10 ms
	}
	seq := func(frames ...int) [][]push { // frame k pushed before tick k
		var s [][]push
		for _, f := range frames {
			s = append(s, []push{{frame: f}})
		}
		return s
	}
	inOrder := seq(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	for _, tc := range []struct {
		name  string
		steps [][]push
		want  []int
	}{
		{"in order", inOrder, []int{-1, -1, 0, 1, 2, 3, 4, 5, 6, 7}},
		{"reordered", [][]push{{{frame: 0}}, {{frame: 1}}, {{frame: 3}}, {{frame: 2}}, {}, {{frame: 5}, {frame: 4}}, {{frame: 6}}, {{frame: 7}}},
			[]int{-1, -1, 0, 1, 2, 3, 4, 5}},
		{"late dropped", [][]push{{{frame: 0}}, {{frame: 1}}, {{frame: 2}}, {}, {{frame: 4}}, {{frame: 5}}, {{frame: 6}, {frame: 3}}, {{frame: 7}}, {{frame: 8}}},
			[]int{-1, -1, 0, 1, 2, -1, 4, 5, 6}},
		{"duplicate", [][]push{{{frame: 0}}, {{frame: 1}, {frame: 1}}, {{frame: 2}}, {{frame: 3}, {frame: 1}}, {{frame: 4}}, {{frame: 5}}},
			[]int{-1, -1, 0, 1, 2, 3}},
		{"lost", seq(0, 1, 2, -1, 4, 5, 6), []int{-1, -1, 0, 1, 2, -1, 4}},
		{"10 ms packets", [][]push{{{frame: 0, half: 1}, {frame: 0, half: 2}}, {{frame: 1, half: 1}, {frame: 1, half: 2}},
			{{frame: 2, half: 2}, {frame: 2, half: 1}}, {{frame: 3, half: 1}, {frame: 3, half: 2}}}, []int{-1, -1, 0, 1}},
		{"jump forward", [][]push{{{frame: 0}}, {{frame: 1}}, {{frame: 2}}, {{frame: 3}}, {{frame: 4, ts: 1060000}}, {{frame: 5, ts: 1060160}},
			{{frame: 6, ts: 1060320}}, {{frame: 7, ts: 1060480}}}, []int{-1, -1, 0, 1, -1, -1, 4, 5}},
		{"jump back", [][]push{{{frame: 0}}, {{frame: 1}}, {{frame: 2}}, {{frame: 3}}, {{frame: 4, ts: 8000}}, {{frame: 5, ts: 8160}},
			{{frame: 6, ts: 8320}}, {{frame: 7, ts: 8480}}, {{frame: 8, ts: 8640}}, {{frame: 9, ts: 8800}}}, []int{-1, -1, 0, 1, 2, 3, -1, -1, 6, 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRoom(Config{Delay: 2})
			send := r.Join(PCMU, &capture{t: t})
			listen := &capture{t: t}
			r.Join(PCMU, listen)
			const base = 160000
			for _, step := range tc.steps {
				for _, p := range step {
					if p.frame < 0 {
						continue
					}
					ts := base + uint32(p.frame*FrameSamples)
					if p.ts != 0 {
						ts = p.ts
					}
					pcm := make([]int16, FrameSamples)
					for i := range pcm {
						pcm[i] = level(p.frame)
					}
					switch p.half {
					case 1:
						pcm = pcm[:FrameSamples/2]
					case 2:
						pcm, ts = pcm[FrameSamples/2:], ts+FrameSamples/2
					}
					send.Push(0, ts, encodeFrame(pcm, PCMU))
				}
				r.Tick()
			}
			for k, want := range tc.want {
				f := listen.frames[k]
				wantLevel := int16(0)
				if want >= 0 {
					wantLevel = level(want)
				}
				for i, s := range f {
					if s != wantLevel {
						t.Fatalf("tick %d sample %d: %d, want frame %d (%d)", k, i, s, want, wantLevel)
					}
				}
			}
		})
	}
}

// level is frame k's sample value, exact through G.711 µ-law.
func level(k int) int16 { return wav.DecodeULaw(byte(0x80 + k)) }

// TestAnnounce: an announcement is heard by the members it is played to
// and not by the others; Play on a member is heard by it alone.
func TestAnnounce(t *testing.T) {
	r := NewRoom(Config{})
	caps := []*capture{{t: t}, {t: t}, {t: t}}
	ms := make([]*Member, 3)
	for i := range ms {
		ms[i] = r.Join(PCMU, caps[i])
	}
	r.Announce(audiotest.Tone(700, 8000, 800, 0.3), ms[0])
	ms[0].Play(audiotest.Tone(1200, 8000, 800, 0.3))
	for range 5 {
		r.Tick()
	}
	for i, c := range caps {
		a := c.audio(0)
		if got := audiotest.Has(a, 8000, 700); got != (i != 0) {
			t.Errorf("member %d hears the announcement: %v", i, got)
		}
		if got := audiotest.Has(a, 8000, 1200); got != (i == 0) {
			t.Errorf("member %d hears member 0's prompt: %v", i, got)
		}
	}
	if ms[0].Playing() || ms[1].Playing() {
		t.Error("announcements still playing after their length")
	}
}

// TestClock: a started room sends frames on its own; Close stops the
// clock's goroutine, and a member who left is sent nothing more.
func TestClock(t *testing.T) {
	r := NewRoom(Config{})
	stay, gone := &capture{t: t}, &capture{t: t}
	r.Join(PCMU, stay)
	m := r.Join(PCMA, gone)
	r.Start()
	r.Start() // idempotent
	poll.Until(t, 5*time.Second, "frames to the member who leaves", func() bool { return gone.count() >= 5 })
	if n := r.Leave(m); n != 1 {
		t.Fatalf("%d members left", n)
	}
	after := gone.count()
	poll.Until(t, 5*time.Second, "frames to the member who stays", func() bool { return stay.count() >= after+10 })
	if gone.count() != after {
		t.Fatal("a member who left is still sent frames")
	}
	r.Close()
	if s := r.Stats(); s.Ticks == 0 {
		t.Fatalf("stats %+v", s)
	}
	if clockRunning() {
		t.Fatal("the room's clock still runs after Close")
	}
}

// clockRunning reports whether any room clock goroutine is alive.
func clockRunning() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "conference.(*Room).run")
}

// TestJitterTrim: a sender whose packets come steadily 4 frames ahead of
// the delay (a burst, or a clock faster than the room's) has the extra
// latency cut after a window of packets, without losing its place.
func TestJitterTrim(t *testing.T) {
	r := NewRoom(Config{Delay: 2})
	send := r.Join(PCMU, &capture{t: t})
	listen := &capture{t: t}
	r.Join(PCMU, listen)
	frame := func(k int) []byte {
		pcm := make([]int16, FrameSamples)
		for i := range pcm {
			pcm[i] = level(k % 100)
		}
		return encodeFrame(pcm, PCMU)
	}
	next := 0
	for k := range 300 {
		for ; next <= k+4 && (k > 0 || next == 0); next++ { // frame 0 first, then 4 ahead
			send.Push(0, uint32(next*FrameSamples), frame(next))
		}
		r.Tick()
	}
	last := listen.frames[len(listen.frames)-1]
	// Frame 303 was pushed before the last tick: with the delay of 2
	// frames it plays frame 301; untrimmed it would still play frame 297.
	// (The first window holds frame 0, which came on time: the cut comes
	// at the end of the second.)
	if want := level(301 % 100); last[0] != want {
		t.Fatalf("last tick played %d, want %d (frame 301)", last[0], want)
	}
}
