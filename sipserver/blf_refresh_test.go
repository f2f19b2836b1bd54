package sipserver

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestLampRefreshNotifies: RFC 6665 §4.2.1.2: upon refreshing a
// subscription the notifier MUST send a NOTIFY at once, the watched
// line unchanged or not.
func TestLampRefreshNotifies(t *testing.T) {
	x := newPBX(t, Config{})
	watcher := newUAPhone(t, x.srv.addr, "UDP", sales, salesPassword)
	first, res := watcher.lampSubscribeReq(t, "600", 600)
	if res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	watcher.nextLamp(t, 3*time.Second)
	req := sip.NewRequest(sip.SUBSCRIBE, first.Recipient)
	req.AppendHeader(first.From())
	req.AppendHeader(res.To())
	req.AppendHeader(first.CallID())
	req.AppendHeader(&sip.CSeqHeader{SeqNo: first.CSeq().SeqNo + 5, MethodName: sip.SUBSCRIBE})
	ct := watcher.contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Event", "dialog"))
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	req.SetDestination(watcher.xc5)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r, err := watcher.client.Do(ctx, req); err != nil || r.StatusCode != 200 {
		t.Fatalf("refresh: %v %v", r, err)
	}
	select {
	case <-watcher.notifies:
	case <-time.After(2 * time.Second):
		t.Error("no NOTIFY after the refresh of a busy-lamp subscription")
	}
}
