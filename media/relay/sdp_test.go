package relay

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

const phoneSDP = "v=0\r\n" +
	"o=- 123 456 IN IP4 192.168.1.20\r\n" +
	"s=-\r\n" +
	"c=IN IP4 192.168.1.20\r\n" +
	"t=0 0\r\n" +
	"m=audio 4000 RTP/AVP 8 0 101\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-16\r\n" +
	"a=rtcp:4001 IN IP4 192.168.1.20\r\n" +
	"a=sendrecv\r\n"

func TestSDPAddr(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string // "" for an error
	}{
		{"session c=", phoneSDP, "192.168.1.20:4000"},
		{"media c= wins", "v=0\nc=IN IP4 10.0.0.1\nm=audio 5000 RTP/AVP 0\nc=IN IP4 10.0.0.2\n", "10.0.0.2:5000"},
		{"audio after video", "v=0\nc=IN IP4 10.0.0.1\nm=video 6000 RTP/AVP 96\nc=IN IP4 10.0.0.9\nm=audio 5000 RTP/AVP 0\n", "10.0.0.1:5000"},
		{"IPv6", "v=0\r\nc=IN IP6 2001:db8::1\r\nm=audio 5000 RTP/AVP 0\r\n", "[2001:db8::1]:5000"},
		{"port count and ttl", "c=IN IP4 224.2.1.1/127\nm=audio 5000/2 RTP/AVP 0\n", "224.2.1.1:5000"},
		{"no audio", "v=0\nc=IN IP4 10.0.0.1\nm=video 6000 RTP/AVP 96\n", ""},
		{"rejected audio", "c=IN IP4 10.0.0.1\nm=audio 0 RTP/AVP 0\n", ""},
		{"no c=", "v=0\nm=audio 5000 RTP/AVP 0\n", ""},
		{"bad address", "c=IN IP4 phone.example\nm=audio 5000 RTP/AVP 0\n", ""},
		{"IP4 with v6 address", "c=IN IP4 ::1\nm=audio 5000 RTP/AVP 0\n", ""},
		{"bad port", "c=IN IP4 10.0.0.1\nm=audio 70000 RTP/AVP 0\n", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SDPAddr([]byte(tc.body))
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Fatalf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
	if _, err := SDPAddr([]byte("v=0\n")); !errors.Is(err, ErrNoAudio) {
		t.Errorf("err = %v, want ErrNoAudio", err)
	}
}

func TestRewriteSDP(t *testing.T) {
	local := netip.MustParseAddrPort("203.0.113.5:10002")
	got := string(RewriteSDP([]byte(phoneSDP), local))
	want := strings.NewReplacer(
		"c=IN IP4 192.168.1.20", "c=IN IP4 203.0.113.5",
		"m=audio 4000", "m=audio 10002",
		"a=rtcp:4001 IN IP4 192.168.1.20", "a=rtcp:10003 IN IP4 203.0.113.5",
	).Replace(phoneSDP)
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Other media keep their own address; LF endings and a missing final
	// newline are kept.
	in := "v=0\nc=IN IP4 10.0.0.1\nm=audio 5000 RTP/AVP 0\nm=video 6000 RTP/AVP 96\nc=IN IP4 10.0.0.9"
	want = "v=0\nc=IN IP4 203.0.113.5\nm=audio 10002 RTP/AVP 0\nm=video 6000 RTP/AVP 96\nc=IN IP4 10.0.0.9"
	if got := string(RewriteSDP([]byte(in), local)); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	v6 := netip.MustParseAddrPort("[2001:db8::5]:10002")
	if a, err := SDPAddr(RewriteSDP([]byte(phoneSDP), v6)); err != nil || a != v6 {
		t.Errorf("IPv6 rewrite parses back as %v, %v", a, err)
	}
	noAudio := []byte("v=0\nm=video 6000 RTP/AVP 96\n")
	if got := RewriteSDP(noAudio, local); !bytes.Equal(got, noAudio) {
		t.Errorf("no audio: %q", got)
	}
}

func TestSDPCodecs(t *testing.T) {
	got, err := SDPCodecs([]byte(phoneSDP))
	if err != nil {
		t.Fatal(err)
	}
	want := []Codec{{8, "PCMA", 8000}, {0, "PCMU", 8000}, {101, "telephone-event", 8000}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("codec %d = %v, want %v", i, got[i], want[i])
		}
	}
	if PT(got, "TELEPHONE-EVENT") != 101 || PT(got, "G729") != -1 {
		t.Error("PT lookup")
	}
	if _, err := SDPCodecs([]byte("v=0\n")); !errors.Is(err, ErrNoAudio) {
		t.Errorf("err = %v, want ErrNoAudio", err)
	}
}

func FuzzSDP(f *testing.F) {
	f.Add([]byte(phoneSDP), uint16(10002), false)
	f.Add([]byte("c=IN IP4 10.0.0.1\nm=audio 5000/2 RTP/AVP 0\nc=IN IP6 ::1\r"), uint16(1), true)
	f.Add([]byte("m=video 1 x\nm=audio 2 y\na=rtcp:3\n"), uint16(65535), false)
	f.Fuzz(func(t *testing.T, body []byte, port uint16, v6 bool) {
		_, errIn := SDPAddr(body)
		SDPCodecs(body)
		if port == 0 {
			port = 1
		}
		local := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.7"), port)
		if v6 {
			local = netip.AddrPortFrom(netip.MustParseAddr("2001:db8::7"), port)
		}
		out := RewriteSDP(body, local)
		if errIn != nil {
			return
		}
		got, err := SDPAddr(out)
		if err != nil || got != local {
			t.Fatalf("RewriteSDP(%q) = %q parses as %v, %v; want %v", body, out, got, err, local)
		}
	})
}
