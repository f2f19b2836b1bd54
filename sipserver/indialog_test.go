package sipserver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// update sends an UPDATE (with an SDP offer when body is not "") in the
// caller's dialog and returns the final response.
func (o *outbound) update(body string) *sip.Response {
	o.p.t.Helper()
	req := sip.NewRequest(sip.UPDATE, o.dlg.InviteResponse.Contact().Address)
	if body != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody([]byte(body))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := o.dlg.Do(ctx, req)
	if err != nil {
		o.p.t.Fatalf("UPDATE: %v", err)
	}
	return res
}

// TestUpdateRelayed: an UPDATE of the caller in an answered call reaches
// the callee with the caller's SDP, and the callee's answer (its SDP)
// comes back; one without a body (a session refresh) is relayed too.
func TestUpdateRelayed(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.answer() })
	out := rec.dial("608")
	out.answered(5 * time.Second)
	offer := strings.Replace(rec.sdp, "sendrecv", "sendonly", 1)
	res := out.update(offer)
	if res.StatusCode != 200 || !strings.Contains(string(res.Body()), "recvonly") {
		t.Fatalf("UPDATE: %d %s %q", res.StatusCode, res.Reason, res.Body())
	}
	select {
	case req := <-sal.updates:
		if !strings.Contains(string(req.Body()), "sendonly") {
			t.Fatalf("the callee's UPDATE carries %q", req.Body())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the UPDATE did not reach the callee")
	}
	if res := out.update(""); res.StatusCode != 200 {
		t.Fatalf("UPDATE without a body: %d", res.StatusCode)
	}
	select {
	case req := <-sal.updates:
		if len(req.Body()) != 0 {
			t.Fatalf("the refresh grew a body: %q", req.Body())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the refresh did not reach the callee")
	}
	out.hangup()
	x.idle()
}

// TestSipp100rel: sipp calls 608 requiring reliable provisional
// responses; the 180 it gets carries Require: 100rel and RSeq (the
// scenario checks them), its PRACK is answered 200, then the call is
// answered and ends normally.
func TestSipp100rel(t *testing.T) {
	sippPath(t)
	x := newPBX(t, Config{DigestAlgorithms: []string{"MD5", "SHA-256"}})
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) {
		in.ring()
		time.Sleep(100 * time.Millisecond)
		in.answer()
	})
	runSipp(t, 30*time.Second, x.srv.addr, "-sf", scenario(t, "uac_100rel.xml"), "-s", "608",
		"-au", reception, "-ap", password, "-key", "from_user", "reception", "-key", "from_domain", "acmebrick.x.co.nz",
		"-d", "200", "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)),
		"-m", "1", "-timeout", "20s", "-timeout_error", "-recv_timeout", "10s")
	for _, e := range []string{"INVITE", "ACK", "BYE"} {
		if !sal.saw(e, 2*time.Second) {
			t.Errorf("sales never saw %s", e)
		}
	}
	x.idle()
}

// TestSessionTimerExpiry: a caller that asks for a 2 s session
// (Session-Expires, refresher=uac) and never refreshes it has its call
// hung up by xc5 (BYE to both ends); the call is counted free and its
// records written.
func TestSessionTimerExpiry(t *testing.T) {
	x := newPBX(t, Config{MinSE: time.Second})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.answer() })
	out := rec.dial("608", sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "2;refresher=uac"))
	res := out.answered(5 * time.Second)
	if h := res.GetHeader("Session-Expires"); h == nil || h.Value() != "2;refresher=uac" {
		t.Fatalf("200's Session-Expires: %v", h)
	}
	if x.srv.Calls() != 1 {
		t.Fatalf("%d calls", x.srv.Calls())
	}
	if !rec.saw("BYE", 5*time.Second) || !sal.saw("BYE", 5*time.Second) {
		t.Fatal("xc5 did not hang up the call whose session expired")
	}
	x.idle()
	if c := x.cdrs(reception, 1)[0]; c["outcome"] != "answered" || c["ended"] == "" {
		t.Errorf("CDR %v", c)
	}
}

// TestSessionRefreshKeepsCall: the same 2 s session refreshed by UPDATE
// every second outlives its interval.
func TestSessionRefreshKeepsCall(t *testing.T) {
	x := newPBX(t, Config{MinSE: time.Second})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.answer() })
	out := rec.dial("608", sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "2;refresher=uac"))
	out.answered(5 * time.Second)
	for i := 0; i < 4; i++ {
		time.Sleep(time.Second)
		if res := out.update(""); res.StatusCode != 200 {
			t.Fatalf("refresh %d: %d", i, res.StatusCode)
		}
	}
	if rec.count("BYE") != 0 || x.srv.Calls() != 1 {
		t.Fatalf("a refreshed session was ended: %d BYEs, %d calls", rec.count("BYE"), x.srv.Calls())
	}
	out.hangup()
	x.idle()
}

// TestInfoRelayed: DTMF sent as SIP INFO (application/dtmf-relay) by the
// caller of an answered call reaches the callee's phone as it was sent.
func TestInfoRelayed(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.answer() })
	out := rec.dial("608")
	out.answered(5 * time.Second)
	const body = "Signal=5\r\nDuration=160\r\n"
	if res := out.info("application/dtmf-relay", body); res.StatusCode != 200 {
		t.Fatalf("INFO: %d %s", res.StatusCode, res.Reason)
	}
	select {
	case req := <-sal.infos:
		if ct := req.ContentType(); ct == nil || ct.Value() != "application/dtmf-relay" || string(req.Body()) != body {
			t.Fatalf("the callee's INFO: %v %q", ct, req.Body())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the INFO did not reach the callee")
	}
	out.hangup()
	x.idle()
}

// TestSessionTimerCalleeVanished: xc5's INVITE offers the callee a
// session it refreshes itself (refresher=uas); a callee that accepts it
// in its 2xx and then never refreshes (it vanished) has the call hung
// up, counted free and recorded.
func TestSessionTimerCalleeVanished(t *testing.T) {
	x := newPBX(t, Config{MinSE: time.Second, SessionExpires: 2 * time.Second})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	offered := make(chan string, 1)
	sal.behave(func(in *inbound) {
		offered <- in.header("Supported") + " | " + in.header("Session-Expires")
		defer in.release()
		res := sip.NewSDPResponseFromRequest(in.dlg.InviteRequest, []byte(sal.sdp))
		res.AppendHeader(sip.NewHeader("Session-Expires", "2;refresher=uas"))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
		in.dlg.WriteResponse(res)
	})
	out := rec.dial("608")
	out.answered(5 * time.Second)
	if got := <-offered; got != "timer | 2;refresher=uas" {
		t.Fatalf("the leg's session offer: %q", got)
	}
	if !rec.saw("BYE", 5*time.Second) || !sal.saw("BYE", 5*time.Second) {
		t.Fatal("xc5 did not hang up the call whose callee stopped refreshing")
	}
	x.idle()
	if c := x.cdrs(sales, 1)[0]; c["outcome"] != "answered" {
		t.Errorf("CDR %v", c)
	}
}
