package wav

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tone := sine(440, 16000, 0.01, 12000)
	alaw := []byte{0xD5, 0x55, 0xAA, 0x2A}
	ulaw := []byte{0xFF, 0x80, 0x00, 0x7F}
	cases := []struct {
		name string
		data []byte
		want Audio
	}{
		{"own Encode 16 kHz", Encode(tone, 16000),
			Audio{PCM, 16000, 16, tone}},
		{"own Encode 8 kHz", Encode([]int16{1, -1, 32767, -32768}, 8000),
			Audio{PCM, 8000, 16, []int16{1, -1, 32767, -32768}}},
		{"8-bit unsigned PCM", riff(fmtChunk(tagPCM, 1, 22050, 8), dataChunk([]byte{0, 128, 255, 127})),
			Audio{PCM, 22050, 8, []int16{-32768, 0, 32512, -256}}},
		{"A-law", riff(fmtChunk(tagALaw, 1, 8000, 8), dataChunk(alaw)),
			Audio{ALaw, 8000, 8, []int16{8, -8, 32256, -32256}}},
		{"μ-law", riff(fmtChunk(tagULaw, 1, 8000, 8), dataChunk(ulaw)),
			Audio{ULaw, 8000, 8, []int16{0, 32124, -32124, 0}}},
		{"extensible PCM", riff(extFmt(tagPCM, 1, 48000, 16), dataChunk(pcm16(5, -5))),
			Audio{PCM, 48000, 16, []int16{5, -5}}},
		{"extensible A-law", riff(extFmt(tagALaw, 1, 8000, 8), dataChunk(alaw)),
			Audio{ALaw, 8000, 8, []int16{8, -8, 32256, -32256}}},
		{"extensible μ-law", riff(extFmt(tagULaw, 1, 8000, 8), dataChunk(ulaw)),
			Audio{ULaw, 8000, 8, []int16{0, 32124, -32124, 0}}},
		{"LIST and fact chunks skipped",
			riff(chunk{id: "LIST", body: []byte("INFOISFT\x04\x00\x00\x00sox\x00")},
				fmtChunk(tagPCM, 1, 8000, 16),
				chunk{id: "fact", body: []byte{2, 0, 0, 0}},
				dataChunk(pcm16(7, 8))),
			Audio{PCM, 8000, 16, []int16{7, 8}}},
		{"odd-sized chunk with pad byte",
			riff(fmtChunk(tagPCM, 1, 8000, 16),
				chunk{id: "junk", body: []byte{1, 2, 3}},
				dataChunk(pcm16(9))),
			Audio{PCM, 8000, 16, []int16{9}}},
		{"odd-sized 8-bit data then trailing chunk",
			riff(fmtChunk(tagPCM, 1, 8000, 8), dataChunk([]byte{128, 129, 130}),
				chunk{id: "LIST", body: []byte("INFO")}),
			Audio{PCM, 8000, 8, []int16{0, 256, 512}}},
		{"data before fmt", riff(dataChunk(pcm16(3)), fmtChunk(tagPCM, 1, 8000, 16)),
			Audio{PCM, 8000, 16, []int16{3}}},
		{"18-byte fmt with cbSize", riff(chunk{id: "fmt ", body: append(fmtChunk(tagULaw, 1, 8000, 8).body, 0, 0)},
			dataChunk([]byte{0xFF})),
			Audio{ULaw, 8000, 8, []int16{0}}},
		{"streaming data size 0xFFFFFFFF reads to the end",
			riff(fmtChunk(tagPCM, 1, 8000, 16), chunk{id: "data", body: pcm16(1, 2, 3), size: u32(0xFFFFFFFF)}),
			Audio{PCM, 8000, 16, []int16{1, 2, 3}}},
		{"trailing partial sample dropped", riff(fmtChunk(tagPCM, 1, 8000, 16), dataChunk([]byte{1, 0, 2})),
			Audio{PCM, 8000, 16, []int16{1}}},
		{"wrong RIFF size ignored", func() []byte {
			b := Encode([]int16{4}, 8000)
			b[4], b[5], b[6], b[7] = 0, 0, 0, 0
			return b
		}(), Audio{PCM, 8000, 16, []int16{4}}},
		{"garbage after the chunks", append(Encode([]int16{4}, 8000), 0xDE, 0xAD),
			Audio{PCM, 8000, 16, []int16{4}}},
		{"odd rate within range", Encode([]int16{1}, 12345),
			Audio{PCM, 12345, 16, []int16{1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Parse(c.data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if a.Format != c.want.Format || a.SampleRate != c.want.SampleRate || a.BitsPerSample != c.want.BitsPerSample {
				t.Errorf("got %v %d Hz %d-bit, want %v %d Hz %d-bit", a.Format, a.SampleRate, a.BitsPerSample,
					c.want.Format, c.want.SampleRate, c.want.BitsPerSample)
			}
			if !slices.Equal(a.Samples, c.want.Samples) {
				t.Errorf("samples %v, want %v", head(a.Samples), head(c.want.Samples))
			}
		})
	}
}

func head(s []int16) []int16 { return s[:min(len(s), 8)] }

func TestParseRejects(t *testing.T) {
	good := fmtChunk(tagPCM, 1, 8000, 16)
	data := dataChunk(pcm16(1, 2, 3, 4))
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "empty file", nil},
		{"text", "not a WAV file (no RIFF/WAVE header)", []byte("hello, this is not audio")},
		{"short", "not a WAV file (no RIFF/WAVE header)", []byte("RIFF")},
		{"mp3 with ID3", "not a WAV file (no RIFF/WAVE header): this looks like MP3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00")},
		{"mp3 frame", "not a WAV file (no RIFF/WAVE header): this looks like MP3", []byte{0xFF, 0xFB, 0x90, 0x64}},
		{"ogg", "not a WAV file (no RIFF/WAVE header): this looks like Ogg", []byte("OggS\x00\x02")},
		{"avi", `not a WAV file (RIFF type "AVI ")`, []byte("RIFF\x00\x00\x00\x00AVI LIST")},
		{"rifx", "big-endian WAV (RIFX) is not supported: use a standard little-endian WAV", []byte("RIFX\x00\x00\x00\x24WAVEfmt ")},
		{"rf64", "RF64 WAV is not supported: use a standard WAV", []byte("RF64\xFF\xFF\xFF\xFFWAVEds64")},
		{"stereo", "stereo audio (2 channels): prompts must be mono",
			riff(fmtChunk(tagPCM, 2, 8000, 16), data)},
		{"5.1", "multichannel audio (6 channels): prompts must be mono",
			riff(fmtChunk(tagPCM, 6, 48000, 16), data)},
		{"zero channels", "invalid channel count 0", riff(fmtChunk(tagPCM, 0, 8000, 16), data)},
		{"mp3 in wav", "unsupported WAV encoding 85 (MP3): use PCM or G.711",
			riff(fmtChunk(0x55, 1, 8000, 0), data)},
		{"float", "unsupported WAV encoding 3 (IEEE float): use PCM or G.711",
			riff(fmtChunk(3, 1, 8000, 32), data)},
		{"unknown tag", "unsupported WAV encoding 4660: use PCM or G.711",
			riff(fmtChunk(0x1234, 1, 8000, 16), data)},
		{"extensible float", "unsupported WAV encoding 3 (IEEE float): use PCM or G.711",
			riff(extFmt(3, 1, 48000, 32), data)},
		{"extensible unknown GUID", "unsupported WAV encoding (extensible subformat {00000001-0721-11D3-8644-C0A0C9000000}): use PCM or G.711",
			riff(extFmt(0, 1, 48000, 16, []byte{1, 0, 0, 0, 0x21, 0x07, 0xD3, 0x11, 0x86, 0x44, 0xC0, 0xA0, 0xC9, 0, 0, 0}...), data)},
		{"extensible too short", "malformed fmt chunk (WAVE_FORMAT_EXTENSIBLE too short)",
			riff(fmtChunk(tagExtensible, 1, 8000, 16), data)},
		{"96 kHz", "unsupported sample rate 96000 Hz: use 8000 to 48000 Hz",
			riff(fmtChunk(tagPCM, 1, 96000, 16), data)},
		{"4 kHz", "unsupported sample rate 4000 Hz: use 8000 to 48000 Hz",
			riff(fmtChunk(tagPCM, 1, 4000, 16), data)},
		{"0 Hz", "unsupported sample rate 0 Hz: use 8000 to 48000 Hz",
			riff(fmtChunk(tagPCM, 1, 0, 16), data)},
		{"24-bit", "24-bit PCM is not supported: use 16-bit", riff(fmtChunk(tagPCM, 1, 8000, 24), data)},
		{"32-bit", "32-bit PCM is not supported: use 16-bit", riff(fmtChunk(tagPCM, 1, 8000, 32), data)},
		{"extensible 24-bit", "24-bit PCM is not supported: use 16-bit", riff(extFmt(tagPCM, 1, 8000, 24), data)},
		{"16-bit A-law", "A-law with 16 bits per sample is invalid: G.711 has 8",
			riff(fmtChunk(tagALaw, 1, 8000, 16), data)},
		{"truncated data", "truncated data chunk (header says 1000 bytes, file has 8)",
			riff(good, chunk{id: "data", body: pcm16(1, 2, 3, 4), size: u32(1000)})},
		{"4 GiB data", "truncated data chunk (header says 4294967294 bytes, file has 8)",
			riff(good, chunk{id: "data", body: pcm16(1, 2, 3, 4), size: u32(0xFFFFFFFE)})},
		{"truncated fmt", "truncated fmt chunk", riff(chunk{id: "fmt ", body: good.body[:10], size: u32(16)})},
		{"short fmt", "malformed fmt chunk (14 bytes, need at least 16)",
			riff(chunk{id: "fmt ", body: good.body[:14]}, data)},
		{"truncated LIST before fmt", `truncated "LIST" chunk`,
			riff(chunk{id: "LIST", body: []byte("INFO"), size: u32(0x7FFFFFFF)}, good, data)},
		{"binary chunk id", `truncated "\x00\xff\x01a" chunk`,
			riff(chunk{id: "\x00\xff\x01a", body: []byte("xx"), size: u32(100)})},
		{"missing fmt", "missing fmt chunk", riff(data)},
		{"missing data", "no audio data (missing data chunk)", riff(good)},
		{"neither", "no audio data (no fmt or data chunk)", riff(chunk{id: "LIST", body: []byte("INFO")})},
		{"header only", "no audio data (no fmt or data chunk)", []byte("RIFF\x04\x00\x00\x00WAVE")},
		{"empty data", "no audio data", riff(good, dataChunk(nil))},
		{"half a sample", "no audio data", riff(good, dataChunk([]byte{1}))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Parse(c.data)
			if err == nil {
				t.Fatalf("Parse accepted it: %v %d Hz, %d samples", a.Format, a.SampleRate, len(a.Samples))
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FormatError", err, err)
			}
			if err.Error() != c.want {
				t.Errorf("error %q, want %q", err, c.want)
			}
			if _, _, nerr := Normalize(c.data); nerr == nil || nerr.Error() != c.want {
				t.Errorf("Normalize error %v, want %q", nerr, c.want)
			}
		})
	}
}

