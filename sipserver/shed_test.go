package sipserver

import (
	"testing"
	"time"
)

// TestLoadShedding: with Config.MaxCallSetups calls being set up, a new
// INVITE gets 503 with Retry-After at once, before authentication, while
// a call already answered goes on and ends normally; once a set-up slot
// is free, calls go through again. A ringing call holds no slot.
func TestLoadShedding(t *testing.T) {
	// Two slots: a phone's call takes one for its 407 round trip and may
	// take the next for its authenticated INVITE before the first is back.
	x := newPBX(t, Config{MaxCallSetups: 2, RetryAfter: 3 * time.Second})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")

	// A call in progress: answered, so it holds no set-up slot.
	up := rec.dial("608")
	in := sal.next(5 * time.Second)
	go in.answer()
	up.answered(5 * time.Second)

	// A ringing call holds no slot either.
	carrier := x.carrier("6421555000")
	x.trunk("", "", "")
	sal.behave(func(in *inbound) { in.ring() })
	ringing := carrier.dial("6499290089")
	ringing.ringing(t)

	// Calls stuck in set-up (the node out of CPU) take both slots.
	b := x.srv.b2b
	hold, ok := b.admit()
	hold2, ok2 := b.admit()
	if !ok || !ok2 {
		t.Fatal("no set-up slot free with one answered and one ringing call")
	}
	start := time.Now()
	res := rec.dial("608").result(5 * time.Second)
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil || res.GetHeader("Retry-After").Value() != "3" {
		t.Fatalf("overloaded: %d %s, Retry-After %v; want 503 with Retry-After: 3", res.StatusCode, res.Reason, res.GetHeader("Retry-After"))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("503 after %v", d)
	}
	if res := carrier.dial("6491231234").result(5 * time.Second); res.StatusCode != 503 {
		t.Fatalf("carrier call while overloaded: %d", res.StatusCode)
	}
	if n := x.srv.Shed(); n != 2 {
		t.Errorf("Shed() = %d, want 2", n)
	}

	// The answered call is unharmed: BYE reaches sales.
	if err := up.hangup(); err != nil {
		t.Fatalf("BYE of the call in progress: %v", err)
	}
	if !sal.saw("BYE", 2*time.Second) {
		t.Fatal("the BYE of the call in progress did not reach sales")
	}

	// Slot free again: calls go through.
	hold()
	hold() // idempotent
	hold2()
	sal.behave(func(in *inbound) { go in.answer() })
	again := rec.dial("608")
	again.answered(5 * time.Second)
	again.hangup()
	ringing.cancel()
	x.idle()
	if n := b.setups.Load(); n != 0 {
		t.Errorf("%d set-up slots still taken", n)
	}
}
