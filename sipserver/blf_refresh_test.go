package sipserver

import (
	"testing"
	"time"
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
	if r := watcher.refresh(t, first, res, first.CSeq().SeqNo+5, 600); r.StatusCode != 200 {
		t.Fatalf("refresh: %d", r.StatusCode)
	}
	select {
	case <-watcher.notifies:
	case <-time.After(2 * time.Second):
		t.Error("no NOTIFY after the refresh of a busy-lamp subscription")
	}
}
