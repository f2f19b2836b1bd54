package sipserver

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"xc5"
	"xc5/sqlstore"
)

// countingStore counts PutRegistration calls and holds them until its
// gate opens: a store (or a node) that has fallen behind.
type countingStore struct {
	gatedStore
	puts atomic.Int64
}

func (c *countingStore) PutRegistration(ctx context.Context, account, contact string, expires time.Time, ua, source string, limit xc5.ContactCap) ([]xc5.Binding, error) {
	c.puts.Add(1)
	return c.gatedStore.PutRegistration(ctx, account, contact, expires, ua, source, limit)
}

// TestRegisterStorm: once the oldest REGISTER in progress has waited
// MaxRegisterWait, a REGISTER that starts a registration is refused at
// once with 503 and a Retry-After spread over RetryAfter to RetryAfter +
// RegisterRetrySpread, while the answer to a challenge already sent is
// still taken in and served; a retransmission of a REGISTER in work is
// absorbed, not written again. When the work drains, REGISTERs are served.
func TestRegisterStorm(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	g := &countingStore{gatedStore: gatedStore{Store: store, gate: make(chan struct{}), waiting: make(chan struct{}, 1)}}
	srv := startServer(t, Config{MaxRegisterWait: 200 * time.Millisecond, RetryAfter: time.Second, RegisterRetrySpread: 4 * time.Second}, g)

	// A phone whose registration is in work, held by the store.
	desk := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	res := desk.send("REGISTER", rawRURI, "Expires: 600")
	if status(res) != 401 {
		t.Fatalf("first REGISTER: %v", res)
	}
	authed := desk.answer(res)
	if _, err := desk.c.WriteToUDP(authed, desk.dst); err != nil {
		t.Fatal(err)
	}
	<-g.waiting
	// Another phone got its challenge before the queue grew.
	soft := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	softChal := soft.send("REGISTER", rawRURI, "Expires: 600")
	if status(softChal) != 401 {
		t.Fatalf("soft's first REGISTER: %v", softChal)
	}
	time.Sleep(300 * time.Millisecond) // desk's REGISTER has now waited too long
	// desk retransmits its REGISTER in work (same branch): absorbed.
	for range 3 {
		desk.c.WriteToUDP(authed, desk.dst)
	}

	seen := map[int]bool{}
	for i := range 40 {
		p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
		res := p.send("REGISTER", rawRURI, "Expires: 600")
		if status(res) != 503 {
			t.Fatalf("new registration %d with the queue too old: %v", i, res)
		}
		ra, err := strconv.Atoi(res.GetHeader("Retry-After").Value())
		if err != nil || ra < 1 || ra > 5 {
			t.Fatalf("Retry-After %q, want 1 to 5", res.GetHeader("Retry-After").Value())
		}
		seen[ra] = true
	}
	if len(seen) < 3 {
		t.Errorf("Retry-After values %v: not spread", seen)
	}
	// soft's answer to its challenge is taken in (it waits in the store).
	softAuthed := soft.answer(softChal)
	if _, err := soft.c.WriteToUDP(softAuthed, soft.dst); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := g.puts.Load(); n != 2 {
		t.Errorf("%d bindings written while held, want 2 (desk once, its retransmissions absorbed, and soft)", n)
	}
	close(g.gate)
	for _, p := range []*rawPhone{desk, soft} {
		if res := p.read(); status(res) != 200 {
			t.Errorf("held REGISTER: %v", res)
		}
	}
	if n := g.puts.Load(); n != 2 {
		t.Errorf("%d bindings written, want 2", n)
	}
	// Drained (the handlers have returned): a new registration is served.
	for deadline := time.Now().Add(5 * time.Second); srv.registers.Load() != 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if code := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password).register(); code != 200 {
		t.Errorf("after the storm: %d", code)
	}
	if n := srv.ShedRegisters(); n != 40 {
		t.Errorf("ShedRegisters() = %d, want 40", n)
	}
}

