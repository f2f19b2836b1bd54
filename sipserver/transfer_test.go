package sipserver

import (
	"context"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/audiotest"
	"xc5/internal/poll"
	"xc5/internal/rtptest"
	"xc5/media/wav"
	"xc5/resource"
)

// refer sends a REFER in the callee's dialog (the transferor) with
// Refer-To <sip:target@…> and returns xc5's final answer.
func (in *inbound) refer(t testing.TB, target string) *sip.Response {
	t.Helper()
	return in.referTo(t, "<sip:"+target+"@"+in.p.xc5+">")
}

// referTo sends a REFER with the given Refer-To in the callee's dialog.
func (in *inbound) referTo(t testing.TB, referTo string) *sip.Response {
	t.Helper()
	req := sip.NewRequest(sip.REFER, in.dlg.InviteRequest.Contact().Address)
	req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := in.dlg.Do(ctx, req)
	if err != nil {
		t.Fatalf("REFER: %v", err)
	}
	return res
}

// notified waits for a NOTIFY whose sipfrag starts with status ("SIP/2.0 200").
func (p *uaPhone) notified(t testing.TB, status string, within time.Duration) *sip.Request {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case r := <-p.notifies:
			if strings.HasPrefix(string(r.Body()), status) {
				return r
			}
		case <-deadline:
			t.Fatalf("%s: no NOTIFY %q within %v", p.user, status, within)
			return nil
		}
	}
}

// reinvited waits for a re-INVITE from xc5 and returns where its SDP says
// to send RTP now.
func (p *uaPhone) reinvited(t testing.TB, within time.Duration) netip.AddrPort {
	t.Helper()
	select {
	case r := <-p.reinvites:
		return sdpAddr(t, r.Body())
	case <-time.After(within):
		t.Fatalf("%s: no re-INVITE within %v", p.user, within)
		return netip.AddrPort{}
	}
}

// hearEachOther has a send a at freqA to toA and b send freqB to toB for
// a second and a half, and checks each hears the other's tone.
func hearEachOther(t testing.TB, what string, a *rtptest.Endpoint, toA netip.AddrPort, freqA float64, b *rtptest.Endpoint, toB netip.AddrPort, freqB float64) {
	t.Helper()
	stopA := a.StartTone(toA, rtptest.PCMU, freqA)
	stopB := b.StartTone(toB, rtptest.PCMU, freqB)
	time.Sleep(1500 * time.Millisecond)
	stopA()
	stopB()
	if got := b.Received(); !audiotest.Has(lastSamples(got, 4000), 8000, freqA) {
		t.Errorf("%s: %v Hz not heard (%d samples)", what, freqA, len(got))
	}
	if got := a.Received(); !audiotest.Has(lastSamples(got, 4000), 8000, freqB) {
		t.Errorf("%s: %v Hz not heard back (%d samples)", what, freqB, len(got))
	}
}

// answeredCall is a carrier's caller (6421555000) calling reception's DDI
// and reception answering: what the transfer and hold tests start from.
type answeredCall struct {
	out                  *outbound
	in                   *inbound
	car, rec             *uaPhone
	cep, rep             *rtptest.Endpoint
	toCaller, toAnswerer netip.AddrPort
}

func (x *pbx) answeredCall() *answeredCall {
	x.t.Helper()
	rec, rep := x.mediaPhone(reception, password)
	car, cep := x.mediaPhone("", "")
	car.number = "6421555000"
	out := car.dial("6491231234")
	in := rec.next(5 * time.Second)
	if err := in.answer(); err != nil {
		x.t.Fatal(err)
	}
	res := out.answered(5 * time.Second)
	return &answeredCall{out: out, in: in, car: car, rec: rec, cep: cep, rep: rep,
		toCaller: sdpAddr(x.t, res.Body()), toAnswerer: sdpAddr(x.t, in.req.Body())}
}

// callerHangsUp ends the call from the caller's side and checks that
// its BYE reaches p, the phone the caller was passed to.
func (a *answeredCall) callerHangsUp(t *testing.T, p *uaPhone) {
	t.Helper()
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	if !p.saw("BYE", 3*time.Second) {
		t.Fatalf("the caller's BYE did not reach %s", p.user)
	}
}

