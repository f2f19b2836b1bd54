package sipserver

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestForgedReferFromOtherSource: a REFER naming reception's dialog
// (Call-ID and tags, as seen by anyone on the path) but sent from another
// address than reception's phone, without any credentials, must not move
// the call on reception's account and callrules.
func TestForgedReferFromOtherSource(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, _ := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	evil, _ := x.mediaPhone("", "")
	d := a.in.dlg
	req := sip.NewRequest(sip.REFER, d.InviteRequest.Contact().Address)
	from := d.InviteResponse.To().AsFrom() // reception's side of the dialog
	to := d.InviteRequest.From().AsTo()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	cid := *d.InviteRequest.CallID()
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 9000, MethodName: sip.REFER})
	req.AppendHeader(sip.NewHeader("Refer-To", "<sip:608@"+x.srv.addr+">"))
	req.SetDestination(x.srv.addr)
	req.SetTransport("UDP")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := evil.client.Do(ctx, req)
	if err != nil {
		t.Fatalf("forged REFER: %v", err)
	}
	if res.StatusCode == sip.StatusAccepted {
		t.Errorf("a REFER from %s (not reception's phone, no credentials) was accepted: %d %s", evil.addr, res.StatusCode, res.Reason)
		if in := sal.next(5 * time.Second); in != nil {
			t.Errorf("…and the caller is being passed to sales")
			in.reject(486, "Busy Here")
		}
	}
	a.out.hangup()
	x.idle()
}
