package sipserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xc5"
)

// One authenticated phone opens many subscriptions: nothing bounds them.
func TestSubscriptionFlood(t *testing.T) {
	x := newPBX(t, Config{DigestAlgorithms: []string{"MD5"}})
	x.patch(reception, `{"ums_pin":"1234"}`)
	var phones []*mwiPhone
	for range 200 {
		phones = append(phones, &mwiPhone{user: reception, guid: x.ids[reception], password: password, notifies: make(chan mwiNotify, 16)})
	}
	mwiSockets(t, 1, phones, x.srv.addr)
	for i, p := range phones {
		if err := p.subscribe(); err != nil {
			t.Fatalf("subscription %d: %v", i, err)
		}
	}
	if n := x.srv.Subscriptions(); n > 20 {
		t.Fatalf("one account holds %d subscriptions (registrations are capped at MaxContacts=10)", n)
	}
}

// A subscriber that never answers its NOTIFY holds sub.mu for RequestTimeout;
// the sweep takes b.mwi.mu and then waits on that sub.mu, so every other
// account's MWI (mwi.of, add, Subscriptions) stalls behind one dead phone.
func TestSweepStall(t *testing.T) {
	x := newPBX(t, Config{DigestAlgorithms: []string{"MD5"}, RequestTimeout: 6 * time.Second, SweepInterval: 50 * time.Millisecond})
	x.patch(reception, `{"ums_pin":"1234"}`)
	p := &mwiPhone{user: reception, guid: x.ids[reception], password: password, notifies: make(chan mwiNotify, 16)}
	sock := mwiSockets(t, 1, []*mwiPhone{p}, x.srv.addr)[0]
	if err := p.subscribe(); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.await("Voice-Message: 0/0", 3*time.Second); !ok {
		t.Fatal("no first NOTIFY")
	}
	sock.answer.Store(-1)
	if err := x.store.LeaveVoicemail(context.Background(), xc5.Voicemail{Account: p.guid, From: "6421555000", To: "6491231234", Duration: time.Second}, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	x.srv.Subscriptions()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Subscriptions() (b.mwi.mu) blocked %v behind one unanswered NOTIFY", d)
	}
	fmt.Println("ok")
}
