package sipserver

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// The counters name every known method in its slot and "other" for the
// rest.
func TestMethodSlots(t *testing.T) {
	if len(knownMethods) != otherMethod {
		t.Fatalf("%d known methods, otherMethod is %d", len(knownMethods), otherMethod)
	}
	for i, m := range knownMethods {
		if methodSlot(m) != i || slotMethod(i) != string(m) {
			t.Errorf("%s: slot %d, name %s", m, methodSlot(m), slotMethod(i))
		}
	}
	if slotMethod(methodSlot("FOO")) != "other" {
		t.Error("FOO is not other")
	}
}

// A REGISTER challenged then accepted, a wrong password, an OPTIONS and
// an unknown method are counted by method and response code.
func TestStatsCountRequestsAndResponses(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	p := newPhone(t, srv.addr, "UDP")

	req := p.register(reception, []string{"<sip:reception@127.0.0.1:5099>"}, 600)
	res := p.do(req)
	wantStatus(t, res, 401)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: reception, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	bad := p.register(reception, []string{"<sip:reception@127.0.0.1:5099>"}, 600)
	wantStatus(t, p.login(bad, "MD5", reception, "wrong"), 403)

	opts := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
	p.route(opts)
	wantStatus(t, p.do(opts), 200)
	foo := sip.NewRequest("FOO", sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
	p.route(foo)
	wantStatus(t, p.do(foo), 501)

	st := srv.Stats()
	want := map[string]int64{"REGISTER": 4, "OPTIONS": 1, "other": 1}
	for m, n := range want {
		if st.Requests[m] != n {
			t.Errorf("requests %s = %d, want %d (all %v)", m, st.Requests[m], n, st.Requests)
		}
	}
	wantRes := []struct {
		method string
		code   int
		n      int64
	}{{"REGISTER", 401, 2}, {"REGISTER", 403, 1}, {"REGISTER", 200, 1}, {"OPTIONS", 200, 1}, {"other", 501, 1}}
	for _, w := range wantRes {
		if got := st.Responses[w.method][w.code]; got != w.n {
			t.Errorf("responses %s %d = %d, want %d (all %v)", w.method, w.code, got, w.n, st.Responses)
		}
	}
	if a := srv.AuthStats(); a.Failed != 1 {
		t.Errorf("auth failures = %d, want 1", a.Failed)
	}
}

// A call answered and one refused busy count as two calls started, one
// answered, in progress until the BYE, with the INVITEs' final responses
// counted by code (the 200 goes through the caller's dialog).
func TestStatsCountCalls(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")

	out := rec.dial("608")
	in := sal.next(5 * time.Second)
	go in.answer()
	out.answered(5 * time.Second)
	if !sal.saw("ACK", 2*time.Second) {
		t.Fatal("sales got no ACK")
	}
	if n := x.srv.Calls(); n != 1 {
		t.Errorf("calls in progress %d, want 1", n)
	}
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	if !sal.saw("BYE", 2*time.Second) {
		t.Fatal("the BYE did not reach sales")
	}
	sal.behave(func(in *inbound) { in.reject(486, "Busy Here") })
	if res := rec.dial("608").result(3 * time.Second); res.StatusCode != 486 {
		t.Fatalf("busy callee: %d", res.StatusCode)
	}
	x.idle()
	st := x.srv.Stats()
	if st.CallsStarted != 2 || st.CallsAnswered != 1 || x.srv.Calls() != 0 {
		t.Errorf("calls started %d, answered %d, in progress %d; want 2, 1, 0", st.CallsStarted, st.CallsAnswered, x.srv.Calls())
	}
	if st.Responses["INVITE"][200] != 1 || st.Responses["INVITE"][486] != 1 || st.Requests["BYE"] < 1 {
		t.Errorf("INVITE responses %v, BYEs %d; want one 200 and one 486, a BYE", st.Responses["INVITE"], st.Requests["BYE"])
	}
}
