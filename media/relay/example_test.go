package relay_test

import (
	"fmt"
	"net/netip"

	"xc5/media/relay"
)

// How the B2BUA anchors a call: the caller's offer goes to the callee with
// side 1's address, the callee's answer goes to the caller with side 0's,
// and each side is told where its party receives.
func Example() {
	pool, err := relay.NewPool(relay.Config{Bind: netip.MustParseAddr("127.0.0.1"), PortMin: 10000, PortMax: 20000})
	if err != nil {
		panic(err) // bad configuration: the message says what
	}
	s, err := pool.Open()
	if err != nil {
		panic(err) // ErrExhausted: answer the INVITE 503
	}
	defer s.Close() // on BYE, CANCEL or failure

	offer := []byte("v=0\r\nc=IN IP4 192.168.1.20\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n")
	if a, err := relay.SDPAddr(offer); err == nil {
		s.Side(0).SetRemote(a) // the caller
	}
	toCallee := relay.RewriteSDP(offer, s.Side(1).Local())

	answer := []byte("v=0\r\nc=IN IP4 192.168.1.30\r\nm=audio 5000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n")
	if a, err := relay.SDPAddr(answer); err == nil {
		s.Side(1).SetRemote(a) // the callee
	}
	toCaller := relay.RewriteSDP(answer, s.Side(0).Local())

	codecs, _ := relay.SDPCodecs(offer)
	s.Side(0).SetDTMFPayloadType(relay.PT(codecs, "telephone-event"))
	s.Side(0).OnDTMF(func(d rune) { fmt.Println("caller pressed", string(d)) })

	s.StartRecording()
	// ... the call ...
	wav, d := s.StopRecording() // stereo: caller left, callee right
	_, _, _, _ = toCallee, toCaller, wav, d
}
