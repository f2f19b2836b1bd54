package relay

// dtmfState remembers the last RFC 4733 event seen on a side, so that the
// packets of one event (its updates and the three end packets) report one
// digit. An event is identified by SSRC, RTP timestamp (the event's start,
// the same in all its packets) and event code; the first packet of a new
// one reports, whatever its duration: senders such as sipp's pcaps start
// with duration 0, and waiting for a later packet would lose a digit
// whose other packets are lost.
type dtmfState struct {
	seen  bool
	ssrc  uint32
	ts    uint32
	event byte
}

// digits maps RFC 4733 event codes 0-15 to the keys.
const digits = "0123456789*#ABCD"

func (st *dtmfState) see(pkt []byte, pt int) (rune, bool) {
	h, ok := parseRTP(pkt)
	if !ok || h.pt != pt || len(h.payload) < 4 {
		return 0, false
	}
	ev := h.payload[0]
	if int(ev) >= len(digits) {
		return 0, false
	}
	if st.seen && st.ssrc == h.ssrc && st.ts == h.ts && st.event == ev {
		return 0, false
	}
	*st = dtmfState{seen: true, ssrc: h.ssrc, ts: h.ts, event: ev}
	return rune(digits[ev]), true
}
