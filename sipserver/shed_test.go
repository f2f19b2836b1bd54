package sipserver

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/sqlstore"
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

// gatedStore holds every PutRegistration until the gate opens: a store
// (or a node) that has fallen behind.
type gatedStore struct {
	*sqlstore.Store
	gate    chan struct{}
	waiting chan struct{}
}

func (g *gatedStore) PutRegistration(ctx context.Context, account, contact string, expires time.Time, ua, source string, limit xc5.ContactCap) ([]xc5.Binding, error) {
	select {
	case g.waiting <- struct{}{}:
	default:
	}
	<-g.gate
	return g.Store.PutRegistration(ctx, account, contact, expires, ua, source, limit)
}

// TestRegisterShedding: with MaxPendingRegisters REGISTERs in progress, the
// next is answered 503 with Retry-After at once; when they complete,
// REGISTERs are served again.
func TestRegisterShedding(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	g := &gatedStore{Store: store, gate: make(chan struct{}), waiting: make(chan struct{}, 1)}
	srv := startServer(t, Config{MaxPendingRegisters: 1, RetryAfter: 2 * time.Second, RegisterRetrySpread: -1}, g)
	desk, soft := newPhone(t, srv.addr, "UDP"), newPhone(t, srv.addr, "UDP")
	// With a limit of 1, a phone's authenticated REGISTER can arrive while
	// the handler of its first (challenged) one is still returning: such a
	// 503 is retried, as a phone would after Retry-After.
	register := func(p *phone, contact string) *sip.Response {
		for i := 0; ; i++ {
			res := p.login(p.register(reception, []string{contact}, 600), "MD5", reception, password)
			if res.StatusCode != 503 || i == 50 {
				return res
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	first := make(chan *sip.Response, 1)
	go func() { first <- register(desk, "<sip:desk@127.0.0.1:5001>") }()
	select {
	case <-g.waiting: // desk's REGISTER is in progress, held in its write
	case <-time.After(5 * time.Second):
		t.Fatal("the first REGISTER never reached the store")
	}
	start := time.Now()
	res := soft.do(soft.register(reception, []string{"<sip:soft@127.0.0.1:5002>"}, 600))
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil || res.GetHeader("Retry-After").Value() != "2" {
		t.Fatalf("overloaded registrar: %d %s, want 503 with Retry-After: 2", res.StatusCode, res.Reason)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("503 after %v", d)
	}
	if n := srv.ShedRegisters(); n < 1 {
		t.Errorf("ShedRegisters() = %d, want at least 1", n)
	}
	close(g.gate)
	wantStatus(t, <-first, 200)
	wantStatus(t, register(soft, "<sip:soft@127.0.0.1:5002>"), 200)
}