// TestParseFirstChunkWins pins down what happens with duplicated chunks,
// which editors that append rather than rewrite produce.
func TestParseFirstChunkWins(t *testing.T) {
	b := riff(fmtChunk(tagPCM, 1, 8000, 16), dataChunk(pcm16(1)),
		fmtChunk(tagPCM, 2, 96000, 24), dataChunk(pcm16(2)))
	a, err := Parse(b)
	if err != nil || a.SampleRate != 8000 || !slices.Equal(a.Samples, []int16{1}) {
		t.Fatalf("got %+v, %v", a, err)
	}
}

// TestParseBoundedAllocation checks that size fields claiming gigabytes
// cost nothing: what Parse allocates follows the bytes actually present.
func TestParseBoundedAllocation(t *testing.T) {
	payload := bytes.Repeat([]byte{0x10}, 4096)
	inputs := [][]byte{
		riff(fmtChunk(tagPCM, 1, 8000, 16), chunk{id: "data", body: payload, size: u32(0xFFFFFFFE)}),
		riff(fmtChunk(tagPCM, 1, 8000, 16), chunk{id: "data", body: payload, size: u32(0xFFFFFFFF)}),
		riff(fmtChunk(tagPCM, 1, 8000, 8), chunk{id: "data", body: payload, size: u32(0xFFFFFFFF)}),
		riff(chunk{id: "LIST", body: payload, size: u32(0xFFFFFFFF)}),
		riff(chunk{id: "fmt ", body: payload, size: u32(0xFFFFFFFF)}),
	}
	for i, in := range inputs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range 10 {
			Parse(in)
		}
		runtime.ReadMemStats(&after)
		perCall := (after.TotalAlloc - before.TotalAlloc) / 10
		if limit := uint64(4*len(in) + 4096); perCall > limit {
			t.Errorf("input %d (%d bytes): Parse allocated %d bytes per call, limit %d", i, len(in), perCall, limit)
		}
	}
}

func TestDuration(t *testing.T) {
	cases := []struct {
		n, rate int
		want    string
	}{
		{8000, 8000, "1s"},
		{22050, 44100, "500ms"},
		{1, 3, "333.333333ms"},
		{0, 8000, "0s"},
		{100, 0, "0s"},
		{44100*3600 + 441, 44100, "1h0m0.01s"},
	}
	for _, c := range cases {
		a := &Audio{SampleRate: c.rate, Samples: make([]int16, c.n)}
		if got := a.Duration().String(); got != c.want {
			t.Errorf("%d samples at %d Hz: %s, want %s", c.n, c.rate, got, c.want)
		}
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{PCM: "PCM", ALaw: "A-law", ULaw: "μ-law", 0: "Format(0)"} {
		if f.String() != want {
			t.Errorf("%d: %q, want %q", int(f), f.String(), want)
		}
	}
}
