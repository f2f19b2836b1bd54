package wav

import (
	"math"
	"testing"
	"time"
)

// The files in testdata were made with sox 14.4.2, so the parser is
// checked against a writer other than its own (sox writes an 18-byte fmt
// and a fact chunk for G.711, WAVE_FORMAT_EXTENSIBLE for 24-bit, and a pad
// byte after odd 8-bit data):
//
//	sox -n -r 16000 -c 1 -b 16 tone16k.wav synth 0.5 sine 440
//	sox -n -r 44100 -c 1 -b 16 tone44k.wav synth 0.4 sine 440
//	sox -n -r 11025 -c 1 -b 16 tone11k.wav synth 0.25 sine 440
//	sox -n -r 22050 -c 1 -b 8 u8_22k.wav synth 0.3 sine 440
//	sox -n -r 8000 -c 1 -e a-law alaw.wav synth 0.3 sine 1000
//	sox -n -r 8000 -c 1 -e mu-law ulaw.wav synth 0.3 sine 1000
//	sox -n -r 8000 -c 2 -b 16 stereo.wav synth 0.1 sine 440
//	sox -n -r 8000 -c 1 -b 24 pcm24.wav synth 0.1 sine 440
var fixtures = []struct {
	file    string
	format  Format
	rate    int
	bits    int
	dur     time.Duration
	freq    float64 // the tone sox synthesised
	wantErr string
}{
	{file: "tone16k.wav", format: PCM, rate: 16000, bits: 16, dur: 500 * time.Millisecond, freq: 440},
	{file: "tone44k.wav", format: PCM, rate: 44100, bits: 16, dur: 400 * time.Millisecond, freq: 440},
	{file: "tone11k.wav", format: PCM, rate: 11025, bits: 16, dur: 250 * time.Millisecond, freq: 440},
	{file: "u8_22k.wav", format: PCM, rate: 22050, bits: 8, dur: 300 * time.Millisecond, freq: 440},
	{file: "alaw.wav", format: ALaw, rate: 8000, bits: 8, dur: 300 * time.Millisecond, freq: 1000},
	{file: "ulaw.wav", format: ULaw, rate: 8000, bits: 8, dur: 300 * time.Millisecond, freq: 1000},
	{file: "stereo.wav", wantErr: "stereo audio (2 channels): prompts must be mono"},
	{file: "pcm24.wav", wantErr: "24-bit PCM is not supported: use 16-bit"},
}

func TestFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			a, err := Parse(mustRead(t, "testdata/"+f.file))
			if f.wantErr != "" {
				if err == nil || err.Error() != f.wantErr {
					t.Fatalf("error %v, want %q", err, f.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Format != f.format || a.SampleRate != f.rate || a.BitsPerSample != f.bits {
				t.Errorf("got %v %d Hz %d-bit", a.Format, a.SampleRate, a.BitsPerSample)
			}
			if d := a.Duration() - f.dur; d.Abs() > time.Millisecond {
				t.Errorf("duration %v, want %v", a.Duration(), f.dur)
			}
			out := a.To8kHz()
			if d := samplesDuration(len(out), 8000) - f.dur; d.Abs() > time.Millisecond {
				t.Errorf("duration at 8 kHz %v, want %v", samplesDuration(len(out), 8000), f.dur)
			}
			// The tone is still where sox put it: 2 zero crossings per
			// cycle, and at the level it had before resampling.
			want := 2 * f.freq * f.dur.Seconds()
			if zc := zeroCrossings(out); math.Abs(float64(zc)-want) > 3 {
				t.Errorf("%d zero crossings at 8 kHz, want %.0f", zc, want)
			}
			before := toneLevel(a.Samples, a.SampleRate, f.freq, edge*a.SampleRate/8000)
			if g := dB(toneLevel(out, 8000, f.freq, edge) / before); math.Abs(g) > 0.1 {
				t.Errorf("%g Hz tone changed by %.2f dB", f.freq, g)
			}
			if lvl := dB(before / 32767); lvl < -4 || lvl > 0 {
				t.Errorf("%g Hz tone decoded at %.2f dBFS; sox writes it at -3 dBFS", f.freq, lvl)
			}
		})
	}
}

// TestShortenedFixtures checks the fuzz seeds: cutting a fixture's audio
// must keep what Parse makes of its header.
func TestShortenedFixtures(t *testing.T) {
	for _, f := range fixtures {
		full := mustRead(t, "testdata/"+f.file)
		short := shortenData(full, seedAudio)
		if len(short) > 100+seedAudio {
			t.Errorf("%s: seed is %d bytes", f.file, len(short))
		}
		a, errA := Parse(full)
		b, errB := Parse(short)
		if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() ||
			errA == nil && (a.Format != b.Format || a.SampleRate != b.SampleRate || a.BitsPerSample != b.BitsPerSample) {
			t.Errorf("%s: full %v, shortened %v", f.file, errA, errB)
		}
	}
}
