package wav

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// TestNormalizeStreamsAsWhole: Normalize, which decodes and resamples a
// block at a time, gives exactly the bytes of the whole-file conversion
// (Parse, To8kHz, Encode) for every fixture and for prompts long enough to
// span many blocks at every common rate.
func TestNormalizeStreamsAsWhole(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.wav")
	inputs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = b
	}
	for _, rate := range []int{8000, 11025, 16000, 22050, 44100, 48000, 12345} {
		inputs["sine at "+strconv.Itoa(rate)] = riff(fmtChunk(tagPCM, 1, uint32(rate), 16), dataChunk(pcm16(sine(1000, rate, 2.3, 9000)...)))
	}
	for name, data := range inputs {
		a, err := Parse(data)
		if err != nil {
			continue // the rejected fixtures: Normalize's errors are tested elsewhere
		}
		want := Encode(a.To8kHz(), PlaybackRate)
		got, d, err := Normalize(data)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: Normalize differs from the whole-file conversion (%d bytes, want %d; %v)", name, len(got), len(want), err)
		}
		if d != samplesDuration((len(want)-headerSize)/2, PlaybackRate) {
			t.Errorf("%s: duration %v", name, d)
		}
	}
}

// TestNormalizeMemory: converting a 20 MiB μ-law upload allocates little
// more than the 40 MiB WAV it returns (the whole-file conversion allocated
// 120 MiB: the decoded samples, their copy at 8 kHz, the WAV).
func TestNormalizeMemory(t *testing.T) {
	payload := make([]byte, 20<<20)
	for i := range payload {
		payload[i] = byte(i*7) | 0x55
	}
	data := riff(fmtChunk(tagULaw, 1, 8000, 8), dataChunk(payload))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, _, err := Normalize(data)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(out))+1<<20 {
		t.Errorf("Normalize allocated %d MiB for a %d MiB result", alloc>>20, len(out)>>20)
	}
}
