package sipserver

import (
	"testing"
	"time"
)

// TestSharedConcurrentLimit: two SIP nodes on one store with shared call
// counts; a call set up through one node makes the account busy for a
// call arriving through the other.
func TestSharedConcurrentLimit(t *testing.T) {
	x := newPBX(t, Config{ShareCallCounts: true})
	x.trunk("", "", "")
	x.patch(sales, `{"concurrent_limit":1}`)
	other := startServer(t, Config{AuthFailures: -1, ShareCallCounts: true}, x.store)
	if err := other.EnableCalls(x.view); err != nil {
		t.Fatal(err)
	}

	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	out := rec.dial("608") // through the first node
	go sal.next(3 * time.Second).answer()
	out.answered(3 * time.Second)

	car := newUAPhone(t, other.addr, "UDP", "", "") // a carrier on the second node
	car.number = "6421555000"
	if res := car.dial("6499290089").result(3 * time.Second); res.StatusCode != 486 {
		t.Fatalf("call to sales through the other node while sales is in a call: %d %s, want 486", res.StatusCode, res.Reason)
	}
	out.hangup()
	x.idle()
	in := car.dial("6499290089")
	go sal.next(3 * time.Second).answer()
	in.answered(3 * time.Second)
	in.hangup()
}
