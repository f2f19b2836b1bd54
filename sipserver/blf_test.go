package sipserver

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/poll"
)

// dialogInfoDoc is what a test reads of an RFC 4235 NOTIFY body.
type dialogInfoDoc struct {
	XMLName xml.Name `xml:"urn:ietf:params:xml:ns:dialog-info dialog-info"`
	Version int      `xml:"version,attr"`
	State   string   `xml:"state,attr"`
	Entity  string   `xml:"entity,attr"`
	Dialogs []struct {
		ID        string `xml:"id,attr"`
		CallID    string `xml:"call-id,attr"`
		LocalTag  string `xml:"local-tag,attr"`
		RemoteTag string `xml:"remote-tag,attr"`
		Direction string `xml:"direction,attr"`
		State     string `xml:"state"`
		Local     struct {
			Target struct {
				URI string `xml:"uri,attr"`
			} `xml:"target"`
		} `xml:"local"`
		Remote struct {
			Identity string `xml:"identity"`
		} `xml:"remote"`
	} `xml:"dialog"`
}

// lampSubscribe subscribes the phone, with its credentials, to the
// dialog package of line (an extension or a username) and returns the
// final answer.
func (p *uaPhone) lampSubscribe(t *testing.T, line string, expires int) *sip.Response {
	t.Helper()
	_, res := p.lampSubscribeReq(t, line, expires)
	return res
}

// lampSubscribeReq is lampSubscribe returning the SUBSCRIBE as sent too.
func (p *uaPhone) lampSubscribeReq(t *testing.T, line string, expires int) (*sip.Request, *sip.Response) {
	t.Helper()
	local, host, ok := strings.Cut(line, "@")
	h, _, _ := strings.Cut(p.xc5, ":")
	if !ok {
		host = h
	}
	aor := sip.Uri{Scheme: "sip", User: local, Host: host}
	me, myHost, _ := strings.Cut(p.user, "@")
	req := sip.NewRequest(sip.SUBSCRIBE, sip.Uri{Scheme: "sip", User: local, Host: h})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: me, Host: myHost}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	return req, p.sendSubscribe(t, req, "dialog", "application/dialog-info+xml", expires)
}

// nextLamp waits for a dialog NOTIFY and returns its document.
func (p *uaPhone) nextLamp(t *testing.T, within time.Duration) dialogInfoDoc {
	t.Helper()
	var doc dialogInfoDoc
	select {
	case req := <-p.notifies:
		if ev := req.GetHeader("Event"); ev == nil || ev.Value() != "dialog" {
			t.Fatalf("NOTIFY without Event: dialog: %v", req)
		}
		if ct := req.ContentType(); ct == nil || ct.Value() != "application/dialog-info+xml" {
			t.Fatalf("NOTIFY body type %v", ct)
		}
		if err := xml.Unmarshal(req.Body(), &doc); err != nil {
			t.Fatalf("dialog-info: %v\n%s", err, req.Body())
		}
	case <-time.After(within):
		t.Fatal("no dialog NOTIFY")
	}
	return doc
}

// lampState is the state of the one dialog of a document ("" for none).
func lampState(t *testing.T, doc dialogInfoDoc) string {
	t.Helper()
	switch len(doc.Dialogs) {
	case 0:
		return ""
	case 1:
		return doc.Dialogs[0].State
	}
	t.Fatalf("%d dialogs in %+v", len(doc.Dialogs), doc)
	return ""
}

