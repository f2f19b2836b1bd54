package service

import (
	"context"
	"testing"
	"time"

	"xc5/sqlstore"
	"xc5/storetest"
)

// TestPINGuard: ten wrong PINs within an hour lock the mailbox (the
// right PIN is refused too) until the oldest failure is an hour old;
// other mailboxes are not touched.
func TestPINGuard(t *testing.T) {
	var g pinGuard
	t0 := time.Now()
	for i := 0; i < pinFailures; i++ {
		if g.locked("A", t0) {
			t.Fatalf("locked after %d failures", i)
		}
		g.failed("A", t0.Add(time.Duration(i)*time.Minute))
	}
	if !g.locked("A", t0.Add(10*time.Minute)) {
		t.Fatal("not locked after ten failures")
	}
	if g.locked("B", t0) {
		t.Fatal("another mailbox is locked")
	}
	if g.locked("A", t0.Add(pinWindow+time.Minute+time.Second)) {
		t.Fatal("still locked once the first failure is over an hour old")
	}
}

// TestPINGuardShared: wrong PINs counted in the store bound the guesses of
// every media node together: after pinPerMinute this minute, the mailbox
// is locked for all of them (SQLite and PostgreSQL).
func TestPINGuardShared(t *testing.T) {
	// The backend XC5_TEST_STORE chooses: CI's default pass runs SQLite, its postgres pass PostgreSQL, each once.
	storetest.EachChosen(t, "admin-pw-123", func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Now()
		for i := 0; i < pinPerMinute; i++ {
			if lockedShared(ctx, s, "A", now) {
				t.Fatalf("locked after %d failures", i)
			}
			failedShared(ctx, s, "A", now) // from any node: one store
		}
		if !lockedShared(ctx, s, "A", now) {
			t.Fatal("not locked after the shared failures")
		}
		if lockedShared(ctx, s, "B", now) {
			t.Fatal("another mailbox is locked")
		}
	})
}
