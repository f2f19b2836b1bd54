package wav

// G.711 companding, per ITU-T Recommendation G.711, scaled to 16-bit
// linear samples the way telephony software conventionally does it (the
// 13-bit A-law and 14-bit μ-law magnitudes shifted into the top of an
// int16: μ-law 0x80 decodes to 32124, A-law 0xD5 to 8). The SIP media layer
// shares these with the prompt parser so a prompt and a live call sound
// the same.

// Decoding is a table look-up because it runs per sample on every RTP
// packet; the tables are built once from the reference algorithm rather
// than typed in, so they cannot disagree with the encoder.
var (
	alawToLinear [256]int16
	ulawToLinear [256]int16
)

func init() {
	for i := range 256 {
		alawToLinear[i] = alawDecode(byte(i))
		ulawToLinear[i] = ulawDecode(byte(i))
	}
}

// ulawBias is added to magnitudes before μ-law segmentation so that the
// segment boundaries fall on powers of two (G.711 §3.2).
const ulawBias = 0x84

// DecodeALaw expands one A-law code, for the SIP media layer's receive path
// and for A-law prompts.
func DecodeALaw(b byte) int16 { return alawToLinear[b] }

// DecodeULaw expands one μ-law code, for the SIP media layer's receive path
// and for μ-law prompts.
func DecodeULaw(b byte) int16 { return ulawToLinear[b] }

// alawDecode is the reference A-law expansion: even bits are inverted on
// the wire (XOR 0x55), the sign bit set means positive, and each decoded
// value sits in the middle of its quantisation interval.
func alawDecode(b byte) int16 {
	b ^= 0x55
	t := int32(b&0x0F) << 4
	seg := (b & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if b&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// ulawDecode is the reference μ-law expansion: all bits are inverted on the
// wire, the sign bit set means negative.
func ulawDecode(b byte) int16 {
	b = ^b
	t := (int32(b&0x0F) << 3) + ulawBias
	t <<= (b & 0x70) >> 4
	if b&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

// segment returns the G.711 segment (0..7) holding magnitude m, or 8 when
// m is beyond the last one and must be clipped.
func segment(m int32) int {
	seg := 0
	for m > 0xFF {
		m >>= 1
		seg++
	}
	return seg
}

// EncodeALaw compresses one linear sample, for the SIP media layer to send
// to A-law (European) trunks. Values beyond the A-law range clip to the
// largest code of the same sign.
func EncodeALaw(x int16) byte {
	mask := byte(0xD5) // positive: sign bit set, even bits inverted
	m := int32(x)
	if m < 0 {
		// One's complement keeps -1..-16 in the smallest negative step
		// rather than jumping to the next one.
		mask = 0x55
		m = -m - 1
	}
	seg := segment(m)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	var code byte
	if seg < 2 {
		code = byte(m>>4) & 0x0F
	} else {
		code = byte(m>>(seg+3)) & 0x0F
	}
	return (byte(seg)<<4 | code) ^ mask
}

// EncodeULaw compresses one linear sample, for the SIP media layer to send
// to μ-law (North American, Japanese) trunks. Values beyond the μ-law range
// clip to the largest code of the same sign.
func EncodeULaw(x int16) byte {
	mask := byte(0xFF)
	m := int32(x)
	if m < 0 {
		mask = 0x7F
		m = -m
	}
	m += ulawBias
	seg := segment(m)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	code := byte(seg)<<4 | byte(m>>(seg+3))&0x0F
	return code ^ mask
}
