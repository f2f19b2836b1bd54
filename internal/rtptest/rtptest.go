// Package rtptest is the audio half of a test phone: a G.711 RTP endpoint
// on loopback that sends tones and RFC 4733 digits in real time and keeps
// what it receives, decoded, so a test can look for a tone in it
// (internal/audiotest) rather than trust that packets merely flowed.
package rtptest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"xc5/media/wav"
)

// Payload types the endpoint offers and understands.
const (
	PCMU           = 0
	PCMA           = 8
	TelephoneEvent = 101
)

// Endpoint is one RTP socket on 127.0.0.1 with its own SSRC, sequence
// numbers and timestamps.
type Endpoint struct {
	t    testing.TB
	conn *net.UDPConn
	done chan struct{}

	send sync.Mutex // serialises sending and the RTP counters
	ssrc uint32
	seq  uint16
	ts   uint32

	mu       sync.Mutex
	received []int16
	packets  int
	digits   []rune
	lastEv   [3]uint32 // ssrc, ts, event+1 of the last RFC 4733 event seen
	from     map[netip.AddrPort]int
}

// Listen opens an endpoint on a random loopback port; it is closed when
// the test ends.
func Listen(t testing.TB) *Endpoint {
	t.Helper()
	return ListenOn(t, netip.MustParseAddrPort("127.0.0.1:0"))
}

// ListenOn opens an endpoint on addr, for a test that needs a known port.
func ListenOn(t testing.TB, addr netip.AddrPort) *Endpoint {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("rtptest: %v", err)
	}
	h := fnv.New32a()
	fmt.Fprint(h, conn.LocalAddr().String(), time.Now().UnixNano())
	e := &Endpoint{t: t, conn: conn, done: make(chan struct{}), ssrc: h.Sum32(), seq: uint16(h.Sum32() >> 7), ts: h.Sum32() >> 3, from: map[netip.AddrPort]int{}}
	go e.read()
	t.Cleanup(e.Close)
	return e
}

// Addr is where the endpoint receives (and sends from).
func (e *Endpoint) Addr() netip.AddrPort {
	return e.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Close stops the endpoint; it is safe to call more than once.
func (e *Endpoint) Close() {
	if e.conn.Close() == nil {
		<-e.done
	}
}

// SDP is a minimal offer or answer for this endpoint with the given
// payload types (PCMU, PCMA and telephone-event 101 if none).
// sessionID should be digits; anything else is hashed into some.
func (e *Endpoint) SDP(sessionID string, pts ...int) []byte {
	if _, err := strconv.ParseUint(sessionID, 10, 64); err != nil {
		h := fnv.New64a()
		h.Write([]byte(sessionID))
		sessionID = strconv.FormatUint(h.Sum64()>>1, 10)
	}
	if len(pts) == 0 {
		pts = []int{PCMU, PCMA, TelephoneEvent}
	}
	a := e.Addr()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- %s %s IN IP4 %v\r\ns=rtptest\r\nc=IN IP4 %v\r\nt=0 0\r\nm=audio %d RTP/AVP", sessionID, sessionID, a.Addr(), a.Addr(), a.Port())
	for _, pt := range pts {
		fmt.Fprintf(&b, " %d", pt)
	}
	b.WriteString("\r\n")
	for _, pt := range pts {
		switch pt {
		case PCMU:
			b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
		case PCMA:
			b.WriteString("a=rtpmap:8 PCMA/8000\r\n")
		default:
			fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", pt, pt)
		}
	}
	b.WriteString("a=ptime:20\r\na=sendrecv\r\n")
	return []byte(b.String())
}

// SendTone sends d of a sine of freq Hz (amplitude 0.3) to `to` in 20 ms
// packets paced in real time, G.711 encoded by pt (PCMU or PCMA).
func (e *Endpoint) SendTone(to netip.AddrPort, pt int, freq float64, d time.Duration) {
	stop := make(chan struct{})
	e.tone(to, pt, freq, int(d/(20*time.Millisecond)), stop)
}

// StartTone sends a tone until stop is called; stop waits for the sender.
func (e *Endpoint) StartTone(to netip.AddrPort, pt int, freq float64) (stop func()) {
	ch, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		e.tone(to, pt, freq, -1, ch)
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(ch) })
		<-done
	}
}

// tone sends n packets (forever if n < 0) until stop is closed.
func (e *Endpoint) tone(to netip.AddrPort, pt int, freq float64, n int, stop chan struct{}) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	payload := make([]byte, 160)
	phase := 0
	for i := 0; n < 0 || i < n; i++ {
		for j := range payload {
			x := int16(0.3 * 32767 * math.Sin(2*math.Pi*freq*float64(phase)/8000))
			phase++
			if pt == PCMA {
				payload[j] = wav.EncodeALaw(x)
			} else {
				payload[j] = wav.EncodeULaw(x)
			}
		}
		e.sendRTP(to, pt, i == 0, payload, 160)
		select {
		case <-stop:
			return
		case <-e.done:
			return
		case <-tick.C:
		}
	}
}

// sendRTP sends one packet and advances the timestamp by samples.
func (e *Endpoint) sendRTP(to netip.AddrPort, pt int, marker bool, payload []byte, samples uint32) {
	e.send.Lock()
	defer e.send.Unlock()
	e.writeRTP(to, pt, marker, e.ts, payload)
	e.ts += samples
}

// writeRTP sends one packet with timestamp ts; e.send is held.
func (e *Endpoint) writeRTP(to netip.AddrPort, pt int, marker bool, ts uint32, payload []byte) {
	b := make([]byte, 12, 12+len(payload))
	b[0] = 0x80
	b[1] = byte(pt & 0x7f)
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], e.seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], e.ssrc)
	e.seq++
	if _, err := e.conn.WriteToUDPAddrPort(append(b, payload...), to); err != nil && !errors.Is(err, net.ErrClosed) {
		e.t.Errorf("rtptest: send to %v: %v", to, err)
	}
}

// Send sends one raw packet (an RTP packet from a capture, say) to `to`.
func (e *Endpoint) Send(to netip.AddrPort, pkt []byte) {
	if _, err := e.conn.WriteToUDPAddrPort(pkt, to); err != nil && !errors.Is(err, net.ErrClosed) {
		e.t.Errorf("rtptest: send to %v: %v", to, err)
	}
}
