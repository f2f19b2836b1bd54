package wav

import (
	"math"
	"testing"
)

func TestG711KnownValues(t *testing.T) {
	ulaw := []struct {
		code byte
		want int16
	}{
		{0xFF, 0}, {0x7F, 0}, {0x80, 32124}, {0x00, -32124},
		{0xFE, 8}, {0x7E, -8}, {0xF0, 120}, {0xEF, 132},
		{0xC0, 1884}, {0x40, -1884},
	}
	for _, c := range ulaw {
		if got := DecodeULaw(c.code); got != c.want {
			t.Errorf("DecodeULaw(%#02x) = %d, want %d", c.code, got, c.want)
		}
	}
	alaw := []struct {
		code byte
		want int16
	}{
		{0xD5, 8}, {0x55, -8}, {0xAA, 32256}, {0x2A, -32256},
		{0xD4, 24}, {0xC5, 264}, {0xF5, 528}, {0x80, 5504},
	}
	for _, c := range alaw {
		if got := DecodeALaw(c.code); got != c.want {
			t.Errorf("DecodeALaw(%#02x) = %d, want %d", c.code, got, c.want)
		}
	}
}

// TestG711DecodeShape checks all 256 codes at once: the sign bit splits
// them into mirror images, and within a sign magnitude grows with the code
// (after undoing the wire inversion).
func TestG711DecodeShape(t *testing.T) {
	for c := range 128 {
		// μ-law: 0x80|c positive, c its negative mirror; magnitude falls as
		// c rises (all bits inverted).
		p, n := DecodeULaw(byte(0x80|c)), DecodeULaw(byte(c))
		if p != -n || p < 0 {
			t.Errorf("μ-law %#02x=%d not the mirror of %#02x=%d", 0x80|c, p, c, n)
		}
		if c > 0 && DecodeULaw(byte(0x80|c)) >= DecodeULaw(byte(0x80|(c-1))) {
			t.Errorf("μ-law not monotonic at %#02x", 0x80|c)
		}
		// A-law: undo the even-bit inversion to get the magnitude order.
		m := byte(c) ^ 0x55
		pa, na := DecodeALaw(0x80|byte(c)), DecodeALaw(byte(c))
		if pa != -na || pa <= 0 {
			t.Errorf("A-law %#02x=%d not the mirror of %#02x=%d", 0x80|c, pa, c, na)
		}
		if m > 0 {
			lower := (m - 1) ^ 0x55
			if DecodeALaw(0x80|byte(c)) <= DecodeALaw(0x80|lower) {
				t.Errorf("A-law not monotonic at %#02x", 0x80|c)
			}
		}
	}
}

// TestG711RoundTrip runs every int16 through both codecs. G.711 fixes its
// decision levels at the segment boundaries, so the result is not always
// the nearest level (just below a boundary the coarser segment's level can
// be closer); what must hold is that the error stays within half a step of
// the sample's segment, that a larger input never decodes smaller, and
// that every level re-encodes to itself.
func TestG711RoundTrip(t *testing.T) {
	codecs := []struct {
		name string
		enc  func(int16) byte
		dec  func(byte) int16
	}{
		{"μ-law", EncodeULaw, DecodeULaw},
		{"A-law", EncodeALaw, DecodeALaw},
	}
	for _, c := range codecs {
		bad := 0
		prev := math.MinInt
		for x := math.MinInt16; x <= math.MaxInt16; x++ {
			got := int(c.dec(c.enc(int16(x))))
			if e := abs(got - x); e > abs(x)/32+8 || got < prev {
				if bad++; bad < 10 {
					t.Errorf("%s: %d -> %d (error %d, previous input gave %d)", c.name, x, got, e, prev)
				}
			}
			prev = got
		}
		for code := range 256 {
			l := c.dec(byte(code))
			if got := c.dec(c.enc(l)); got != l {
				t.Errorf("%s: level %d (code %#02x) re-encodes to %d", c.name, l, code, got)
			}
		}
	}
	// The extremes clip to the largest code of their sign.
	if EncodeULaw(math.MaxInt16) != 0x80 || EncodeULaw(math.MinInt16) != 0x00 {
		t.Errorf("μ-law extremes: %#02x %#02x", EncodeULaw(math.MaxInt16), EncodeULaw(math.MinInt16))
	}
	if EncodeALaw(math.MaxInt16) != 0xAA || EncodeALaw(math.MinInt16) != 0x2A {
		t.Errorf("A-law extremes: %#02x %#02x", EncodeALaw(math.MaxInt16), EncodeALaw(math.MinInt16))
	}
	// Silence encodes to the codes idle telephone lines carry.
	if EncodeULaw(0) != 0xFF || EncodeALaw(0) != 0xD5 {
		t.Errorf("silence: μ-law %#02x, A-law %#02x", EncodeULaw(0), EncodeALaw(0))
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
