package sipserver

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TestContactCapConcurrent: 20 phones of one account REGISTER distinct
// contacts at the same moment. Each passes the registrar's own check
// (nobody has written yet), and the store's count, taken in the write,
// keeps exactly MaxContacts (10); the rest get 403 "Too Many Contacts",
// as a REGISTER past the cap always has.
func TestContactCapConcurrent(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	srv := startServer(t, Config{}, store)
	const n = 20
	phones := make([]*phone, n)
	reqs := make([]*sip.Request, n)
	for i := range n {
		phones[i] = newPhone(t, srv.addr, "UDP")
		reqs[i] = phones[i].register(reception, []string{fmt.Sprintf("<sip:p%d@127.0.0.1:%d>", i, 6000+i)}, 600)
		res := phones[i].do(reqs[i])
		wantStatus(t, res, 401)
		authorize(t, reqs[i], challengeFor(t, res, "SHA-256"), reception, password, 1)
		reqs[i].CSeq().SeqNo++
		reqs[i].RemoveHeader("Via")
		phones[i].route(reqs[i])
	}
	codes := make([]int, n)
	reasons := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := phones[i].client.Do(ctx, reqs[i], sipgo.ClientRequestAddVia)
			if err != nil {
				t.Errorf("REGISTER %d: %v", i, err)
				return
			}
			codes[i], reasons[i] = res.StatusCode, res.Reason
		}()
	}
	close(start)
	wg.Wait()
	ok, refused := 0, 0
	for i := range n {
		switch {
		case codes[i] == 200:
			ok++
		case codes[i] == 403 && reasons[i] == "Too Many Contacts":
			refused++
		default:
			t.Errorf("REGISTER %d: %d %s", i, codes[i], reasons[i])
		}
	}
	if got := contactsOf(t, store, guid, srv.clock.Now()); len(got) != 10 || ok != 10 || refused != 10 {
		t.Fatalf("%d stored, %d answered 200, %d refused; want 10, 10, 10", len(got), ok, refused)
	}
}
