package storetest

import (
	"testing"
	"time"
)

func testActiveCalls(t *testing.T, b backend) {
	s := b.open(t)
	now := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct{ call, acct string }{{"c1", "A"}, {"c1", "B"}, {"c2", "A"}, {"c2", "A"}} {
		if err := s.AddActiveCall(ctx, c.call, c.acct, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.ActiveCalls(ctx, "A", now); n != 2 {
		t.Errorf("A: %d calls, want 2", n)
	}
	if err := s.RemoveActiveCallFor(ctx, "c2", "B"); err != nil { // c2 never counted B
		t.Fatal(err)
	}
	if err := s.AddActiveCall(ctx, "c3", "B", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveActiveCallFor(ctx, "c3", "B"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.ActiveCalls(ctx, "B", now); n != 1 {
		t.Errorf("B after c3 let it go: %d, want 1 (c1's)", n)
	}
	if n, _ := s.ActiveCalls(ctx, "A", now); n != 2 {
		t.Errorf("A after c3 let B go: %d, want 2", n)
	}
	if err := s.RemoveActiveCall(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.ActiveCalls(ctx, "A", now); n != 1 {
		t.Errorf("A after c1 ended: %d, want 1", n)
	}
	if n, _ := s.ActiveCalls(ctx, "B", now); n != 0 {
		t.Errorf("B after c1 ended: %d, want 0", n)
	}
	if n, _ := s.ActiveCalls(ctx, "A", now.Add(2*time.Hour)); n != 0 {
		t.Errorf("A after the expiry: %d, want 0", n)
	}
}
