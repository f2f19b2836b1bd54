package sipserver

import (
	"context"
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/resource"
)

// TestLampSubscriberDeleted: once the subscribing account is deleted
// (an employee who left), its busy-lamp subscriptions end at once (a
// terminated NOTIFY) and its phone no longer learns the line's calls;
// the same when it is deleted as a child of its company
// (/account/{company}/child/{user}).
func TestLampSubscriberDeleted(t *testing.T) {
	for _, r := range []*resource.Resource{resource.Account, resource.Child} {
		t.Run(r.Name, func(t *testing.T) { lampSubscriberDeleted(t, r) })
	}
}

func lampSubscriberDeleted(t *testing.T, r *resource.Resource) {
	x := newPBX(t, Config{})
	const desk = "desk@acmebrick.x.co.nz"
	x.account("acmebrick.x.co.nz", `{"username":"`+desk+`","password":"`+password+`"}`)
	watcher := newUAPhone(t, x.srv.addr, "UDP", desk, password)
	caller := x.phone(reception, password, "UDP")
	callee := x.phone(sales, salesPassword, "UDP")
	if res := watcher.lampSubscribe(t, "608", 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	watcher.nextLamp(t, 3*time.Second)
	parent := ""
	if r == resource.Child {
		parent = x.ids["acmebrick.x.co.nz"]
	}
	if err := x.store.Delete(context.Background(), "", r, parent, desk); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 3*time.Second, "the view drops the account", func() bool { return x.view.Account(desk) == nil })
	// A terminated NOTIFY for the deleted subscriber is fine; drain it.
	time.Sleep(300 * time.Millisecond)
	for len(watcher.notifies) > 0 {
		<-watcher.notifies
	}
	out := caller.dial("608")
	in := callee.next(5 * time.Second)
	in.ring()
	select {
	case n := <-watcher.notifies:
		t.Errorf("the deleted account's phone still gets the line's calls (%d lamp subscriptions): %s", x.srv.Lamps(), n.Body())
	case <-time.After(time.Second):
	}
	in.reject(486, "Busy Here")
	out.result(5 * time.Second)
	x.idle()
}
