package rtptest

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"time"

	"xc5/media/wav"
)

// DigitOptions shape the RFC 4733 events SendDigitsWith sends.
type DigitOptions struct {
	// ZeroFirst makes each digit's first packet carry duration 0, as
	// sipp's DTMF pcaps (and some phones) do.
	ZeroFirst bool
	// Length of each digit's tone (100 ms if 0) and Gap after it (50 ms if 0).
	Length, Gap time.Duration
}

// SendDigits sends digits (0-9 * # A-D) as RFC 4733 events of payload
// type pt, each starting with a packet of duration 0 the way sipp does.
func (e *Endpoint) SendDigits(to netip.AddrPort, digits string, pt int) {
	e.SendDigitsWith(to, digits, pt, DigitOptions{ZeroFirst: true})
}

// SendDigitsWith sends digits as RFC 4733 events in real time: an update
// every 20 ms with growing duration, then three end packets.
func (e *Endpoint) SendDigitsWith(to netip.AddrPort, digits string, pt int, opt DigitOptions) {
	if opt.Length <= 0 {
		opt.Length = 100 * time.Millisecond
	}
	if opt.Gap <= 0 {
		opt.Gap = 50 * time.Millisecond
	}
	const keys = "0123456789*#ABCD"
	for _, d := range digits {
		ev := -1
		for i, k := range keys {
			if k == d {
				ev = i
			}
		}
		if ev < 0 {
			e.t.Errorf("rtptest: %q is not a DTMF digit", d)
			continue
		}
		e.sendEvent(to, pt, byte(ev), opt)
		time.Sleep(opt.Gap)
	}
}

func (e *Endpoint) sendEvent(to netip.AddrPort, pt int, ev byte, opt DigitOptions) {
	total := int(opt.Length / time.Millisecond * 8)
	e.send.Lock()
	start := e.ts
	e.send.Unlock()
	dur := 160
	if opt.ZeroFirst {
		dur = 0
	}
	for first := true; dur < total; first = false {
		e.event(to, pt, first, start, ev, false, dur)
		time.Sleep(20 * time.Millisecond)
		dur += 160
	}
	for range 3 {
		e.event(to, pt, false, start, ev, true, total)
	}
	e.send.Lock()
	e.ts = start + uint32(total) + uint32(opt.Gap/time.Millisecond*8)
	e.send.Unlock()
}

func (e *Endpoint) event(to netip.AddrPort, pt int, marker bool, ts uint32, ev byte, end bool, dur int) {
	p := []byte{ev, 10, 0, 0} // volume -10 dBm0
	if end {
		p[1] |= 0x80
	}
	binary.BigEndian.PutUint16(p[2:], uint16(min(dur, 0xffff)))
	e.send.Lock()
	defer e.send.Unlock()
	e.writeRTP(to, pt, marker, ts, p)
}

// read keeps what arrives until the socket closes.
func (e *Endpoint) read() {
	defer close(e.done)
	buf := make([]byte, 2048)
	for {
		n, src, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if n == 0 && isClosed(err) {
				return
			}
			continue
		}
		e.take(buf[:n], src)
	}
}

func (e *Endpoint) take(b []byte, src netip.AddrPort) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return
	}
	pt := int(b[1] & 0x7f)
	off := 12 + 4*int(b[0]&0x0f)
	if off > len(b) {
		return
	}
	payload := b[off:]
	e.mu.Lock()
	defer e.mu.Unlock()
	e.packets++
	e.from[src]++
	switch pt {
	case PCMU:
		for _, c := range payload {
			e.received = append(e.received, wav.DecodeULaw(c))
		}
	case PCMA:
		for _, c := range payload {
			e.received = append(e.received, wav.DecodeALaw(c))
		}
	default:
		if len(payload) < 4 || payload[0] > 15 {
			return
		}
		key := [3]uint32{binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint32(b[4:]), uint32(payload[0]) + 1}
		if key != e.lastEv {
			e.lastEv = key
			e.digits = append(e.digits, rune("0123456789*#ABCD"[payload[0]]))
		}
	}
}

// Received is all G.711 audio received so far, decoded, in order of
// arrival.
func (e *Endpoint) Received() []int16 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int16(nil), e.received...)
}

// Digits are the RFC 4733 digits received so far (any payload type other
// than PCMU and PCMA is taken for telephone-event), each once.
func (e *Endpoint) Digits() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return string(e.digits)
}

// Packets is how many RTP packets have arrived.
func (e *Endpoint) Packets() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.packets
}

// From is how many packets arrived from each source address.
func (e *Endpoint) From() map[netip.AddrPort]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[netip.AddrPort]int, len(e.from))
	for k, v := range e.from {
		m[k] = v
	}
	return m
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
