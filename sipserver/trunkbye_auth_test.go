package sipserver

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/resource"
)

// TestInboundAuthTrunkByeFromRange: a trunk with inbound_auth is one
// whose address does not prove the carrier (TestTrunkInboundAuth: phones
// share it, anyone may forge it), so its INVITEs must answer a digest
// challenge. fromTrunkOf now accepts the calls' in-dialog requests (BYE,
// re-INVITE, REFER…) from any address of the trunk's range without any
// such proof: here a BYE from 127.0.0.3, a host that never sent or
// answered anything in the call and that would have to authenticate to
// place a call, ends the carrier's call. Before the change only the host
// the INVITE came from could.
func TestInboundAuthTrunkByeFromRange(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.put(resource.Trunk, "", "", `{"name":"carrier","address":"127.0.0.0/8","port":0,"inbound_auth":true,"username":"xc5-in","password":"carrier-pw"}`, resource.Create)
	rec, rep := x.mediaPhone(reception, password)
	car, cep := x.mediaPhone("", "")
	car.number, car.authUser, car.password = "6421555000", "xc5-in", "carrier-pw"
	out := car.dial("6491231234")
	in := rec.next(5 * time.Second)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	out.answered(5 * time.Second)
	a := &answeredCall{out: out, in: in, car: car, rec: rec, cep: cep, rep: rep}

	if got := byeFrom(t, x, a, "127.0.0.3", 1); got != sip.StatusCallTransactionDoesNotExists {
		t.Errorf("BYE from 127.0.0.3 (in the inbound_auth trunk's range, not the carrier's host): %d, want 481", got)
	}
	if a.rec.saw("BYE", 500*time.Millisecond) {
		t.Error("an unauthenticated host of an inbound_auth trunk's range hung up the call")
	}
}
