package sipserver

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// dialogIDs are a caller's dialog with xc5 as the caller sees it.
type dialogIDs struct{ CallID, LocalTag, RemoteTag string }

// leakedIDs checks that the dialog-info shows none of the caller's
// dialog IDs, then returns them as if they had leaked anyway (a proxy's
// log, a capture): the source check must refuse them by itself.
// LocalTag is xc5's tag, RemoteTag the caller's, as the document named
// them for the called line.
func leakedIDs(t *testing.T, doc dialogInfoDoc, out *outbound) dialogIDs {
	t.Helper()
	if d := doc.Dialogs[0]; d.CallID != "" || d.LocalTag != "" || d.RemoteTag != "" {
		t.Errorf("the dialog-info names the caller's dialog: call-id %q, tags %q %q", d.CallID, d.LocalTag, d.RemoteTag)
	}
	callerTag, _ := out.dlg.InviteRequest.From().Params.Get("tag")
	xc5Tag, _ := out.dlg.InviteResponse.To().Params.Get("tag")
	return dialogIDs{CallID: out.dlg.InviteRequest.CallID().Value(), LocalTag: xc5Tag, RemoteTag: callerTag}
}

// forged is a request in the caller's dialog d as another party would
// send it with the leaked IDs: the caller's From and tag, xc5's To tag,
// and the highest CSeq allowed (above any INVITE's).
func (d dialogIDs) forged(method sip.RequestMethod) *sip.Request {
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: "608", Host: "127.0.0.1"})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "reception", Host: "acmebrick.x.co.nz"}, Params: sip.NewParams()}
	from.Params.Add("tag", d.RemoteTag)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "608", Host: "acmebrick.x.co.nz"}, Params: sip.NewParams()}
	to.Params.Add("tag", d.LocalTag)
	cid := sip.CallIDHeader(d.CallID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 2147483647, MethodName: method})
	return req
}

// watchedCall is reception's answered call to sales (608) while desk
// watches 608's lamp: the PBX, the watcher (its confirmed NOTIFY not yet
// read), the callee, the caller's call and the caller's dialog IDs.
func watchedCall(t *testing.T) (*pbx, *uaPhone, *uaPhone, *outbound, dialogIDs) {
	t.Helper()
	x := newPBX(t, Config{})
	x.account("acmebrick.x.co.nz", `{"username":"desk@acmebrick.x.co.nz","password":"`+password+`"}`)
	watcher := newUAPhone(t, x.srv.addr, "UDP", "desk@acmebrick.x.co.nz", password)
	caller := x.phone(reception, password, "UDP")
	callee := x.phone(sales, salesPassword, "UDP")
	if res := watcher.lampSubscribe(t, "608", 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	watcher.nextLamp(t, 3*time.Second)
	out := caller.dial("608")
	in := callee.next(5 * time.Second)
	in.ring()
	early := watcher.nextLamp(t, 3*time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	out.answered(5 * time.Second)
	return x, watcher, callee, out, leakedIDs(t, early, out)
}

// TestInDialogByeFromAnotherSourceRefused: the dialog-info of a watched
// line names none of the caller's dialog IDs; and should they leak
// anyway, a BYE in that dialog from another address (a watcher's) is not
// taken as the caller's hang-up: xc5 takes in-dialog requests only from
// the end that owns the dialog (dialog.go fromEnd).
func TestInDialogByeFromAnotherSourceRefused(t *testing.T) {
	x, watcher, callee, out, d := watchedCall(t)
	watcher.nextLamp(t, 3*time.Second) // confirmed

	bye := d.forged(sip.BYE)
	bye.SetDestination(watcher.xc5)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := watcher.client.Do(ctx, bye)
	if err != nil {
		t.Fatalf("BYE: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	t.Logf("forged BYE: %d %s", res.StatusCode, res.Reason)
	if res.StatusCode == 200 || x.srv.Calls() == 0 || callee.count("BYE") > 0 {
		t.Errorf("a watcher's forged BYE (Call-ID and tags from the dialog-info) was taken: %d %s; %d calls; the callee got %d BYEs",
			res.StatusCode, res.Reason, x.srv.Calls(), callee.count("BYE"))
	}
	out.hangup()
	x.idle()
}

// TestInDialogUpdateFromAnotherSourceRefused: likewise an UPDATE with
// its own SDP from another address never reaches the callee (which
// would send its media where the sender says).
func TestInDialogUpdateFromAnotherSourceRefused(t *testing.T) {
	x, watcher, callee, out, d := watchedCall(t)
	up := d.forged(sip.UPDATE)
	ct := watcher.contact
	up.AppendHeader(&ct)
	up.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	const evil = "v=0\r\no=- 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n"
	up.SetBody([]byte(evil))
	up.SetDestination(watcher.xc5)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := watcher.client.Do(ctx, up)
	if err != nil {
		t.Fatalf("UPDATE: %v", err)
	}
	select {
	case r := <-callee.updates:
		t.Errorf("a watcher's forged UPDATE (%d %s) reached the callee with its SDP: %q", res.StatusCode, res.Reason, r.Body())
	case <-time.After(time.Second):
	}
	out.hangup()
	x.idle()
}
