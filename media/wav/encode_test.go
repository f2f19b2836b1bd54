package wav

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"
	"time"
)

func TestEncodeCanonicalHeader(t *testing.T) {
	got := Encode([]int16{1, -2}, 8000)
	want := []byte("RIFF\x28\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00" +
		"\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x04\x00\x00\x00" +
		"\x01\x00\xfe\xff")
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode:\n got % x\nwant % x", got, want)
	}
	if e := Encode(nil, 8000); len(e) != 44 {
		t.Errorf("empty Encode is %d bytes", len(e))
	}
}

func TestEncodeParseRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 11025, 16000, 44100, 48000} {
		s := sine(300, rate, 0.05, 30000)
		a, err := Parse(Encode(s, rate))
		if err != nil {
			t.Fatalf("%d Hz: %v", rate, err)
		}
		if a.Format != PCM || a.SampleRate != rate || a.BitsPerSample != 16 || !slices.Equal(a.Samples, s) {
			t.Errorf("%d Hz: round trip changed the audio", rate)
		}
	}
}

// TestNormalize is the upload handler's view: whatever was accepted comes
// back as 8 kHz 16-bit mono with the original's duration.
func TestNormalize(t *testing.T) {
	inputs := map[string][]byte{
		"8 kHz PCM":  Encode(sine(440, 8000, 0.25, 8000), 8000),
		"44.1 kHz":   Encode(sine(440, 44100, 0.25, 8000), 44100),
		"A-law file": mustRead(t, "testdata/alaw.wav"),
		"8-bit file": mustRead(t, "testdata/u8_22k.wav"),
	}
	for name, in := range inputs {
		orig, err := Parse(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, d, err := Normalize(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		a, err := Parse(out)
		if err != nil {
			t.Fatalf("%s: output does not parse: %v", name, err)
		}
		if a.Format != PCM || a.SampleRate != 8000 || a.BitsPerSample != 16 || len(out) != 44+2*len(a.Samples) {
			t.Errorf("%s: output is %v %d Hz %d-bit, %d bytes", name, a.Format, a.SampleRate, a.BitsPerSample, len(out))
		}
		if d != a.Duration() || (d-orig.Duration()).Abs() > time.Millisecond {
			t.Errorf("%s: duration %v, output %v, original %v", name, d, a.Duration(), orig.Duration())
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	// Two samples at 48 kHz round to no sample at all at 8 kHz.
	_, _, err := Normalize(Encode([]int16{1, 2}, 48000))
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Reason != "no audio data (shorter than one sample at 8000 Hz)" {
		t.Errorf("tiny input: %v", err)
	}
	_, _, err = Normalize(mustRead(t, "testdata/stereo.wav"))
	if !errors.As(err, &fe) {
		t.Errorf("stereo: %T %v", err, err)
	}
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
