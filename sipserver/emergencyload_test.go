package sipserver

import (
	"testing"
	"time"

	"xc5/resource"
	"xc5/storetest"
)

// TestEmergencyWhileOverloaded: with every set-up slot taken (the node
// out of CPU), a phone's ordinary call gets 503 Overloaded, but its 111
// still reaches the carrier: emergency calls have set-up slots of their
// own (docs/routing.md, "Emergency calls").
func TestEmergencyWhileOverloaded(t *testing.T) {
	x := newPBX(t, Config{MaxCallSetups: 2, RetryAfter: 3 * time.Second})
	got := carrierTrunk(x)
	rec := x.phone(reception, password, "UDP")
	b := x.srv.b2b
	hold, ok := b.admit()
	hold2, ok2 := b.admit()
	if !ok || !ok2 {
		t.Fatal("no set-up slot free on an idle node")
	}
	if res := rec.dial("091234567").result(5 * time.Second); res.StatusCode != 503 || res.Reason != "Overloaded" {
		t.Fatalf("an ordinary call while overloaded: %d %s, want 503 Overloaded", res.StatusCode, res.Reason)
	}
	for _, num := range []string{"111", "112"} {
		out := rec.dial(num)
		out.answered(5 * time.Second)
		if in := received(t, got); in.req.Recipient.User != num || in.header("Priority") != "emergency" {
			t.Errorf("the carrier received %s with Priority %q, want %s, emergency", in.req.Recipient.String(), in.header("Priority"), num)
		}
		out.hangup()
	}
	hold()
	hold2()
	x.idle()
	if n := b.emergency.Load(); n != 0 {
		t.Errorf("%d emergency set-up slots still taken", n)
	}
}

// TestEmergencyDuringDatabaseOutage: with the PostgreSQL database cut off
// and the phone's cached credentials expired, an ordinary call is
// refused, but the phone's 111 authenticates with its last-known credentials and
// reaches the carrier: the routing view and the trunks are in memory.
func TestEmergencyDuringDatabaseOutage(t *testing.T) {
	o := storetest.PostgresOutage(t)
	store := followingStore(t, o)
	x := newPBXOn(t, Config{}, store)
	got := carrierTrunk(x)
	rec := x.phone(reception, password, "UDP") // its credentials are now cached
	callBeforeOutage(t, x, rec, got)

	o.Cut()
	t.Cleanup(func() { o.Restore(t) })
	x.srv.clock.Advance(credTTL + time.Second) // the cached credentials expire
	// (The test's carrier shares the phones' address: the routing view
	// tells the phone from the carrier, and the phone cannot be
	// authenticated without the store.)
	if res := rec.dial("091234567").result(5 * time.Second); res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("an ordinary call with the database cut off: %d %s, want 503 with Retry-After", res.StatusCode, res.Reason)
	}
	nothingReceived(t, got)
	out := rec.dial("111")
	out.answered(5 * time.Second)
	if in := received(t, got); in.req.Recipient.User != "111" || in.header("Priority") != "emergency" {
		t.Errorf("the carrier received %s with Priority %q, want 111, emergency", in.req.Recipient.String(), in.header("Priority"))
	}
	out.hangup()
}

// TestBlastLegsCountAgainstLimit: each external leg of a blast group is a
// call to the carrier and counts against the forking account's
// concurrent_limit: with a limit of 2 and four external forks, the
// carrier receives two legs; once the call ends they no longer count.
func TestBlastLegsCountAgainstLimit(t *testing.T) {
	x := newPBX(t, Config{})
	car := newUAPhone(t, x.srv.addr, "UDP", "", "")
	x.trunk(car.addr, "", "")
	got := make(chan *inbound, 16)
	car.behave(func(in *inbound) {
		got <- in
		in.ring()
	})
	const blast = "blast@acmebrick.x.co.nz"
	x.patch(blast, `{"concurrent_limit":2}`)
	for _, n := range []string{"6441234561", "6441234562", "6441234563", "6441234564"} {
		x.put(resource.Fork, blast, "", `{"destination":"`+n+`"}`, resource.Create)
	}
	out := x.carrier("6421555000").dial("6499290088")
	out.ringing(t)
	legs := 0
	for deadline := time.After(time.Second); ; {
		select {
		case <-got:
			legs++
			continue
		case <-deadline:
		}
		break
	}
	if legs != 2 {
		t.Errorf("the carrier received %d legs of the blast group, want 2 (its concurrent_limit)", legs)
	}
	out.cancel()
	x.idle()
	b := x.srv.b2b
	b.mu.Lock()
	n := b.active[x.ids[blast]]
	b.mu.Unlock()
	if n != 0 {
		t.Errorf("%s still counts %d calls after the call ended", blast, n)
	}
}
