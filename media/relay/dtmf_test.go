package relay

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/internal/rtptest"
)

// digitsOf collects what OnDTMF reports on side i.
func digitsOf(s *Session, i int) func() string {
	var mu sync.Mutex
	var got []rune
	s.Side(i).SetDTMFPayloadType(rtptest.TelephoneEvent)
	s.Side(i).OnDTMF(func(d rune) {
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
	})
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return string(got)
	}
}

func TestDTMF(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  rtptest.DigitOptions
	}{
		{"first packet duration 0", rtptest.DigitOptions{ZeroFirst: true, Length: 60 * time.Millisecond, Gap: 20 * time.Millisecond}},
		{"first packet duration 160", rtptest.DigitOptions{Length: 60 * time.Millisecond, Gap: 20 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, 31700, 31799)
			s, a, b := call(t, p)
			caller, callee := digitsOf(s, 0), digitsOf(s, 1)
			const keys = "1234567890*#ABCD"
			a.SendDigitsWith(s.Side(0).Local(), keys, rtptest.TelephoneEvent, tc.opt)
			b.SendDigitsWith(s.Side(1).Local(), "99", rtptest.TelephoneEvent, tc.opt)
			poll.Until(t, 5*time.Second, "the digits at B", func() bool { return len(b.Digits()) == len(keys) })
			poll.Until(t, 5*time.Second, "the digits at A", func() bool { return len(a.Digits()) == 2 })
			poll.Until(t, 5*time.Second, "the digits reported", func() bool { return len(caller()) >= len(keys) && len(callee()) >= 2 })
			time.Sleep(50 * time.Millisecond) // nothing more may come
			if got := caller(); got != keys {
				t.Errorf("side 0 reported %q, want %q", got, keys)
			}
			if got := callee(); got != "99" {
				t.Errorf("side 1 reported %q, want \"99\"", got)
			}
			if got := b.Digits(); got != keys {
				t.Errorf("B received %q: the events are relayed unchanged", got)
			}
		})
	}
}

// sipp's RFC 4733 captures start each digit with a packet of duration 0
// and end it with three end packets; each capture must report its digit
// once.
func TestDTMFSippPcap(t *testing.T) {
	var dir string
	for _, d := range []string{"/usr/share/sip-tester/pcap", "/usr/share/sip-tester"} {
		if _, err := os.Stat(filepath.Join(d, "dtmf_2833_1.pcap")); err == nil {
			dir = d
			break
		}
	}
	if dir == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("sipp's dtmf_2833_1.pcap is missing (install sip-tester)")
		}
		t.Skip("sipp's dtmf_2833_1.pcap is not installed")
	}
	p := newPool(t, 31800, 31899)
	s, a, b := call(t, p)
	got := digitsOf(s, 0)
	want := ""
	for _, name := range []string{"1", "2", "pound", "star", "0", "9"} {
		pkts, err := readPcapUDP(filepath.Join(dir, "dtmf_2833_"+name+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		for _, pkt := range pkts {
			a.Send(s.Side(0).Local(), pkt)
			time.Sleep(2 * time.Millisecond)
		}
		want += map[string]string{"pound": "#", "star": "*"}[name]
		if len(name) == 1 {
			want += name
		}
	}
	poll.Until(t, 5*time.Second, "the digits reported", func() bool { return len(got()) >= len(want) })
	poll.Until(t, 5*time.Second, "the packets relayed", func() bool { return b.Packets() == 60 })
	if got() != want {
		t.Errorf("reported %q, want %q", got(), want)
	}
}

// readPcapUDP returns the UDP payloads of a classic pcap file of Ethernet
// or Linux cooked frames carrying IPv4.
func readPcapUDP(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, fmt.Errorf("%s: short pcap", path)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: not a pcap file", path)
	}
	link := bo.Uint32(b[20:])
	var out [][]byte
	for off := 24; off+16 <= len(b); {
		n := int(bo.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			break
		}
		frame := b[off : off+n]
		off += n
		var ip []byte
		switch {
		case link == 1 && len(frame) > 14 && binary.BigEndian.Uint16(frame[12:]) == 0x0800:
			ip = frame[14:]
		case link == 113 && len(frame) > 16 && binary.BigEndian.Uint16(frame[14:]) == 0x0800:
			ip = frame[16:]
		default:
			continue
		}
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 17 {
			continue
		}
		hl := int(ip[0]&0x0f) * 4
		if len(ip) < hl+8 {
			continue
		}
		udp := ip[hl:]
		ulen := int(binary.BigEndian.Uint16(udp[4:]))
		if ulen < 8 || ulen > len(udp) {
			continue
		}
		out = append(out, udp[8:ulen])
	}
	return out, nil
}

func TestDTMFStateTable(t *testing.T) {
	ev := func(ssrc, ts uint32, event byte, end bool, dur uint16) []byte {
		b := make([]byte, 16)
		b[0], b[1] = 0x80, 101
		binary.BigEndian.PutUint32(b[4:], ts)
		binary.BigEndian.PutUint32(b[8:], ssrc)
		b[12] = event
		if end {
			b[13] = 0x80
		}
		binary.BigEndian.PutUint16(b[14:], dur)
		return b
	}
	for _, tc := range []struct {
		name string
		pkts [][]byte
		want string
	}{
		{"only a duration 0 packet arrives", [][]byte{ev(1, 100, 5, false, 0)}, "5"},
		{"only the end packets arrive", [][]byte{ev(1, 100, 11, true, 800), ev(1, 100, 11, true, 800)}, "#"},
		{"one press, all its packets", [][]byte{ev(1, 100, 1, false, 0), ev(1, 100, 1, false, 160), ev(1, 100, 1, true, 320), ev(1, 100, 1, true, 320)}, "1"},
		{"same key twice", [][]byte{ev(1, 100, 1, false, 0), ev(1, 100, 1, true, 160), ev(1, 900, 1, false, 0), ev(1, 900, 1, true, 160)}, "11"},
		{"new SSRC, same timestamp", [][]byte{ev(1, 100, 1, false, 0), ev(2, 100, 1, false, 0)}, "11"},
		{"flash and unknown events ignored", [][]byte{ev(1, 100, 16, false, 0), ev(1, 200, 200, false, 0)}, ""},
		{"short and other payload types ignored", [][]byte{ev(1, 100, 1, false, 0)[:14], append([]byte{0x80, 0}, ev(1, 100, 1, false, 0)[2:]...)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st dtmfState
			got := ""
			for _, p := range tc.pkts {
				if d, ok := st.see(p, 101); ok {
					got += string(d)
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