// TestBlindTransfer: reception answers a carrier's call and transfers it
// to 608 (sales' short code, reception's own callrule): the caller hears
// sales' tone and sales the caller's, reception is told 100 then 200 by
// NOTIFY and hung up, and the records say who passed the call to whom.
func TestBlindTransfer(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, sep := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	hearEachOther(t, "before the transfer", a.cep, a.toCaller, 1000, a.rep, a.toAnswerer, 400)
	if res := a.in.refer(t, "608"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	toCaller := a.car.reinvited(t, 5*time.Second) // the caller's media now goes through xc5
	sin := sal.next(5 * time.Second)
	time.Sleep(1500 * time.Millisecond) // sales rings
	if !hearsMusic(a.cep.Received()) {
		t.Error("the caller does not hear music while the target rings")
	}
	if err := sin.answer(); err != nil {
		t.Fatal(err)
	}
	a.rec.notified(t, "SIP/2.0 100", 5*time.Second)
	a.rec.notified(t, "SIP/2.0 200", 5*time.Second)
	if !a.rec.saw("BYE", 5*time.Second) {
		t.Error("reception was not hung up after the transfer")
	}
	hearEachOther(t, "after the transfer", a.cep, toCaller, 1000, sep, sdpAddr(t, sin.req.Body()), 600)
	if hearsMusic(a.cep.Received()) {
		t.Error("the music goes on after the target answered")
	}
	a.callerHangsUp(t, sal)
	x.idle()
	r := x.cdrs(reception, 1)[0]
	if r["outcome"] != "transferred" || !strings.Contains(r["transfers"].(string), "reception@acmebrick.x.co.nz transferred the call to 608") {
		t.Errorf("reception's CDR: %v", r)
	}
	s := x.cdrs(sales, 1)[0]
	if s["answered_by"] != sales || s["direction"] != "in" || !strings.Contains(s["transfers"].(string), "transferred the call to 608") {
		t.Errorf("sales' CDR: %v", s)
	}
}

// TestTransferToBlockedNumber: reception may not call international
// numbers (the document's -14 <CallRule-International> drop rule), and
// so may not transfer a caller to one either: the REFER is refused, no
// INVITE reaches the carrier, and the call goes on as it was.
func TestTransferToBlockedNumber(t *testing.T) {
	x := newMediaPBX(t, Config{})
	dest := x.carrier("")
	x.trunk(dest.addr, "", "")
	a := x.answeredCall()
	res := a.in.refer(t, "0061298765432")
	if res.StatusCode != sip.StatusForbidden || !strings.Contains(res.Reason, "destination blocked") {
		t.Fatalf("REFER to a blocked number: %d %s", res.StatusCode, res.Reason)
	}
	dest.none(time.Second)
	hearEachOther(t, "after the refused transfer", a.cep, a.toCaller, 1000, a.rep, a.toAnswerer, 400)
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	if !a.rec.saw("BYE", 3*time.Second) {
		t.Fatal("the caller's BYE did not reach reception")
	}
	x.idle()
}

// holdNotes are the hold music's notes (media/prompts/make.sh).
var holdNotes = []float64{523.25, 587.33, 659.25, 698.46, 783.99, 880}

// hearsMusic reports whether the last second of samples holds the hold
// music: one of its notes in most eighths of it (a note lasts 0.5 s).
func hearsMusic(s []int16) bool {
	s = lastSamples(s, 8000)
	if len(s) < 8000 {
		return false
	}
	n := 0
	for i := 0; i < 8000; i += 1000 {
		for _, f := range holdNotes {
			if audiotest.Has(s[i:i+1000], 8000, f) {
				n++
				break
			}
		}
	}
	return n >= 5
}

// TestHoldMusic: reception puts the caller on hold (sendonly): xc5
// answers the hold itself and the caller, its media moved to the relay
// by one re-INVITE, hears the hold music instead of silence; reception
// resumes and the two hear each other again.
func TestHoldMusic(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	a := x.answeredCall()
	res := a.in.reinvite(t, strings.Replace(a.rec.sdp, "sendrecv", "sendonly", 1))
	if res.StatusCode != 200 || sdpDirection(res.Body()) != "recvonly" {
		t.Fatalf("hold answered %d %q", res.StatusCode, res.Body())
	}
	toCaller := a.car.reinvited(t, 5*time.Second)
	stop := a.cep.StartTone(toCaller, rtptest.PCMU, 1000) // the caller keeps talking
	time.Sleep(2 * time.Second)
	stop()
	if !hearsMusic(a.cep.Received()) {
		t.Error("the held caller does not hear the hold music")
	}
	res = a.in.reinvite(t, a.rec.sdp)
	if res.StatusCode != 200 || sdpDirection(res.Body()) != "sendrecv" {
		t.Fatalf("resume answered %d %q", res.StatusCode, res.Body())
	}
	hearEachOther(t, "after resume", a.cep, toCaller, 1000, a.rep, sdpAddr(t, res.Body()), 400)
	if hearsMusic(a.cep.Received()) {
		t.Error("the music goes on after resume")
	}
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	if !a.rec.saw("BYE", 3*time.Second) {
		t.Fatal("the caller's BYE did not reach reception")
	}
	x.idle()
}

// TestAttendedTransfer: reception holds a carrier's caller (music), calls
// sales on 608, then joins the two calls with a REFER whose Replaces
// names its call to sales: the caller and sales hear each other, and
// reception's two dialogs are hung up.
func TestAttendedTransfer(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, sep := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	if res := a.in.reinvite(t, strings.Replace(a.rec.sdp, "sendrecv", "sendonly", 1)); res.StatusCode != 200 {
		t.Fatalf("hold: %d", res.StatusCode)
	}
	toCaller := a.car.reinvited(t, 5*time.Second)
	consult := a.rec.dial("608")
	sin := sal.next(5 * time.Second)
	if err := sin.answer(); err != nil {
		t.Fatal(err)
	}
	consult.answered(5 * time.Second)
	d := consult.dlg
	fromTag, _ := d.InviteRequest.From().Params.Get("tag")
	toTag, _ := d.InviteResponse.To().Params.Get("tag")
	replaces := url.QueryEscape(d.InviteRequest.CallID().Value() + ";to-tag=" + toTag + ";from-tag=" + fromTag)
	res := a.in.referTo(t, "<sip:608@"+x.srv.addr+"?Replaces="+replaces+">")
	if res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER with Replaces: %d %s", res.StatusCode, res.Reason)
	}
	a.rec.notified(t, "SIP/2.0 200", 5*time.Second)
	toSales := sal.reinvited(t, 5*time.Second)
	poll.Until(t, 5*time.Second, "reception's two dialogs hung up", func() bool { return a.rec.count("BYE") == 2 })
	hearEachOther(t, "after the attended transfer", a.cep, toCaller, 1000, sep, toSales, 600)
	if hearsMusic(a.cep.Received()) {
		t.Error("the caller still hears the hold music")
	}
	a.callerHangsUp(t, sal)
	x.idle()
}

