package wav

import (
	"math"
	"slices"
	"testing"
	"time"
)

// edge is how many 8 kHz samples to ignore at each end when measuring:
// the filter fades in and out over its half-width (22 samples).
const edge = 40

func TestTo8kHzIdentity(t *testing.T) {
	in := sine(440, 8000, 0.1, 10000)
	a := &Audio{Format: PCM, SampleRate: 8000, BitsPerSample: 16, Samples: in}
	out := a.To8kHz()
	if !slices.Equal(out, in) {
		t.Fatal("8 kHz audio changed")
	}
	out[0] = 12345
	if in[0] == 12345 {
		t.Fatal("To8kHz returned the Samples slice itself")
	}
}

// TestTo8kHzLength checks that duration survives resampling to within a
// millisecond at the rates uploads come in, including odd ones.
func TestTo8kHzLength(t *testing.T) {
	for _, rate := range []int{8001, 11025, 12000, 12345, 16000, 22050, 24000, 32000, 44100, 47999, 48000} {
		for _, n := range []int{1, 7, 1000, 44101} {
			a := &Audio{Format: PCM, SampleRate: rate, BitsPerSample: 16, Samples: make([]int16, n)}
			out := a.To8kHz()
			d := samplesDuration(len(out), PlaybackRate) - a.Duration()
			if d.Abs() > time.Millisecond {
				t.Errorf("%d samples at %d Hz: %d at 8 kHz, %v off", n, rate, len(out), d)
			}
		}
	}
}

// TestTo8kHzMatchesIdeal compares the resampled tone with the same tone
// synthesised directly at 8 kHz: any timing offset, gain error, ripple or
// aliasing shows up as residual.
func TestTo8kHzMatchesIdeal(t *testing.T) {
	for _, rate := range []int{11025, 16000, 22050, 32000, 44100, 48000} {
		for _, freq := range []float64{300, 1000, 3000} {
			a := &Audio{Format: PCM, SampleRate: rate, BitsPerSample: 16, Samples: sine(freq, rate, 0.2, 16000)}
			got := a.To8kHz()
			want := sine(freq, 8000, 0.2, 16000)
			var errPow, sigPow float64
			for i := edge; i < min(len(got), len(want))-edge; i++ {
				d := float64(got[i]) - float64(want[i])
				errPow += d * d
				sigPow += float64(want[i]) * float64(want[i])
			}
			r := 10 * math.Log10(errPow/sigPow)
			if testing.Verbose() {
				t.Logf("%g Hz at %d Hz: residual %.1f dB", freq, rate, r)
			}
			if r > -50 {
				t.Errorf("%g Hz at %d Hz: residual %.1f dB, want below -50 dB", freq, rate, r)
			}
		}
	}
}

// TestTo8kHzAntiAlias is the reason for a real filter: a 3.5 kHz tone
// (top of the telephone band) must pass, and a 6 kHz tone, which plain
// decimation would fold down to 2 kHz, must all but vanish.
func TestTo8kHzAntiAlias(t *testing.T) {
	for _, rate := range []int{16000, 22050, 32000, 44100, 48000} {
		in := sine(3500, rate, 0.5, 10000)
		a := &Audio{Format: PCM, SampleRate: rate, BitsPerSample: 16, Samples: in}
		out := a.To8kHz()
		if g := dB(toneLevel(out, 8000, 3500, edge) / 10000); g < -1 || g > 0.5 {
			t.Errorf("3.5 kHz at %d Hz: gain %.2f dB, want within -1..+0.5 dB", rate, g)
		}
		// 3.5 kHz has 7000 zero crossings per second.
		if zc := zeroCrossings(out[edge : len(out)-edge]); math.Abs(float64(zc)-7000*float64(len(out)-2*edge)/8000) > 4 {
			t.Errorf("3.5 kHz at %d Hz: %d zero crossings", rate, zc)
		}

		in = sine(6000, rate, 0.5, 10000)
		a.Samples = in
		out = a.To8kHz()
		att := dB(rms(out, edge) / rms(in, edge*rate/8000))
		if att > -20 {
			t.Errorf("6 kHz at %d Hz: attenuated only %.1f dB, want more than 20", rate, -att)
		}
		if testing.Verbose() {
			t.Logf("%d Hz: 6 kHz attenuated %.1f dB", rate, -att)
		}
	}
}

func TestTo8kHzDCAndClipping(t *testing.T) {
	// A constant stays exactly constant away from the ends.
	dc := make([]int16, 4410)
	for i := range dc {
		dc[i] = -12345
	}
	out := (&Audio{SampleRate: 44100, Samples: dc}).To8kHz()
	for i := edge; i < len(out)-edge; i++ {
		if out[i] != -12345 {
			t.Fatalf("DC at sample %d: %d", i, out[i])
		}
	}
	// A full-scale square wave overshoots after filtering; it must
	// saturate, not wrap around to the opposite sign.
	sq := make([]int16, 48000/10)
	for i := range sq {
		if (i/48)%2 == 0 { // 500 Hz
			sq[i] = math.MaxInt16
		} else {
			sq[i] = math.MinInt16
		}
	}
	out = (&Audio{SampleRate: 48000, Samples: sq}).To8kHz()
	for i := edge; i < len(out)-edge; i++ {
		want := int16(1)
		if (i/8)%2 == 1 {
			want = -1
		}
		phase := i % 8
		if phase == 3 || phase == 4 { // middle of a half period
			if (out[i] > 0) != (want > 0) || abs(int(out[i])) < 30000 {
				t.Fatalf("square wave sample %d = %d", i, out[i])
			}
		}
	}
}

func TestTo8kHzDegenerate(t *testing.T) {
	if out := (&Audio{SampleRate: 0, Samples: []int16{1, 2}}).To8kHz(); out != nil {
		t.Errorf("rate 0: %v", out)
	}
	if out := (&Audio{SampleRate: 44100}).To8kHz(); len(out) != 0 {
		t.Errorf("no samples: %v", out)
	}
	// Hand-built audio below 8 kHz is interpolated up rather than refused.
	a := &Audio{SampleRate: 4000, Samples: sine(500, 4000, 0.1, 10000)}
	out := a.To8kHz()
	if len(out) != 800 {
		t.Fatalf("4 kHz -> %d samples, want 800", len(out))
	}
	if g := dB(toneLevel(out, 8000, 500, edge) / 10000); math.Abs(g) > 0.5 {
		t.Errorf("500 Hz upsampled: gain %.2f dB", g)
	}
}

func BenchmarkTo8kHz(b *testing.B) {
	a := &Audio{Format: PCM, SampleRate: 44100, BitsPerSample: 16, Samples: sine(440, 44100, 10, 10000)}
	b.SetBytes(int64(2 * len(a.Samples)))
	for b.Loop() {
		a.To8kHz()
	}
}

// TestTo8kHzTableMatchesDirect checks that the per-phase weight table used
// for long inputs gives the same samples as computing weights per sample,
// which short inputs use: the prefix of a long tone resampled must equal
// the short tone resampled, away from the short one's end.
func TestTo8kHzTableMatchesDirect(t *testing.T) {
	for _, rate := range []int{11025, 22050, 44100} {
		long := sine(1234, rate, 1, 20000)
		short := long[:rate/10]
		a := (&Audio{SampleRate: rate, Samples: long}).To8kHz()
		b := (&Audio{SampleRate: rate, Samples: short}).To8kHz()
		for i := range len(b) - edge {
			if a[i] != b[i] {
				t.Fatalf("%d Hz: sample %d is %d with the table, %d without", rate, i, a[i], b[i])
			}
		}
	}
}
