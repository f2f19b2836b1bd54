package sipserver

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestLampBusyLineOverUDP: a line with many calls (a main line, or a
// customer's PBX registered as one account) still gets its watchers a
// NOTIFY over UDP: the document holds what fits in one datagram, the
// ringing calls first; and a NOTIFY that cannot be sent here does not
// end the subscription (only a 481 or no answer does). (The line's state
// is seeded on the board directly, as 200 real calls would; the NOTIFY
// is real.)
func TestLampBusyLineOverUDP(t *testing.T) {
	x := newPBX(t, Config{})
	watcher := newUAPhone(t, x.srv.addr, "UDP", reception, password)
	if res := watcher.lampSubscribe(t, "608", 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	watcher.nextLamp(t, 3*time.Second)
	b := x.srv.b2b
	line := x.view.Account(sales)
	now := time.Now()
	d := func() lampDialog {
		id := uuid.NewString()
		return lampDialog{id: id, direction: lampRecipient,
			state: lampEarly, local: "sip:" + sales, remote: "sip:6421555000@127.0.0.1", pickup: "sip:**608@127.0.0.1"}
	}
	for range 199 {
		b.board.set(line.GUID, d(), now)
	}
	b.setLamp(line, d()) // the 200th call: one change, one NOTIFY
	select {
	case <-watcher.notifies:
	case <-time.After(5 * time.Second):
		t.Errorf("no NOTIFY for a line with 200 calls; %d lamp subscriptions left", x.srv.Lamps())
	}
	if x.srv.Lamps() != 1 {
		t.Errorf("the watcher's subscription was dropped: %d held", x.srv.Lamps())
	}
}
