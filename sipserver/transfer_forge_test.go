package sipserver

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo"
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

// referInDialogOf builds a REFER in reception's dialog of call a to
// target, as reception's side of it, CSeq seq.
func referInDialogOf(x *pbx, a *answeredCall, target string, seq uint32) *sip.Request {
	d := a.in.dlg
	req := sip.NewRequest(sip.REFER, d.InviteRequest.Contact().Address)
	from := d.InviteResponse.To().AsFrom()
	to := d.InviteRequest.From().AsTo()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	cid := *d.InviteRequest.CallID()
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.REFER})
	req.AppendHeader(sip.NewHeader("Refer-To", "<sip:"+target+"@"+x.srv.addr+">"))
	req.SetDestination(x.srv.addr)
	req.SetTransport("UDP")
	return req
}

// TestReferFromOtherSourceWithCredentials: a REFER from an address that
// is neither the call's nor one of the transferor's registered phones is
// answered as a dialog that does not exist (481, the in-dialog source
// check of b.lookup), credentials or not; one from another registered
// phone of the transferor's account (a reconnected or second phone) is
// challenged (407): answered with the credentials of another account
// (sales) it is refused 403 and the call goes on; answered with the
// transferor's own it is carried out.
func TestReferFromOtherSourceWithCredentials(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, _ := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	stranger, _ := x.mediaPhone("", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, err := stranger.client.Do(ctx, referInDialogOf(x, a, "608", 8900)); err != nil || res.StatusCode != sip.StatusCallTransactionDoesNotExists {
		t.Fatalf("REFER from an unknown address: %v %v, want 481", res, err)
	}
	other, _ := x.mediaPhone(reception, password) // reception's second registered phone
	for _, c := range []struct {
		user, password string
		want           int
	}{{sales, salesPassword, sip.StatusForbidden}, {reception, password, sip.StatusAccepted}} {
		req := referInDialogOf(x, a, "608", 9000)
		if c.want == sip.StatusAccepted {
			req = referInDialogOf(x, a, "608", 9100)
		}
		res, err := other.client.Do(ctx, req)
		if err != nil || res.StatusCode != sip.StatusProxyAuthRequired {
			t.Fatalf("REFER from another address: %v %v, want 407", res, err)
		}
		res, err = other.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: c.user, Password: c.password})
		if err != nil || res.StatusCode != c.want {
			t.Fatalf("REFER from another address with %s's credentials: %v %v, want %d", c.user, res, err, c.want)
		}
	}
	in := sal.next(5 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	if !a.rec.saw("BYE", 5*time.Second) {
		t.Error("reception was not hung up after the transfer it authorised")
	}
	a.out.hangup()
	x.idle()
}
