package sipserver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestTwoRefersAndReferOutsideDialog: two REFERs at once get one
// 202 and one 4xx; a REFER outside any dialog gets 481.
func TestTwoRefersAndReferOutsideDialog(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, _ := x.mediaPhone(sales, salesPassword)
	a := x.answeredCall()
	// Outside a dialog.
	lone, _ := x.mediaPhone("", "")
	req := sip.NewRequest(sip.REFER, sip.Uri{Scheme: "sip", User: "600", Host: "127.0.0.1"})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "x", Host: "carrier.test"}, Params: sip.NewParams()}
	from.Params.Add("tag", "abc")
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: req.Recipient})
	req.AppendHeader(sip.NewHeader("Refer-To", "<sip:0061298765432@x>"))
	req.SetDestination(x.srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if res, err := lone.client.Do(ctx, req); err != nil || res.StatusCode != sip.StatusCallTransactionDoesNotExists {
		t.Errorf("REFER outside a dialog: %v %v", res, err)
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = a.in.refer(t, "608").StatusCode
		}()
	}
	in := sal.next(5 * time.Second)
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch {
		case c == sip.StatusAccepted:
			ok++
		case c >= 400 && c < 500:
		default:
			t.Errorf("one of two REFERs at once: %d", c)
		}
	}
	if ok != 1 {
		t.Errorf("two REFERs at once: %v, want one 202", codes)
	}
	in.answer()
	time.Sleep(300 * time.Millisecond)
	a.out.hangup()
	x.idle()
}
