package sipserver

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"xc5/internal/rtptest"
	"xc5/media/relay"
	"xc5/media/service"
	"xc5/resource"
)

// secondNode starts another SIP node with its own media node and relay on
// the pbx's store: a second machine of a cluster.
func (x *pbx) secondNode(t *testing.T) *testServer {
	t.Helper()
	svc, err := service.New(service.Config{Addr: "127.0.0.1:0", Store: x.store, Log: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); svc.Close() })
	lo := relayPorts.next
	relayPorts.next += 400
	pool, err := relay.NewPool(relay.Config{Bind: netip.MustParseAddr("127.0.0.1"), PortMin: lo, PortMax: lo + 399})
	if err != nil {
		t.Fatal(err)
	}
	other := startServer(t, Config{AuthFailures: -1, Media: []string{svc.Addr()}, Relay: pool}, x.store)
	if err := other.EnableCalls(x.view); err != nil {
		t.Fatal(err)
	}
	return other
}

// TestConferenceAcrossNodes: the document's conference room (a public DDI
// whose route joins conference:6499290085); three callers, two in through
// one signalling node and one through another, each sending its own
// tone. All three are mixed on one media node (the room's holder), each
// hears the two others and never itself.
func TestConferenceAcrossNodes(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	const co = "acmebrick.x.co.nz"
	x.account(co, `{"username":"conference@acmebrick.x.co.nz"}`)
	x.put(resource.Number, "conference@acmebrick.x.co.nz", "", `{"number":"6499290085"}`, resource.Create)
	x.put(resource.Route, "conference@acmebrick.x.co.nz", "", `{"order":-1,"destination":"conference:6499290085"}`, resource.Create)
	other := x.secondNode(t)
	type member struct {
		ep   *rtptest.Endpoint
		tone float64
		out  *outbound
		stop func()
	}
	var ms []*member
	for i, via := range []string{x.srv.addr, x.srv.addr, other.addr} {
		car := newUAPhone(t, via, "UDP", "", "")
		ep := rtptest.Listen(t)
		car.sdp = string(ep.SDP(fmt.Sprint("m", i)))
		car.number = fmt.Sprintf("642155500%d", i)
		m := &member{ep: ep, tone: []float64{500, 1000, 1500}[i]}
		m.out = car.dial("6499290085")
		res := m.out.answered(5 * time.Second)
		m.stop = ep.StartTone(sdpAddr(t, res.Body()), rtptest.PCMU, m.tone)
		ms = append(ms, m)
	}
	time.Sleep(4 * time.Second)
	for _, m := range ms {
		m.stop()
	}
	if n := x.media.RoomMembers("6499290085"); n != 3 {
		t.Errorf("the room's holder mixes %d members, want all 3", n)
	}
	for i, m := range ms {
		heard := lastSamples(m.ep.Received(), 12000)
		for j, o := range ms {
			if got := toneIn(heard, o.tone); got != (i != j) {
				t.Errorf("member %d (%v Hz) hears %v Hz: %v", i, m.tone, o.tone, got)
			}
		}
	}
	for _, m := range ms {
		m.out.hangup()
	}
	x.idle()
}
