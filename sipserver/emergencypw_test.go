package sipserver

import (
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/storetest"
)

// TestEmergencyOutageNewPassword: a phone's password is changed just
// before the database goes away. Its 111 with the NEW password is checked
// against last-known secrets that still hold the old one: it gets 503 with
// Retry-After (not 403) and counts no failure towards lockout. The old
// password still places the emergency call (docs/routing.md, "Emergency
// calls"), and nothing else.
func TestEmergencyOutageNewPassword(t *testing.T) {
	o := storetest.PostgresOutage(t)
	store := followingStore(t, o)
	x := newPBXOn(t, Config{}, store)
	// The credentials cache warmed first, so the phone's REGISTER and
	// first call are served from it and never read the store: the warm-up
	// must leave last-known secrets as a read does (it failed so in CI).
	waitWarmed(t, x)
	got := carrierTrunk(x)
	old := x.phone(reception, password, "UDP") // the last-known secrets hold this password
	callBeforeOutage(t, x, old, got)

	const newPassword = "Brand-new-pw-77"
	x.patch(reception, `{"password":"`+newPassword+`"}`)
	o.Cut()
	t.Cleanup(func() { o.Restore(t) })
	x.srv.clock.Advance(credTTL + time.Second)

	failed := x.srv.limiter.Stats().Failed
	fresh := newUAPhone(t, x.srv.addr, "UDP", reception, newPassword)
	for i := 0; i < 3; i++ {
		res := fresh.dial("111").result(8 * time.Second)
		if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
			t.Fatalf("111 with the new password during the outage: %d %s, want 503 with Retry-After", res.StatusCode, res.Reason)
		}
	}
	if n := x.srv.limiter.Stats().Failed; n != failed {
		t.Errorf("the new password's 503s counted %d failures towards lockout", n-failed)
	}
	nothingReceived(t, got)
	out := old.dial("111")
	out.answered(5 * time.Second)
	if in := received(t, got); in.req.Recipient.User != "111" {
		t.Errorf("the carrier received %s, want 111", in.req.Recipient.String())
	}
	out.hangup()
}

// TestEmergencyOutageUnknownPhone: during a store outage, a 111 from a
// phone whose secrets this node never read (its account was made after
// the warm-up, and it never registered) cannot be authenticated: it gets
// 503 with Retry-After, so that the phone tries its next server, never
// an answer that says the number does not exist.
func TestEmergencyOutageUnknownPhone(t *testing.T) {
	o := storetest.PostgresOutage(t)
	store := followingStore(t, o)
	x := newPBXOn(t, Config{}, store)
	waitWarmed(t, x)
	const late, latePassword = "late@acmebrick.x.co.nz", "Late-pw-123"
	x.account("acmebrick.x.co.nz", `{"username":"`+late+`","password":"`+latePassword+`"}`)
	got := carrierTrunk(x)
	callBeforeOutage(t, x, x.phone(reception, password, "UDP"), got)

	o.Cut()
	t.Cleanup(func() { o.Restore(t) })
	stranger := newUAPhone(t, x.srv.addr, "UDP", late, latePassword)
	res := stranger.dial("111").result(8 * time.Second)
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("111 from a phone this node never knew, during the outage: %d %s, want 503 with Retry-After", res.StatusCode, res.Reason)
	}
	nothingReceived(t, got)
}

// waitWarmed waits for the credentials cache's warm-up (in the background
// on PostgreSQL, once the node follows the change feed).
func waitWarmed(t *testing.T, x *pbx) {
	t.Helper()
	cache := x.srv.reg.(*credCache)
	poll.Until(t, 10*time.Second, "the credentials cache warmed", func() bool {
		cache.mu.Lock()
		defer cache.mu.Unlock()
		_, ok := cache.m[reception]
		return ok
	})
}

// callBeforeOutage places and ends a call from p to the carrier, so that
// the node holds its trunks in memory when the store goes away.
func callBeforeOutage(t *testing.T, x *pbx, p *uaPhone, got <-chan *inbound) {
	t.Helper()
	before := p.dial("091234567")
	before.answered(5 * time.Second)
	received(t, got)
	before.hangup()
	x.idle()
}