// TestBusyLamp: a phone watching a colleague's line (by extension) gets
// the line's state at once (idle), then early with what a directed
// pickup needs (the call's Call-ID and tags, the **EXT target) while a
// call rings it, confirmed once answered and terminated at the hang-up,
// versions rising. A line of another company is refused (403), an
// unknown one 404.
func TestBusyLamp(t *testing.T) {
	x := newPBX(t, Config{SweepInterval: 50 * time.Millisecond})
	x.account("", `{"username":"other.x.co.nz"}`)
	x.account("other.x.co.nz", `{"username":"bob@other.x.co.nz","password":"`+password+`"}`)
	watcher := newUAPhone(t, x.srv.addr, "UDP", reception, password)
	caller := x.phone(reception, password, "UDP")
	callee := x.phone(sales, salesPassword, "UDP")

	if res := watcher.lampSubscribe(t, "bob@other.x.co.nz", 600); res.StatusCode != 403 {
		t.Fatalf("SUBSCRIBE to another company's line: %d %s", res.StatusCode, res.Reason)
	}
	if res := watcher.lampSubscribe(t, "nobody", 600); res.StatusCode != 404 {
		t.Fatalf("SUBSCRIBE to no line: %d %s", res.StatusCode, res.Reason)
	}
	if res := watcher.lampSubscribe(t, "608", 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d %s", res.StatusCode, res.Reason)
	}
	first := watcher.nextLamp(t, 3*time.Second)
	if st := lampState(t, first); st != "" || first.State != "full" || !strings.Contains(first.Entity, "608") {
		t.Fatalf("first NOTIFY: %+v", first)
	}
	if x.srv.Lamps() != 1 {
		t.Fatalf("%d lamp subscriptions", x.srv.Lamps())
	}

	out := caller.dial("608")
	in := callee.next(5 * time.Second)
	in.ring()
	early := watcher.nextLamp(t, 3*time.Second)
	if st := lampState(t, early); st != "early" {
		t.Fatalf("while ringing: %q %+v", st, early)
	}
	d := early.Dialogs[0]
	// The dialog's IDs are not shown (a watcher is no party to the
	// call): a pickup dials the target.
	if d.CallID != "" || d.RemoteTag != "" || d.LocalTag != "" || d.Direction != "recipient" ||
		!strings.HasPrefix(d.Local.Target.URI, "sip:**608@") || !strings.Contains(d.Remote.Identity, "6491231234") {
		t.Fatalf("early dialog %+v: want no call-id or tags, target **608, the caller's number", d)
	}
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	out.answered(5 * time.Second)
	confirmed := watcher.nextLamp(t, 3*time.Second)
	if st := lampState(t, confirmed); st != "confirmed" || confirmed.Version <= early.Version {
		t.Fatalf("answered: %q %+v", st, confirmed)
	}
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	ended := watcher.nextLamp(t, 3*time.Second)
	if st := lampState(t, ended); st != "terminated" || ended.Version <= confirmed.Version {
		t.Fatalf("hung up: %q %+v", st, ended)
	}
	x.idle()
}

