package sipserver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5/internal/poll"
	"xc5/resource"
)

// TestLampHidesOtherCompanysCaller: a call from another company's
// account (no number of its own, so it presents its username) rings a
// line of acmebrick; a colleague watching that line must not learn the
// other company's username, which the API hides from acmebrick's users
// (resource.Outsiders: "another company").
func TestLampHidesOtherCompanysCaller(t *testing.T) {
	x := newPBX(t, Config{})
	x.account("", `{"username":"other.x.co.nz"}`)
	x.account("other.x.co.nz", `{"username":"bob@other.x.co.nz","password":"`+password+`"}`)
	watcher := newUAPhone(t, x.srv.addr, "UDP", reception, password)
	bob := x.phone("bob@other.x.co.nz", password, "UDP")
	callee := x.phone(sales, salesPassword, "UDP")
	if res := watcher.lampSubscribe(t, "608", 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d %s", res.StatusCode, res.Reason)
	}
	watcher.nextLamp(t, 3*time.Second)
	out := bob.dial("6499290089")
	in := callee.next(5 * time.Second)
	t.Logf("the callee's own INVITE: From %s, P-Asserted-Identity %q", in.req.From().Value(), in.header("P-Asserted-Identity"))
	in.ring()
	early := watcher.nextLamp(t, 3*time.Second)
	if st := lampState(t, early); st != "early" {
		t.Fatalf("while ringing: %q %+v", st, early)
	}
	if id := early.Dialogs[0].Remote.Identity; strings.Count(id, "@") > 1 {
		t.Errorf("remote identity %q is no SIP URI (two @: the username put in as a user part)", id)
	}
	if id := early.Dialogs[0].Remote.Identity; strings.Contains(id, "other.x.co.nz") {
		t.Errorf("acmebrick's watcher sees the other company's caller: remote identity %q", id)
	}
	in.reject(486, "Busy Here")
	out.result(5 * time.Second)
	x.idle()
}

// TestLampSubscribeHugeExpires: an Expires too large for a
// time.Duration is capped to MaxExpires (RFC 6665: the notifier may
// shorten), not wrapped into a negative interval.
func TestLampSubscribeHugeExpires(t *testing.T) {
	x := newPBX(t, Config{})
	watcher := newUAPhone(t, x.srv.addr, "UDP", reception, password)
	res := watcher.lampSubscribe(t, "608", 9300000000)
	if res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d %s", res.StatusCode, res.Reason)
	}
	h := res.GetHeader("Expires")
	n := -1
	if h != nil {
		n, _ = strconv.Atoi(h.Value())
	}
	if n <= 0 {
		t.Fatalf("SUBSCRIBE with Expires: 9300000000 answered 200 with Expires %v", h)
	}
	// The subscription is put on the board just after the 200 is sent
	// (subscribeLamp), so the count may lag the answer by a moment.
	poll.Until(t, 5*time.Second, "the lamp subscription to be held", func() bool { return x.srv.Lamps() == 1 })
}

// TestFeatureCodeCrossCompanyForward: *52 writes cfna_dest at the
// caller's company scope, as the API would, where another company's
// accounts do not exist: a user cannot, by phone, forward its calls into
// another company's account.
func TestFeatureCodeCrossCompanyForward(t *testing.T) {
	x := newPBX(t, Config{})
	x.account("", `{"username":"other.x.co.nz"}`)
	x.account("other.x.co.nz", `{"username":"bob@other.x.co.nz","password":"`+password+`"}`)
	rec := x.phone(reception, password, "UDP")
	for _, dial := range []string{"*52other.x.co.nz", "*52bob%40other.x.co.nz"} {
		before := x.field(resource.Account, "", reception, "cfna_dest")
		res := rec.dial(dial).result(5 * time.Second)
		after := x.field(resource.Account, "", reception, "cfna_dest")
		if res.StatusCode != 403 || after != before {
			t.Errorf("%s: %d %s; cfna_dest %v -> %v (another company's account)", dial, res.StatusCode, res.Reason, before, after)
		}
		x.patch(reception, `{"cfna_dest":"","cfna_active":false}`)
	}
	// The API, at acmebrick's scope, refuses the same value.
	co, err := x.store.Get(context.Background(), "", resource.Account, "", "acmebrick.x.co.nz")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := resource.Decode(resource.Account, []byte(`{"cfna_dest":"bob@other.x.co.nz"}`))
	if _, _, err := x.store.Put(context.Background(), resource.Scope(co.Path), resource.Account, "", reception, in, resource.Patch); err == nil {
		t.Fatal("the store at acmebrick's scope took another company's cfna_dest: the premise of this test is wrong")
	} else {
		t.Logf("API scope refuses: %v", err)
	}
	// The consequence: acmebrick's unanswered calls ring bob, in another
	// company.
	bob := x.phone("bob@other.x.co.nz", password, "UDP")
	rec.dial("*52bob%40other.x.co.nz").result(5 * time.Second)
	x.trunk("", "", "")
	carrier := x.carrier("6421555000")
	out := carrier.dial("6491231234")
	select {
	case in := <-bob.calls:
		in.reject(486, "Busy Here")
		t.Errorf("a call to acmebrick's reception rang bob@other.x.co.nz (another company) through a forward set by *52")
	case <-time.After(6 * time.Second):
	}
	out.result(10 * time.Second)
	x.idle()
}

// TestSessionExpiresEdges: odd Session-Expires values in a
// caller's INVITE never make a 5xx; the 2xx grants at least Min-SE.
func TestSessionExpiresEdges(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.answer() })
	for _, v := range []string{"0", "-5", "abc", "99999999999999999999", "18446744074;refresher=uas", ";refresher=uas", "90;refresher=bogus"} {
		out := rec.dial("608", sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", v))
		res := out.result(5 * time.Second)
		if res.StatusCode != 200 {
			t.Errorf("Session-Expires %q: %d %s", v, res.StatusCode, res.Reason)
			continue
		}
		h := res.GetHeader("Session-Expires")
		t.Logf("Session-Expires %q -> %v", v, h)
		out.answered(time.Second)
		out.hangup()
		x.idle()
	}
}

// TestLampSubscribeUnacceptableAccept: a SUBSCRIBE to the dialog
// package whose Accept lists only a body type xc5 never sends
// (application/xpidf+xml) is refused 406 (RFC 6665 §4.2.1.1, RFC 4235
// §3.7), not accepted with NOTIFYs the phone cannot read.
func TestLampSubscribeUnacceptableAccept(t *testing.T) {
	x := newPBX(t, Config{})
	watcher := newUAPhone(t, x.srv.addr, "UDP", reception, password)
	req, _ := watcher.lampSubscribeReq(t, "608", 0) // only to build a request
	req = req.Clone()
	req.RemoveHeader("Accept")
	req.RemoveHeader("Authorization")
	req.RemoveHeader("Via")
	req.AppendHeader(sip.NewHeader("Accept", "application/xpidf+xml"))
	req.RemoveHeader("Expires")
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := watcher.client.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		res, err = watcher.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: reception, Password: password})
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 406 {
		t.Errorf("SUBSCRIBE with Accept: application/xpidf+xml: %d %s, want 406", res.StatusCode, res.Reason)
	}
}
