package sipserver

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/resource"
)

// TestCarrierByeFromSharedTrunkAddress: fromTrunkOf asks which trunk
// an address belongs to (trunks.inbound, first enabled match by priority)
// and compares that one trunk with the call's. When another trunk of a
// higher priority also lists the address (an SBC node shared by two
// trunks of one carrier, or a lab trunk on a cluster node), a BYE of the
// call's own trunk from that address is refused 481 although it is "an
// address of its trunk", and the call goes on.
func TestCarrierByeFromSharedTrunkAddress(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.put(resource.Trunk, "", "", `{"name":"lab","address":"127.0.0.2","port":0,"priority":1}`, resource.Create)
	x.put(resource.Trunk, "", "", `{"name":"carrier","address":"127.0.0.1,127.0.0.2","port":0,"priority":2}`, resource.Create)
	a := x.answeredCall() // from 127.0.0.1: only the carrier trunk holds it

	if got := byeFrom(t, x, a, "127.0.0.2", 1); got != sip.StatusOK {
		t.Fatalf("BYE from 127.0.0.2, an address of the call's trunk (carrier) also listed by trunk lab: %d, want 200", got)
	}
	if !a.rec.saw("BYE", 3*time.Second) {
		t.Fatal("the carrier's BYE did not reach reception")
	}
}
