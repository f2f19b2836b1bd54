package sipserver

import (
	"context"
	"testing"
	"time"

	"xc5/internal/rtptest"
)

// A caller whose offer the holder cannot answer (only G.729) makes the
// holder look dead: takeRoom moves the room to the other node while the
// first member is still mixed on the holder. The next member is split off.
func TestRoomStolenByBadCall(t *testing.T) {
	x := newMediaPBX(t, Config{})
	provisionRoom(x)
	second := x.secondNode(t)
	car := newUAPhone(t, x.srv.addr, "UDP", "", "")
	ep := rtptest.Listen(t)
	car.sdp = string(ep.SDP("m0"))
	car.number = "6421555000"
	first := car.dial("6499290085")
	first.answered(5 * time.Second)
	holder, _ := x.store.ClaimRoom(context.Background(), "6499290085", "probe:1", time.Minute)
	t.Logf("holder after first member: %s (x media %s)", holder, x.media.Addr())

	bad := newUAPhone(t, second.addr, "UDP", "", "")
	bad.number = "6421555009"
	bad.sdp = "v=0\r\no=bad 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\na=sendrecv\r\n"
	res := bad.dial("6499290085").result(10 * time.Second)
	t.Logf("bad caller got %d", res.StatusCode)
	holder2, _ := x.store.ClaimRoom(context.Background(), "6499290085", "probe:1", time.Minute)
	if holder2 != holder {
		t.Fatalf("room moved from %s to %s while a member is still mixed there (%d members)", holder, holder2, x.media.RoomMembers("6499290085"))
	}
}
