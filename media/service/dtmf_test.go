package service

import "testing"

// ev is one telephone-event packet.
type ev struct {
	ts     uint32
	marker bool
	event  uint8
	end    bool
	dur    uint16
}

func (e ev) payload() []byte {
	b := []byte{e.event, 10, byte(e.dur >> 8), byte(e.dur)}
	if e.end {
		b[1] |= 0x80
	}
	return b
}

func TestEventDetector(t *testing.T) {
	for _, tc := range []struct {
		name string
		pkts []ev
		want string
	}{
		{"duration-0 start, end retransmitted (sipp's pcap)", []ev{
			{13280, true, 1, false, 0}, {13280, false, 1, false, 320}, {13280, false, 1, false, 640},
			{13280, false, 1, true, 2240}, {13280, false, 1, true, 2240}, {13280, false, 1, true, 2240}}, "1"},
		{"only end packets", []ev{{100, false, 5, true, 800}, {100, false, 5, true, 800}}, "5"},
		{"two presses of a key", []ev{
			{100, true, 5, false, 160}, {100, false, 5, true, 800},
			{900, true, 5, false, 160}, {900, false, 5, true, 800}}, "55"},
		{"same timestamp, new marked press after the end (diago's writer without audio)", []ev{
			{100, true, 6, false, 160}, {100, false, 6, true, 800}, {100, false, 6, true, 800},
			{100, true, 6, false, 160}, {100, false, 6, true, 800}}, "66"},
		{"same timestamp, another key", []ev{
			{100, true, 5, false, 160}, {100, false, 5, true, 800}, {100, true, 6, false, 160}}, "56"},
		{"late retransmission of an earlier press", []ev{
			{100, true, 1, false, 160}, {100, false, 1, true, 800},
			{900, true, 2, false, 160}, {100, false, 1, true, 800}, {900, false, 2, true, 800}}, "12"},
		{"long press in two segments", []ev{
			{1000, true, 0, false, 65535}, {1000 + 65535, false, 0, false, 400}, {1000 + 65535, false, 0, true, 800}}, "0"},
		{"star, pound, A", []ev{{1, true, 10, true, 0}, {2, true, 11, true, 0}, {3, true, 12, true, 0}}, "*#A"},
		{"not a key (flash)", []ev{{1, true, 16, false, 0}}, ""},
		{"short payload", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d eventDetector
			got := ""
			for _, p := range tc.pkts {
				if r := d.packet(p.ts, p.marker, p.payload()); r != 0 {
					got += string(r)
				}
			}
			if d.packet(5, true, []byte{1, 2}) != 0 {
				t.Error("a 2-byte payload gave a key")
			}
			if got != tc.want {
				t.Fatalf("keys %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInfoDigit(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		want     rune
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"Application/DTMF-Relay; charset=x", "Duration=100\nsignal= *\n", '*', true},
		{"application/dtmf-relay", "Signal=11\r\n", '#', true},
		{"application/dtmf", "5", '5', true},
		{"application/dtmf", "#\r\n", '#', true},
		{"application/dtmf", "d", 'D', true},
		{"application/dtmf", "55", 0, false},
		{"application/dtmf-relay", "Duration=160", 0, false},
		{"application/dtmf", "x", 0, false},
		{"text/plain", "5", 0, false},
	} {
		got, ok := infoDigit(tc.ct, []byte(tc.body))
		if got != tc.want || ok != tc.ok {
			t.Errorf("infoDigit(%q, %q) = %q %v, want %q %v", tc.ct, tc.body, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMatchKeys(t *testing.T) {
	keys := []string{"1", "5666", "57", "5"}
	for _, tc := range []struct {
		digits        string
		exact, longer bool
	}{
		{"1", true, false}, {"5", true, true}, {"56", false, true}, {"5666", true, false}, {"9", false, false}, {"58", false, false},
	} {
		e, l := matchKeys(keys, tc.digits)
		if e != tc.exact || l != tc.longer {
			t.Errorf("matchKeys(%q) = %v %v, want %v %v", tc.digits, e, l, tc.exact, tc.longer)
		}
	}
}
