package sipserver

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestMenuKeyBySIPInfo: a caller whose phone sends keys by SIP INFO
// (application/dtmf-relay) rather than RFC 4733 presses 1 in the menu;
// xc5 relays the INFO to the media node, which reads the key, and the
// menu's action rings sales.
func TestMenuKeyBySIPInfo(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	sal, _ := x.mediaPhone(sales, salesPassword)
	car, _ := x.mediaPhone("", "")
	car.number = "6421555000"
	out := car.dial("6499290082")
	res := out.answered(5 * time.Second)
	time.Sleep(500 * time.Millisecond)
	info := sip.NewRequest(sip.INFO, res.Contact().Address)
	info.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
	info.SetBody([]byte("Signal=1\r\nDuration=160\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ir, err := out.dlg.Do(ctx, info)
	if err != nil || ir.StatusCode != 200 {
		t.Fatalf("INFO: %v %v", ir, err)
	}
	in := sal.next(10 * time.Second)
	in.reject(486, "Busy Here")
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
}