// TestBusyLampUnanswered: a ring nobody answers lights the line early,
// then terminated when the call moves on; the caller's own line is
// watched too (initiator).
func TestBusyLampUnanswered(t *testing.T) {
	x := newPBX(t, Config{SweepInterval: 50 * time.Millisecond})
	watcher := newUAPhone(t, x.srv.addr, "UDP", sales, salesPassword)
	caller := x.phone(reception, password, "UDP")
	callee := x.phone(sales, salesPassword, "UDP")
	if res := watcher.lampSubscribe(t, "608", 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	watcher.nextLamp(t, 3*time.Second)
	out := caller.dial("608")
	in := callee.next(5 * time.Second)
	in.ring()
	if st := lampState(t, watcher.nextLamp(t, 3*time.Second)); st != "early" {
		t.Fatalf("ringing: %q", st)
	}
	in.reject(486, "Busy Here")
	if st := lampState(t, watcher.nextLamp(t, 3*time.Second)); st != "terminated" {
		t.Fatalf("after the refusal: %q", st)
	}
	if res := out.result(5 * time.Second); res.StatusCode < 400 {
		t.Fatalf("call: %d", res.StatusCode)
	}
	x.idle()
}

// TestBusyLampUnsubscribe: a SUBSCRIBE in the subscription's dialog with
// Expires: 0 ends it with a terminated NOTIFY; the server holds none, and
// a later call on the line sends nothing.
func TestBusyLampUnsubscribe(t *testing.T) {
	x := newPBX(t, Config{})
	watcher := newUAPhone(t, x.srv.addr, "UDP", sales, salesPassword)
	first, res := watcher.lampSubscribeReq(t, "600", 600)
	if res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	watcher.nextLamp(t, 3*time.Second)
	if r := watcher.refresh(t, first, res, first.CSeq().SeqNo+1, 0); r.StatusCode != 200 {
		t.Fatalf("unsubscribe: %d", r.StatusCode)
	}
	select {
	case n := <-watcher.notifies:
		if st := n.GetHeader("Subscription-State"); st == nil || !strings.HasPrefix(st.Value(), "terminated") {
			t.Fatalf("NOTIFY after unsubscribing: %v", st)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no terminated NOTIFY")
	}
	if x.srv.Lamps() != 0 {
		t.Fatalf("%d lamp subscriptions after unsubscribing", x.srv.Lamps())
	}
	rec := x.phone(reception, password, "UDP")
	rec.behave(func(in *inbound) { in.reject(486, "Busy Here") })
	caller := x.phone(sales, salesPassword, "UDP")
	caller.dial("600").result(5 * time.Second)
	select {
	case n := <-watcher.notifies:
		t.Fatalf("NOTIFY after the subscription ended: %s", n.Body())
	case <-time.After(300 * time.Millisecond):
	}
	x.idle()
}

// TestBusyLampPickup: the press of a blinking BLF key dials the target
// the early NOTIFY names (**608, the directed pickup code): the watcher
// gets the ringing call, and the watched line's lamp goes out.
func TestBusyLampPickup(t *testing.T) {
	x := newPBX(t, Config{})
	x.account("acmebrick.x.co.nz", `{"username":"desk@acmebrick.x.co.nz","password":"`+password+`"}`)
	desk := x.phone("desk@acmebrick.x.co.nz", password, "UDP")
	caller := x.phone(reception, password, "UDP")
	callee := x.phone(sales, salesPassword, "UDP")
	if res := desk.lampSubscribe(t, "608", 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	desk.nextLamp(t, 3*time.Second)
	out := caller.dial("608")
	in := callee.next(5 * time.Second)
	in.ring()
	early := desk.nextLamp(t, 3*time.Second)
	if lampState(t, early) != "early" {
		t.Fatalf("%+v", early)
	}
	var target sip.Uri
	if err := sip.ParseUri(early.Dialogs[0].Local.Target.URI, &target); err != nil {
		t.Fatalf("pickup target %q: %v", early.Dialogs[0].Local.Target.URI, err)
	}
	picked := desk.dial(target.User)
	picked.answered(5 * time.Second)
	out.answered(5 * time.Second)
	if !in.cancelled(3 * time.Second) {
		t.Error("the callee's ring was not cancelled by the pickup")
	}
	if st := lampState(t, desk.nextLamp(t, 3*time.Second)); st != "terminated" {
		t.Errorf("the watched line after the pickup: %q", st)
	}
	out.hangup()
	x.idle()
}

// TestLampBoard: a line's snapshot holds its live dialogs and the ends a
// watcher has not been told yet; lines idle for long are forgotten, a
// few at each change, once there are many.
func TestLampBoard(t *testing.T) {
	lb := newLampBoard()
	now := time.Now()
	lb.set("a", lampDialog{id: "c1", state: lampEarly}, now)
	seq1, ds := lb.snapshot("a", 0)
	if len(ds) != 1 || ds[0].state != lampEarly {
		t.Fatalf("ringing: %+v", ds)
	}
	if lb.set("a", lampDialog{id: "c1", state: lampEarly}, now) {
		t.Fatal("the same state again is a change")
	}
	lb.set("a", lampDialog{id: "c1", state: lampTerminated}, now)
	seq2, ds := lb.snapshot("a", seq1)
	if len(ds) != 1 || ds[0].state != lampTerminated || seq2 <= seq1 {
		t.Fatalf("ended, not yet told: %+v", ds)
	}
	if _, ds := lb.snapshot("a", seq2); len(ds) != 0 {
		t.Fatalf("ended and told: %+v", ds)
	}
	if lb.set("a", lampDialog{id: "c1", state: lampTerminated}, now) || len(lb.showing("c1")) != 0 {
		t.Fatal("an ended call ends again")
	}
	for i := range 1100 {
		id := "x" + strconv.Itoa(i)
		lb.set(id, lampDialog{id: id, state: lampEarly}, now)
		lb.set(id, lampDialog{id: id, state: lampTerminated}, now)
	}
	later := now.Add(time.Minute)
	for i := range 200 {
		lb.set("b"+strconv.Itoa(i), lampDialog{id: "y" + strconv.Itoa(i), state: lampEarly}, later)
	}
	if n := len(lb.lines); n >= 1100 {
		t.Fatalf("%d lines held after the idle ones' time", n)
	}
}

// TestLampDeadSubscriptionEnds: a watcher that answers a NOTIFY 481 (it
// rebooted and forgot the dialog) loses the subscription, as for
// message-waiting.
func TestLampDeadSubscriptionEnds(t *testing.T) {
	x := newPBX(t, Config{DigestAlgorithms: []string{"MD5"}, RequestTimeout: 2 * time.Second})
	p := &mwiPhone{user: reception, password: password, event: "dialog", target: "608@acmebrick.x.co.nz", notifies: make(chan mwiNotify, 16)}
	sock := mwiSockets(t, 1, []*mwiPhone{p}, x.srv.addr)[0]
	if err := p.subscribe(); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.await("dialog-info", 3*time.Second); !ok {
		t.Fatal("no first NOTIFY")
	}
	sock.answer.Store(sip.StatusCallTransactionDoesNotExists)
	caller := x.phone(reception, password, "UDP")
	callee := x.phone(sales, salesPassword, "UDP")
	callee.behave(func(in *inbound) { in.ring(); time.Sleep(200 * time.Millisecond); in.reject(486, "Busy Here") })
	caller.dial("608").result(5 * time.Second)
	poll.Until(t, 5*time.Second, "the dead lamp subscription to be removed", func() bool { return x.srv.Lamps() == 0 })
	x.idle()
}
