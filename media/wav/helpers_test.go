package wav

import (
	"encoding/binary"
	"math"
)

// chunk is one RIFF chunk for hand-built test files. size overrides the
// length written in the header when non-nil, to build lying headers.
type chunk struct {
	id   string
	body []byte
	size *uint32
}

func u32(v uint32) *uint32 { return &v }

// riff assembles a RIFF/WAVE file, adding the pad byte after odd-sized
// chunks as the format requires.
func riff(chunks ...chunk) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVE")
	for _, c := range chunks {
		b = append(b, c.id...)
		size := uint32(len(c.body))
		if c.size != nil {
			size = *c.size
		}
		b = binary.LittleEndian.AppendUint32(b, size)
		b = append(b, c.body...)
		if len(c.body)%2 == 1 && c.size == nil {
			b = append(b, 0)
		}
	}
	binary.LittleEndian.PutUint32(b[4:8], uint32(len(b)-8))
	return b
}

// fmtChunk is a plain 16-byte WAVEFORMAT with consistent derived fields.
func fmtChunk(tag, channels uint16, rate uint32, bits uint16) chunk {
	le := binary.LittleEndian
	align := channels * ((bits + 7) / 8)
	b := le.AppendUint16(nil, tag)
	b = le.AppendUint16(b, channels)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, rate*uint32(align))
	b = le.AppendUint16(b, align)
	b = le.AppendUint16(b, bits)
	return chunk{id: "fmt ", body: b}
}

// extFmt is a 40-byte WAVEFORMATEXTENSIBLE whose subformat is the standard
// GUID for sub; guid replaces the whole GUID when given.
func extFmt(sub, channels uint16, rate uint32, bits uint16, guid ...byte) chunk {
	c := fmtChunk(tagExtensible, channels, rate, bits)
	le := binary.LittleEndian
	b := le.AppendUint16(c.body, 22) // cbSize
	b = le.AppendUint16(b, bits)     // valid bits
	b = le.AppendUint32(b, 0x4)      // front centre
	if guid == nil {
		guid = le.AppendUint16(nil, sub)
		guid = append(guid, ksSubtypeSuffix...)
	}
	c.body = append(b, guid...)
	return c
}

func dataChunk(b []byte) chunk { return chunk{id: "data", body: b} }

func pcm16(s ...int16) []byte {
	var b []byte
	for _, v := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

// sine returns seconds of a sine at freq Hz and the given peak amplitude.
func sine(freq float64, rate int, seconds, amp float64) []int16 {
	n := int(math.Round(seconds * float64(rate)))
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

// rms is computed over the middle of s, skipping the filter's fade-in and
// fade-out at the ends.
func rms(s []int16, skip int) float64 {
	if len(s) <= 2*skip {
		return 0
	}
	var sum float64
	for _, v := range s[skip : len(s)-skip] {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)-2*skip))
}

// zeroCrossings counts sign changes, a robust frequency estimate for a
// pure tone: 2 per cycle.
func zeroCrossings(s []int16) int {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return n
}

// toneLevel is the amplitude of the freq component of s (Goertzel), over
// the middle of s.
func toneLevel(s []int16, rate int, freq float64, skip int) float64 {
	s = s[skip : len(s)-skip]
	w := 2 * math.Pi * freq / float64(rate)
	var re, im float64
	for i, v := range s {
		re += float64(v) * math.Cos(w*float64(i))
		im -= float64(v) * math.Sin(w*float64(i))
	}
	return 2 * math.Hypot(re, im) / float64(len(s))
}

func dB(ratio float64) float64 { return 20 * math.Log10(ratio) }
