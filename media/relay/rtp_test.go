package relay

import (
	"encoding/binary"
	"testing"
)

// Whatever arrives, from whoever, the packet path must not panic:
// parsing, recording and DTMF detection see it all.
func FuzzPacket(f *testing.F) {
	ok := make([]byte, 172)
	ok[0] = 0x80
	f.Add(ok)
	ext := append([]byte{0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff}, ok[12:]...)
	f.Add(ext)
	f.Add([]byte{0xaf, 0xe5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte{0x80, 101, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 10, 0, 0})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if h, ok := parseRTP(pkt); ok && len(h.payload) > len(pkt)-12 {
			t.Fatalf("payload of %d bytes in a %d-byte packet", len(h.payload), len(pkt))
		}
		rec := &recording{max: 8000}
		for i := range 3 {
			rec.add(i%2, pkt, int64(i)*20e6, 0, 8)
		}
		var st dtmfState
		st.see(pkt, 101)
	})
}

func TestParseRTP(t *testing.T) {
	pkt := make([]byte, 12+4+8+160+3)
	pkt[0] = 0x80 | 0x20 | 0x10 | 1 // padding, extension, one CSRC
	pkt[1] = 0x80 | 8
	binary.BigEndian.PutUint16(pkt[2:], 7)
	binary.BigEndian.PutUint32(pkt[4:], 1234)
	binary.BigEndian.PutUint32(pkt[8:], 99)
	binary.BigEndian.PutUint16(pkt[18:], 1) // extension of one word
	pkt[len(pkt)-1] = 3
	h, ok := parseRTP(pkt)
	if !ok || h.pt != 8 || !h.marker || h.seq != 7 || h.ts != 1234 || h.ssrc != 99 || len(h.payload) != 160 {
		t.Fatalf("parsed %+v (ok %v)", h, ok)
	}
	for _, bad := range [][]byte{nil, pkt[:11], {0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, ok := parseRTP(bad); ok {
			t.Errorf("accepted % x", bad)
		}
	}
}
