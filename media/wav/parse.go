package wav

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Sample rates Parse accepts: telephone rate up to the highest rate speech
// tools commonly write. Anything higher is a music production file that
// should be exported again for telephony rather than resampled blindly.
const (
	MinSampleRate = 8000
	MaxSampleRate = 48000
)

// WAVE format tags (wFormatTag) that Parse decodes.
const (
	tagPCM        = 0x0001
	tagALaw       = 0x0006
	tagULaw       = 0x0007
	tagExtensible = 0xFFFE
)

// tagNames names the encodings that customers actually upload by mistake,
// so the rejection says "MP3" rather than only a number.
var tagNames = map[uint16]string{
	0x0002: "Microsoft ADPCM",
	0x0003: "IEEE float",
	0x0011: "IMA ADPCM",
	0x0022: "TrueSpeech",
	0x0031: "GSM 6.10",
	0x0040: "G.721 ADPCM",
	0x0045: "G.726 ADPCM",
	0x0050: "MPEG",
	0x0055: "MP3",
	0x0064: "G.726 ADPCM",
	0x0065: "G.722 ADPCM",
	0x00FF: "AAC",
	0x0160: "WMA",
	0x0161: "WMA",
	0x0162: "WMA Pro",
	0x1610: "AAC",
	0x2000: "AC-3",
	0xF1AC: "FLAC",
}

// ksSubtypeSuffix is the last 14 bytes shared by every KSDATAFORMAT_SUBTYPE
// GUID derived from a format tag; the first two bytes are the tag itself.
var ksSubtypeSuffix = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// maxChunkSize is how RIFF writers that cannot seek back (pipes, streaming
// encoders) mark a data chunk whose length they never learnt.
const maxChunkSize = 0xFFFFFFFF

// fmtInfo is what Parse needs from the fmt chunk once it is validated.
type fmtInfo struct {
	format Format
	rate   int
	bits   int
}

// Parse decodes an uploaded WAV file. It is strict about what it cannot
// play (stereo, compressed encodings, odd sample sizes, rates outside
// MinSampleRate..MaxSampleRate) and lenient about header details that
// players ignore too: the RIFF size, byteRate and blockAlign are not
// checked, chunks it does not know are skipped, and a trailing partial
// sample is dropped. Every error is a *FormatError. Memory use is bounded
// by the input: no header field is trusted for an allocation size.
func Parse(data []byte) (*Audio, error) {
	payload, info, err := chunks(data)
	if err != nil {
		return nil, err
	}
	samples := decode(payload, info)
	if len(samples) == 0 {
		return nil, errorf("no audio data")
	}
	return &Audio{Format: info.format, SampleRate: info.rate, BitsPerSample: info.bits, Samples: samples}, nil
}

// chunks validates the file and finds its format and its audio data (a
// slice of data, not a copy), leaving the decoding to the caller: Parse
// decodes all of it at once, Normalize a block at a time.
func chunks(data []byte) (payload []byte, info *fmtInfo, err error) {
	if err := checkHeader(data); err != nil {
		return nil, nil, err
	}
	var haveFmt, haveData bool
	for off := 12; off+8 <= len(data) && !(haveFmt && haveData); {
		id := data[off : off+4]
		size := uint64(binary.LittleEndian.Uint32(data[off+4 : off+8]))
		off += 8
		rest := uint64(len(data) - off)
		switch string(id) {
		case "fmt ":
			if size > rest {
				return nil, nil, errorf("truncated fmt chunk")
			}
			if !haveFmt {
				haveFmt = true
				fi, err := parseFmt(data[off : off+int(size)])
				if err != nil {
					return nil, nil, err
				}
				info = fi
			}
		case "data":
			if size == maxChunkSize {
				size = rest
			} else if size > rest {
				return nil, nil, errorf("truncated data chunk (header says %d bytes, file has %d)", size, rest)
			}
			if !haveData {
				haveData = true
				payload = data[off : off+int(size)]
			}
		default:
			if size > rest {
				// Unknown chunks after the audio are harmless (the loop has
				// stopped by then): only a broken file runs out before its
				// fmt and data.
				return nil, nil, errorf("truncated %s chunk", chunkName(id))
			}
		}
		// Chunks are word aligned: an odd-sized chunk is followed by a pad
		// byte that its size does not count. size <= rest here, so this
		// cannot overflow.
		off += int(size + size&1)
	}
	if !haveFmt {
		if !haveData {
			return nil, nil, errorf("no audio data (no fmt or data chunk)")
		}
		return nil, nil, errorf("missing fmt chunk")
	}
	if !haveData {
		return nil, nil, errorf("no audio data (missing data chunk)")
	}
	return payload, info, nil
}

