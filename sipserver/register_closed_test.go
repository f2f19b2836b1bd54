package sipserver

import (
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/storetest"
)

// TestRegisterStoreClosedAfterWarmUp is TestRegisterStoreUnavailable
// with the store closed while the server
// runs, once the credentials cache has been warmed: a store shutting
// down answers 503, not 500, to a phone its cache lets in.
func TestRegisterStoreClosedAfterWarmUp(t *testing.T) {
	store := newStore(t)
	addAccount(t, store, reception, password)
	srv := startServer(t, Config{AuthFailures: 2}, store)
	storetest.Follow(t, store) // on PostgreSQL: the warm-up waits for a node that hears every change
	if c, ok := srv.reg.(*credCache); ok {
		poll.Until(t, 5*time.Second, "the warm-up", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return len(c.m) > 0
		})
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	p := newPhone(t, srv.addr, "UDP")
	for range 3 {
		res := p.login(p.register(reception, []string{"<sip:a@127.0.0.1:5001>"}, 600), "MD5", reception, password)
		wantStatus(t, res, 503)
		if res.GetHeader("Retry-After") == nil {
			t.Errorf("503 without Retry-After")
		}
	}
	if st := srv.limiter.Stats(); st.Failed != 0 || st.Refused != 0 {
		t.Errorf("limiter %+v: nothing must count while the store is unreachable", st)
	}
}
