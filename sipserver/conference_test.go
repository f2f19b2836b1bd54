package sipserver

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/internal/rtptest"
	"xc5/media/relay"
	"xc5/media/service"
	"xc5/resource"
	"xc5/routing"
	"xc5/sqlstore"
	"xc5/storetest"
)

// secondNode starts another SIP node with its own media node and relay on
// the pbx's store: a second machine of a cluster.
func (x *pbx) secondNode(t *testing.T) *testServer {
	t.Helper()
	return nodeOn(t, x.store, x.view)
}

// nodeOn starts a SIP node with its own media node and relay on store,
// deciding calls with view.
func nodeOn(t *testing.T, store *sqlstore.Store, view *routing.View) *testServer {
	t.Helper()
	svc, err := service.New(service.Config{Addr: "127.0.0.1:0", Store: store, Log: testLogger()})
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
	other := startServer(t, Config{AuthFailures: -1, Media: []string{svc.Addr()}, Relay: pool}, store)
	if err := other.EnableCalls(view); err != nil {
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
	provisionRoom(x)
	threeInARoom(t, x, x.srv.addr, x.secondNode(t).addr)
}

// TestConferenceTwoNodesOnPostgres: the same with the two signalling
// nodes as a cluster runs them: each on its own connection to one
// PostgreSQL database, following the other's writes on the change feed,
// the room's claim in the database.
func TestConferenceTwoNodesOnPostgres(t *testing.T) {
	// In CI's postgres pass only (XC5_TEST_STORE=postgres): it ran in both passes.
	url := storetest.PostgresOnly(t)
	open := func() *sqlstore.Store {
		s, err := sqlstore.OpenPostgres(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Bootstrap(context.Background(), "admin-pw-123"); err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		s.Follow(ctx, url)
		poll.Until(t, 10*time.Second, "the store following the change feed", s.Fresh)
		return s
	}
	s1, s2 := open(), open()
	x := newMediaPBXOn(t, Config{}, s1)
	provisionRoom(x)
	view2 := routing.NewView(routing.Defaults{CountryCode: "64"})
	view2.Follow(s2)
	if err := view2.Load(context.Background(), s2); err != nil {
		t.Fatal(err)
	}
	threeInARoom(t, x, x.srv.addr, nodeOn(t, s2, view2).addr)
}

// provisionRoom is the document's conference room without its PIN menu:
// a DDI whose route joins conference:6499290085.
func provisionRoom(x *pbx) {
	x.trunk("", "", "")
	x.account("acmebrick.x.co.nz", `{"username":"conference@acmebrick.x.co.nz"}`)
	x.put(resource.Number, "conference@acmebrick.x.co.nz", "", `{"number":"6499290085"}`, resource.Create)
	x.put(resource.Route, "conference@acmebrick.x.co.nz", "", `{"order":-1,"destination":"conference:6499290085"}`, resource.Create)
}

// threeInARoom has three callers join the room, two through the node at
// first and one through the node at second, each sending its own tone:
// all three are mixed on the room's holder (x's media node, claimed by
// the first), each hears the two others and never itself.
func threeInARoom(t *testing.T, x *pbx, first, second string) {
	t.Helper()
	type member struct {
		ep   *rtptest.Endpoint
		tone float64
		out  *outbound
		stop func()
	}
	var ms []*member
	for i, via := range []string{first, first, second} {
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

// TestConferencePIN: the document's conference room: a public DDI whose
// menu asks "Please enter your PIN" and maps 5666 to conference:6499290085.
// The right PIN joins the room; a wrong one never does (the menu asks
// again, then says goodbye).
func TestConferencePIN(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	const co = "acmebrick.x.co.nz"
	x.account(co, `{"username":"conference@acmebrick.x.co.nz"}`)
	x.put(resource.Number, "conference@acmebrick.x.co.nz", "", `{"number":"6499290085"}`, resource.Create)
	x.put(resource.Route, "conference@acmebrick.x.co.nz", "", `{"order":-8,"menu_level":1, "digit_map":"5666=conference:6499290085","promptguid":"F4FE3E59-0439-4849-9444-85BEFE8694B3"}`, resource.Create)
	join := func(pin string) (*uaPhone, *outbound) {
		car := newUAPhone(t, x.srv.addr, "UDP", "", "")
		ep := rtptest.Listen(t)
		car.sdp = string(ep.SDP(pin))
		car.number = "642155" + pin
		out := car.dial("6499290085")
		res := out.answered(5 * time.Second)
		time.Sleep(300 * time.Millisecond)
		ep.SendDigits(sdpAddr(t, res.Body()), pin, rtptest.TelephoneEvent)
		return car, out
	}
	_, right := join("5666")
	poll.Until(t, 10*time.Second, "the right PIN to join the room", func() bool { return x.media.RoomMembers("6499290085") == 1 })
	wrongPhone, wrong := join("1111")
	if wrongPhone.saw("BYE", 3*time.Second) {
		t.Log("the wrong PIN was hung up on early")
	}
	if n := x.media.RoomMembers("6499290085"); n != 1 {
		t.Fatalf("after a wrong PIN the room has %d members, want 1", n)
	}
	wrong.hangup()
	right.hangup()
	x.idle()
	poll.Until(t, 5*time.Second, "the empty room to be released", func() bool { return x.media.Rooms() == 0 })
}

// TestConferenceRoomOfAnotherCompany: a route of one company naming
// another company's room (written at system level, or left behind when
// the room's number moved to another company) does not join it: a room
// is the number of an account of the route's own company, checked at
// call time too.
func TestConferenceRoomOfAnotherCompany(t *testing.T) {
	x := newMediaPBX(t, Config{})
	provisionRoom(x)
	x.account("", `{"username":"other.test"}`)
	x.account("other.test", `{"username":"o1@other.test"}`)
	x.put(resource.Number, "o1@other.test", "", `{"number":"6499290099"}`, resource.Create)
	x.put(resource.Route, "o1@other.test", "", `{"order":-1,"destination":"conference:6499290085"}`, resource.Create)
	car := newUAPhone(t, x.srv.addr, "UDP", "", "")
	ep := rtptest.Listen(t)
	car.sdp = string(ep.SDP("intruder"))
	car.number = "6421555099"
	if res := car.dial("6499290099").result(10 * time.Second); res == nil || res.StatusCode != 404 {
		t.Fatalf("a call through another company's route to acme's room: %v", res)
	}
	if n := x.media.Rooms(); n != 0 {
		t.Fatalf("%d rooms opened", n)
	}
	x.idle()
}
