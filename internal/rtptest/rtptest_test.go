package rtptest

import (
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/internal/poll"
	"xc5/media/relay"
)

// Two endpoints straight to each other: what one sends, the other hears,
// decoded by payload type, and digits arrive once each.
func TestEndpointToEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		pt   int
		freq float64
	}{
		{"PCMU 1 kHz", PCMU, 1000},
		{"PCMA 600 Hz", PCMA, 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := Listen(t), Listen(t)
			a.SendTone(b.Addr(), tc.pt, tc.freq, 200*time.Millisecond)
			poll.Until(t, 5*time.Second, "the tone", func() bool { return len(b.Received()) >= 1600 })
			got := b.Received()
			if len(got) != 1600 || !audiotest.Has(got, 8000, tc.freq) {
				t.Errorf("received %d samples, tone found %v", len(got), audiotest.Has(got, 8000, tc.freq))
			}
			if from := b.From(); from[a.Addr()] != 10 {
				t.Errorf("packets by source %v, want 10 from %v", from, a.Addr())
			}
		})
	}
	a, b := Listen(t), Listen(t)
	stop := a.StartTone(b.Addr(), PCMU, 1000)
	poll.Until(t, 5*time.Second, "the continuous tone", func() bool { return b.Packets() >= 5 })
	stop()
	a.SendDigitsWith(b.Addr(), "1#", TelephoneEvent, DigitOptions{ZeroFirst: true, Length: 40 * time.Millisecond, Gap: 10 * time.Millisecond})
	poll.Until(t, 5*time.Second, "the digits", func() bool { return b.Digits() == "1#" })
}

func TestSDP(t *testing.T) {
	e := Listen(t)
	body := e.SDP("call-42")
	addr, err := relay.SDPAddr(body)
	if err != nil || addr != e.Addr() {
		t.Fatalf("SDP addresses %v, %v; want %v", addr, err, e.Addr())
	}
	codecs, err := relay.SDPCodecs(body)
	if err != nil || relay.PT(codecs, "PCMU") != 0 || relay.PT(codecs, "PCMA") != 8 || relay.PT(codecs, "telephone-event") != 101 {
		t.Errorf("codecs %v, %v", codecs, err)
	}
	codecs, _ = relay.SDPCodecs(e.SDP("7", PCMA))
	if len(codecs) != 1 || codecs[0].Name != "PCMA" {
		t.Errorf("PCMA only: %v", codecs)
	}
}
