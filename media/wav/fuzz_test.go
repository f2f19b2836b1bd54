package wav

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the upload path. Besides never
// panicking, an accepted file must be self-consistent (a rate in range,
// samples no more than the bytes that carried them, a resampled length
// matching its duration, a lossless trip through Encode) and a rejected
// one must carry a customer-facing *FormatError.
//
// The fixtures seed it with their headers intact but their audio cut to
// seedAudio bytes: the header is what the fuzzer should explore, and a
// 35 KB seed makes each execution, and above all the minimisation of each
// new finding, hundreds of times slower.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.wav")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(shortenData(b, seedAudio))
	}
	f.Add(Encode([]int16{0, 1000, -1000, 32767, -32768}, 44100))
	f.Add(riff(extFmt(tagULaw, 1, 8000, 8), chunk{id: "LIST", body: []byte("odd")}, dataChunk([]byte{1, 2, 3})))
	f.Add(riff(fmtChunk(tagPCM, 1, 22050, 8), chunk{id: "data", body: []byte{1, 2, 3}, size: u32(0xFFFFFFFF)}))
	f.Add(riff(fmtChunk(tagALaw, 1, 48000, 8), chunk{id: "data", body: []byte{1, 2}, size: u32(0x80000000)}))

	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Reason == "" {
				t.Fatalf("error %T %q is not a *FormatError with a reason", err, err)
			}
			if a != nil {
				t.Fatal("Audio returned with an error")
			}
			return
		}
		if a.SampleRate < MinSampleRate || a.SampleRate > MaxSampleRate {
			t.Fatalf("accepted rate %d", a.SampleRate)
		}
		if len(a.Samples) == 0 || len(a.Samples) > len(data) {
			t.Fatalf("%d samples from %d bytes", len(a.Samples), len(data))
		}
		switch {
		case a.Format == PCM && (a.BitsPerSample == 8 || a.BitsPerSample == 16):
		case (a.Format == ALaw || a.Format == ULaw) && a.BitsPerSample == 8:
		default:
			t.Fatalf("accepted %v with %d bits", a.Format, a.BitsPerSample)
		}
		out := a.To8kHz()
		want := (int64(len(a.Samples))*8000 + int64(a.SampleRate)/2) / int64(a.SampleRate)
		if int64(len(out)) != want {
			t.Fatalf("%d samples at %d Hz became %d at 8 kHz, want %d", len(a.Samples), a.SampleRate, len(out), want)
		}
		b, err := Parse(Encode(a.Samples, a.SampleRate))
		if err != nil || b.SampleRate != a.SampleRate || !slices.Equal(b.Samples, a.Samples) {
			t.Fatalf("Encode round trip: %v", err)
		}
		if _, _, err := Normalize(data); err != nil && len(out) > 0 {
			t.Fatalf("Normalize failed where Parse and To8kHz did not: %v", err)
		}
	})
}

const seedAudio = 256

// shortenData cuts the data chunk of a well-formed file to at most n bytes,
// fixing its size field, and drops whatever followed it.
func shortenData(b []byte, n int) []byte {
	for off := 12; off+8 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		if string(b[off:off+4]) == "data" {
			size = min(size, n, len(b)-off-8)
			out := slices.Clone(b[:off+8+size])
			binary.LittleEndian.PutUint32(out[off+4:], uint32(size))
			binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
			return out
		}
		off += 8 + size + size&1
	}
	return b
}