// readCountingStore counts ContactsOf reads.
type readCountingStore struct {
	*sqlstore.Store
	reads atomic.Int64
}

func (c *readCountingStore) ContactsOf(ctx context.Context, account string, now time.Time) ([]xc5.Binding, error) {
	c.reads.Add(1)
	return c.Store.ContactsOf(ctx, account, now)
}

// TestRegisterOneStoreTrip: a REGISTER of one contact (a new phone, or a
// refresh) goes to the store once: its 200 lists the account's bindings
// as the write read them, not through a separate read of the bindings
// (ContactsOf was 13 % of a registration's CPU in a storm).
func TestRegisterOneStoreTrip(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	now := time.Now()
	if _, err := store.PutRegistration(context.Background(), guid, "sip:desk@192.0.2.7", now.Add(time.Hour), "desk", "udp:192.0.2.7:5060", xc5.ContactCap{}); err != nil {
		t.Fatal(err)
	}
	c := &readCountingStore{Store: store}
	srv := startServer(t, Config{}, c)
	p := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	own := "<sip:" + p.c.LocalAddr().String() + ">;expires=600"
	for _, what := range []string{"new binding", "refresh"} {
		chal := p.send("REGISTER", rawRURI, "Expires: 600")
		if status(chal) != 401 {
			t.Fatalf("%s: %v", what, chal)
		}
		if _, err := p.c.WriteToUDP(p.answer(chal), p.dst); err != nil {
			t.Fatal(err)
		}
		res := p.read()
		if status(res) != 200 {
			t.Fatalf("%s: %v", what, res)
		}
		got := responseContacts(res)
		if len(got) != 2 || !strings.HasPrefix(got[0], "<sip:desk@192.0.2.7>;expires=") || got[1] != own {
			t.Errorf("%s: 200 lists %q", what, got)
		}
	}
	if n := c.reads.Load(); n != 0 {
		t.Errorf("%d separate reads of the bindings, want none", n)
	}
	if bs, _ := store.ContactsOf(context.Background(), guid, srv.clock.Now()); len(bs) != 2 {
		t.Errorf("stored bindings %+v", bs)
	}
}

// TestRegisterGate: REGISTERs take their turn at the CPU a few at a time,
// in order of arrival; one that waited longer than MaxRegisterWait for
// its turn and starts a registration is refused 503 with Retry-After,
// while an answer to a challenge that waited as long is served.
func TestRegisterGate(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{MaxRegisterWait: 200 * time.Millisecond, RegisterRetrySpread: -1}, store)
	answering := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	chal := answering.send("REGISTER", rawRURI, "Expires: 600")
	if status(chal) != 401 {
		t.Fatalf("challenge: %v", chal)
	}
	// Every turn is taken (by REGISTERs the machine is busy with).
	for range cap(srv.regGate) {
		srv.regGate <- struct{}{}
	}
	starting := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password)
	if _, err := starting.c.WriteToUDP(starting.request("REGISTER", rawRURI, "Expires: 600"), starting.dst); err != nil {
		t.Fatal(err)
	}
	if _, err := answering.c.WriteToUDP(answering.answer(chal), answering.dst); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); srv.registers.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // both have now waited longer than MaxRegisterWait
	for range cap(srv.regGate) {
		<-srv.regGate
	}
	if res := starting.read(); status(res) != 503 || res.GetHeader("Retry-After") == nil {
		t.Errorf("a registration that waited too long for its turn: %v", res)
	}
	if res := answering.read(); status(res) != 200 {
		t.Errorf("an answer to a challenge that waited: %v", res)
	}
	for deadline := time.Now().Add(5 * time.Second); srv.registers.Load() != 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if code := newRawPhone(t, "127.0.0.1:0", srv.addr, reception, password).register(); code != 200 {
		t.Errorf("with turns free again: %d", code)
	}
}
