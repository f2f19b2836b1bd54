package service

import (
	"testing"
	"time"
)

// TestPINGuard: ten wrong PINs within an hour lock the mailbox (the
// right PIN is refused too) until the oldest failure is an hour old;
// other mailboxes are not touched.
func TestPINGuard(t *testing.T) {
	var g pinGuard
	t0 := time.Now()
	for i := 0; i < pinFailures; i++ {
		if g.locked("A", t0) {
			t.Fatalf("locked after %d failures", i)
		}
		g.failed("A", t0.Add(time.Duration(i)*time.Minute))
	}
	if !g.locked("A", t0.Add(10*time.Minute)) {
		t.Fatal("not locked after ten failures")
	}
	if g.locked("B", t0) {
		t.Fatal("another mailbox is locked")
	}
	if g.locked("A", t0.Add(pinWindow+time.Minute+time.Second)) {
		t.Fatal("still locked once the first failure is over an hour old")
	}
}