// checkHeader tells apart the files people upload instead of a WAV, so the
// message can say which one it was.
func checkHeader(data []byte) error {
	if len(data) == 0 {
		return errorf("empty file")
	}
	if len(data) >= 12 && string(data[0:4]) == "RIFF" {
		if string(data[8:12]) == "WAVE" {
			return nil
		}
		return errorf("not a WAV file (RIFF type %s)", chunkName(data[8:12]))
	}
	switch {
	case bytes.HasPrefix(data, []byte("RIFX")):
		return errorf("big-endian WAV (RIFX) is not supported: use a standard little-endian WAV")
	case bytes.HasPrefix(data, []byte("RF64")), bytes.HasPrefix(data, []byte("BW64")):
		return errorf("RF64 WAV is not supported: use a standard WAV")
	case bytes.HasPrefix(data, []byte("ID3")),
		len(data) >= 2 && data[0] == 0xFF && data[1]&0xE0 == 0xE0:
		return errorf("not a WAV file (no RIFF/WAVE header): this looks like MP3")
	case bytes.HasPrefix(data, []byte("OggS")):
		return errorf("not a WAV file (no RIFF/WAVE header): this looks like Ogg")
	case bytes.HasPrefix(data, []byte("fLaC")):
		return errorf("not a WAV file (no RIFF/WAVE header): this looks like FLAC")
	case bytes.HasPrefix(data, []byte("FORM")):
		return errorf("not a WAV file (no RIFF/WAVE header): this looks like AIFF")
	}
	return errorf("not a WAV file (no RIFF/WAVE header)")
}

// parseFmt validates the fmt chunk against what the media service plays.
// The checks run from the most fundamental (what encoding) to the most
// specific (sample size), so a file that is wrong in several ways gets the
// message that matters most.
func parseFmt(b []byte) (*fmtInfo, error) {
	if len(b) < 16 {
		return nil, errorf("malformed fmt chunk (%d bytes, need at least 16)", len(b))
	}
	tag := binary.LittleEndian.Uint16(b[0:2])
	channels := binary.LittleEndian.Uint16(b[2:4])
	rate := binary.LittleEndian.Uint32(b[4:8])
	bits := binary.LittleEndian.Uint16(b[14:16])
	if tag == tagExtensible {
		// WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4)
		// subFormat GUID(16) follow the 16 common bytes.
		if len(b) < 40 || binary.LittleEndian.Uint16(b[16:18]) < 22 {
			return nil, errorf("malformed fmt chunk (WAVE_FORMAT_EXTENSIBLE too short)")
		}
		guid := b[24:40]
		if !bytes.Equal(guid[2:], ksSubtypeSuffix) {
			return nil, errorf("unsupported WAV encoding (extensible subformat %s): use PCM or G.711", guidString(guid))
		}
		tag = binary.LittleEndian.Uint16(guid[0:2])
		if tag == tagExtensible {
			return nil, errorf("malformed fmt chunk (extensible subformat is itself extensible)")
		}
	}
	var f Format
	switch tag {
	case tagPCM:
		f = PCM
	case tagALaw:
		f = ALaw
	case tagULaw:
		f = ULaw
	default:
		if name, ok := tagNames[tag]; ok {
			return nil, errorf("unsupported WAV encoding %d (%s): use PCM or G.711", tag, name)
		}
		return nil, errorf("unsupported WAV encoding %d: use PCM or G.711", tag)
	}
	switch {
	case channels == 0:
		return nil, errorf("invalid channel count 0")
	case channels == 2:
		return nil, errorf("stereo audio (2 channels): prompts must be mono")
	case channels > 2:
		return nil, errorf("multichannel audio (%d channels): prompts must be mono", channels)
	}
	if rate < MinSampleRate || rate > MaxSampleRate {
		return nil, errorf("unsupported sample rate %d Hz: use %d to %d Hz", rate, MinSampleRate, MaxSampleRate)
	}
	switch f {
	case PCM:
		if bits != 8 && bits != 16 {
			return nil, errorf("%d-bit PCM is not supported: use 16-bit", bits)
		}
	default:
		if bits != 8 {
			return nil, errorf("%s with %d bits per sample is invalid: G.711 has 8", f, bits)
		}
	}
	return &fmtInfo{format: f, rate: int(rate), bits: int(bits)}, nil
}

// decode expands the data chunk to linear samples. The result is at most
// twice len(payload) bytes, whatever the header said.
func decode(payload []byte, info *fmtInfo) []int16 {
	out := make([]int16, sampleCount(payload, info))
	decodeInto(out, payload, info)
	return out
}

// sampleCount is the number of whole samples in payload (a trailing
// partial sample is dropped).
func sampleCount(payload []byte, info *fmtInfo) int {
	if info.bits == 16 {
		return len(payload) / 2
	}
	return len(payload)
}

// decodeInto expands the first len(out) samples of payload into out.
func decodeInto(out []int16, payload []byte, info *fmtInfo) {
	if info.bits == 16 {
		for i := range out {
			out[i] = int16(binary.LittleEndian.Uint16(payload[2*i:]))
		}
		return
	}
	payload = payload[:len(out)]
	switch info.format {
	case ALaw:
		for i, b := range payload {
			out[i] = alawToLinear[b]
		}
	case ULaw:
		for i, b := range payload {
			out[i] = ulawToLinear[b]
		}
	default:
		// 8-bit WAV PCM is unsigned with 128 as silence.
		for i, b := range payload {
			out[i] = (int16(b) - 128) << 8
		}
	}
}

// chunkName quotes a four-character code for a message, escaping bytes
// that would garble it (binary junk is what broken uploads contain).
func chunkName(id []byte) string {
	return fmt.Sprintf("%q", id)
}

// guidString formats a GUID the way Windows tools display it, so a support
// engineer can look the subformat up.
func guidString(g []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("{%08X-%04X-%04X-%X-%X}", le.Uint32(g[0:4]), le.Uint16(g[4:6]), le.Uint16(g[6:8]), g[8:10], g[10:16])
}
