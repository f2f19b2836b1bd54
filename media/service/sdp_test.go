package service

import "testing"

const offerPCMU = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

func TestCheckSDP(t *testing.T) {
	for _, tc := range []struct {
		name, sdp string
		ok        bool
	}{
		{"PCMU", offerPCMU, true},
		{"PCMA static", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n", true},
		{"G.729 only", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n", false},
		{"video only", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n", false},
		{"empty", "", false},
		{"garbage", "hello", false},
	} {
		if got := checkSDP([]byte(tc.sdp)) == ""; got != tc.ok {
			t.Errorf("%s: accepted %v, want %v (%s)", tc.name, got, tc.ok, checkSDP([]byte(tc.sdp)))
		}
	}
}

// FuzzCheckSDP: no offer makes the check panic.
func FuzzCheckSDP(f *testing.F) {
	f.Add([]byte(offerPCMU))
	f.Add([]byte("m=audio x RTP/AVP\r\na=rtpmap:\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) { checkSDP(b) })
}

// FuzzEventDetector: no payload makes the detector panic.
func FuzzEventDetector(f *testing.F) {
	f.Add(uint32(1), true, []byte{1, 0x80, 0, 0})
	f.Fuzz(func(t *testing.T, ts uint32, m bool, p []byte) {
		var d eventDetector
		d.packet(ts, m, p)
		d.packet(ts, !m, p)
	})
}