// TestInviteWithReplaces: sales' phone sends an INVITE whose Replaces
// names reception's dialog of an answered call (how a consulted target
// completes an attended transfer): sales takes reception's place, the
// caller and sales hear each other, and reception is hung up.
func TestInviteWithReplaces(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, sep := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	xc5Tag, _ := a.in.req.From().Params.Get("tag")
	recTag, _ := a.in.dlg.InviteResponse.To().Params.Get("tag")
	replaces := a.in.req.CallID().Value() + ";to-tag=" + recTag + ";from-tag=" + xc5Tag
	takeover := sal.dial("6491231234", sip.NewHeader("Replaces", replaces))
	res := takeover.answered(5 * time.Second)
	toCaller := a.car.reinvited(t, 5*time.Second)
	if !a.rec.saw("BYE", 5*time.Second) {
		t.Error("reception was not hung up")
	}
	hearEachOther(t, "after the replacement", a.cep, toCaller, 1000, sep, sdpAddr(t, res.Body()), 600)
	a.callerHangsUp(t, sal)
	x.idle()
}

// TestParkAndRetrieve: reception transfers a carrier's caller to *70: the
// call is parked in *701, reception hears the slot said and is hung up,
// the caller hears the hold music, and sales, dialing *701, takes the
// call: the two hear each other. The records say who parked and who
// retrieved.
func TestParkAndRetrieve(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, sep := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	if res := a.in.refer(t, "*70"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER *70: %d %s", res.StatusCode, res.Reason)
	}
	toCaller := a.car.reinvited(t, 5*time.Second)
	a.rec.reinvited(t, 5*time.Second) // to the announcement
	a.rec.notified(t, "SIP/2.0 200 Parked *701", 10*time.Second)
	if !a.rec.saw("BYE", 5*time.Second) {
		t.Error("the parker was not hung up")
	}
	if got := a.rep.Received(); audiotest.Energy(lastSamples(got, 8000)) == 0 {
		t.Error("the parker heard nothing (the slot's announcement)")
	}
	if got := a.cep.Received(); !hearsMusic(got) {
		t.Errorf("the parked caller does not hear the hold music (%d samples, energy %v)", len(got), audiotest.Energy(lastSamples(got, 8000)))
	}
	out := sal.dial("*701")
	res := out.answered(5 * time.Second)
	hearEachOther(t, "after the retrieval", a.cep, toCaller, 1000, sep, sdpAddr(t, res.Body()), 600)
	if res := sal.dial("*701").result(5 * time.Second); res.StatusCode != sip.StatusNotFound {
		t.Errorf("an empty slot answered %d %s", res.StatusCode, res.Reason)
	}
	a.callerHangsUp(t, sal)
	x.idle()
	if r := x.cdrs(reception, 1)[0]; r["outcome"] != "parked" {
		t.Errorf("reception's CDR: %v", r)
	}
	var s map[string]any
	for _, c := range x.cdrs(sales, 1) {
		if c["direction"] == "in" {
			s = c
		}
	}
	if tr, _ := s["transfers"].(string); !strings.Contains(tr, "parked the call in *701") || !strings.Contains(tr, sales+" retrieved the call from *701") {
		t.Errorf("sales' CDR: %v", s)
	}
}

