package relay

import "encoding/binary"

// rtpHeader is what the relay needs of an RTP packet (RFC 3550 §5.1).
type rtpHeader struct {
	pt      int
	marker  bool
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
}

// parseRTP returns the header fields and the payload (without CSRCs,
// extension or padding), or false for anything that is not RTP version 2
// or does not add up: a stranger's garbage is dropped, never trusted.
func parseRTP(b []byte) (rtpHeader, bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return rtpHeader{}, false
	}
	h := rtpHeader{
		pt:     int(b[1] & 0x7f),
		marker: b[1]&0x80 != 0,
		seq:    binary.BigEndian.Uint16(b[2:4]),
		ts:     binary.BigEndian.Uint32(b[4:8]),
		ssrc:   binary.BigEndian.Uint32(b[8:12]),
	}
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // header extension
		if len(b) < off+4 {
			return rtpHeader{}, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:off+4]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > 0 { // padding: the last byte counts it
		end -= int(b[end-1])
	}
	if off > end {
		return rtpHeader{}, false
	}
	h.payload = b[off:end]
	return h, true
}