// TestParkRingsBack: a parked call nobody retrieves rings the parker
// back after ParkTimeout; answering it, reception talks with the caller.
func TestParkRingsBack(t *testing.T) {
	x := newMediaPBX(t, Config{ParkTimeout: 2 * time.Second})
	x.trunk("", "", "")
	a := x.answeredCall()
	if res := a.in.refer(t, "*70"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER *70: %d %s", res.StatusCode, res.Reason)
	}
	toCaller := a.car.reinvited(t, 5*time.Second)
	in := a.rec.next(10 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	hearEachOther(t, "after the ring back", a.cep, toCaller, 1000, a.rep, sdpAddr(t, in.req.Body()), 400)
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
}

// TestCompanyHoldMusic: a company that sets hold_prompt to a prompt of
// its own (here a 300 Hz tone) has its held callers hear that instead of
// the system's hold music; a prompt of another company is ignored.
func TestCompanyHoldMusic(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	co := x.ids["acmebrick.x.co.nz"]
	guid := resource.NewGUID()
	tone := wav.Encode(audiotest.Tone(300, 8000, 16000, 0.3), 8000)
	if _, _, err := x.store.PutAudio(context.Background(), "", co, guid, tone, tone, 2000); err != nil {
		t.Fatal(err)
	}
	x.account("", `{"username":"other.test"}`)
	foreign := resource.NewGUID()
	if _, _, err := x.store.PutAudio(context.Background(), "", x.ids["other.test"], foreign, tone, tone, 2000); err != nil {
		t.Fatal(err)
	}
	x.patch(reception, `{"hold_prompt":"`+foreign+`"}`)
	poll.Until(t, 5*time.Second, "the view to see hold_prompt", func() bool {
		return x.view.Account(reception).HoldPrompt == foreign
	})
	if got := x.view.HoldMusic(x.view.Account(reception)); got != "" {
		t.Fatalf("another company's prompt is used as hold music: %q", got)
	}
	x.patch(reception, `{"hold_prompt":""}`)
	x.patch("acmebrick.x.co.nz", `{"hold_prompt":"`+guid+`"}`)
	poll.Until(t, 5*time.Second, "the company's hold music in the view", func() bool {
		return x.view.HoldMusic(x.view.Account(reception)) == guid
	})
	a := x.answeredCall()
	if res := a.in.reinvite(t, strings.Replace(a.rec.sdp, "sendrecv", "sendonly", 1)); res.StatusCode != 200 {
		t.Fatalf("hold: %d", res.StatusCode)
	}
	a.car.reinvited(t, 5*time.Second)
	time.Sleep(2 * time.Second)
	got := lastSamples(a.cep.Received(), 8000)
	if !audiotest.Has(got, 8000, 300) || hearsMusic(got) {
		t.Errorf("the held caller does not hear the company's own hold music (%d samples)", len(got))
	}
	if err := a.out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
}

// TestBlindTransferByCaller: reception calls a customer's mobile over the
// carrier and, once answered, transfers the customer to 608: the customer
// (re-INVITEd to the relay) and sales hear each other, reception leaves
// with a record of its own (out, transferred).
func TestBlindTransferByCaller(t *testing.T) {
	x := newMediaPBX(t, Config{})
	cus, cep := x.mediaPhone("", "")
	x.trunk(cus.addr, "", "")
	rec, rep := x.mediaPhone(reception, password)
	sal, sep := x.mediaPhone(sales, salesPassword)
	out := rec.dial("0211234567")
	in := cus.next(5 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	res := out.answered(5 * time.Second)
	hearEachOther(t, "before the transfer", rep, sdpAddr(t, res.Body()), 400, cep, sdpAddr(t, in.req.Body()), 1000)
	refer := sip.NewRequest(sip.REFER, out.dlg.InviteResponse.Contact().Address)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:608@"+x.srv.addr+">"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rr, err := out.dlg.Do(ctx, refer)
	if err != nil || rr.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER from the caller: %v %v", rr, err)
	}
	toCustomer := cus.reinvited(t, 5*time.Second)
	sin := sal.next(5 * time.Second)
	if err := sin.answer(); err != nil {
		t.Fatal(err)
	}
	rec.notified(t, "SIP/2.0 200", 5*time.Second)
	if !rec.saw("BYE", 5*time.Second) {
		t.Error("reception was not hung up after the transfer")
	}
	hearEachOther(t, "after the transfer", cep, toCustomer, 1000, sep, sdpAddr(t, sin.req.Body()), 600)
	if err := in.hangup(); err != nil {
		t.Fatal(err)
	}
	if !sal.saw("BYE", 3*time.Second) {
		t.Fatal("the customer's BYE did not reach sales")
	}
	x.idle()
	var mine map[string]any
	for _, c := range x.cdrs(reception, 2) {
		if c["outcome"] == "transferred" {
			mine = c
		}
	}
	if mine == nil || mine["direction"] != "out" {
		t.Errorf("reception's records: %v", x.cdrs(reception, 2))
	}
}

// TestAttendedTransferByCaller: reception placed both calls (to a
// customer's mobile, then to sales on 608) and joins them: the customer
// and sales hear each other.
func TestAttendedTransferByCaller(t *testing.T) {
	x := newMediaPBX(t, Config{})
	cus, cep := x.mediaPhone("", "")
	x.trunk(cus.addr, "", "")
	rec, _ := x.mediaPhone(reception, password)
	sal, sep := x.mediaPhone(sales, salesPassword)
	first := rec.dial("0211234567")
	in := cus.next(5 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	first.answered(5 * time.Second)
	consult := rec.dial("608")
	sin := sal.next(5 * time.Second)
	if err := sin.answer(); err != nil {
		t.Fatal(err)
	}
	consult.answered(5 * time.Second)
	d := consult.dlg
	fromTag, _ := d.InviteRequest.From().Params.Get("tag")
	toTag, _ := d.InviteResponse.To().Params.Get("tag")
	replaces := url.QueryEscape(d.InviteRequest.CallID().Value() + ";to-tag=" + toTag + ";from-tag=" + fromTag)
	refer := sip.NewRequest(sip.REFER, first.dlg.InviteResponse.Contact().Address)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:608@"+x.srv.addr+"?Replaces="+replaces+">"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if rr, err := first.dlg.Do(ctx, refer); err != nil || rr.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER with Replaces: %v %v", rr, err)
	}
	toCustomer := cus.reinvited(t, 5*time.Second)
	toSales := sal.reinvited(t, 5*time.Second)
	poll.Until(t, 5*time.Second, "reception's two dialogs hung up", func() bool { return rec.count("BYE") == 2 })
	hearEachOther(t, "after the join", cep, toCustomer, 1000, sep, toSales, 600)
	if err := sin.hangup(); err != nil {
		t.Fatal(err)
	}
	if !cus.saw("BYE", 3*time.Second) {
		t.Fatal("sales' BYE did not reach the customer")
	}
	x.idle()
}
