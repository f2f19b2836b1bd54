package storetest

import (
	"context"
	"testing"
	"time"
)

// testRoomClaims: a free room goes to the first node; another node is
// told the holder; the holder renews; a lapsed claim goes to the next
// node; a dead holder's room can be taken, once.
func testRoomClaims(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	claim := func(room, node string, ttl time.Duration, want string) {
		t.Helper()
		got, err := s.ClaimRoom(ctx, room, node, ttl)
		if err != nil || got != want {
			t.Fatalf("ClaimRoom(%s, %s) = %q, %v; want %q", room, node, got, err, want)
		}
	}
	claim("6499290085", "a:5080", time.Minute, "a:5080")
	claim("6499290085", "b:5080", time.Minute, "a:5080")
	claim("6499290085", "a:5080", time.Minute, "a:5080")
	claim("6499290099", "b:5080", 10*time.Millisecond, "b:5080")
	time.Sleep(30 * time.Millisecond)
	claim("6499290099", "a:5080", time.Minute, "a:5080")
	if got, err := s.TakeRoom(ctx, "6499290085", "a:5080", "b:5080", time.Minute); err != nil || got != "b:5080" {
		t.Fatalf("TakeRoom = %q, %v", got, err)
	}
	if got, err := s.TakeRoom(ctx, "6499290085", "a:5080", "c:5080", time.Minute); err != nil || got != "b:5080" {
		t.Fatalf("a second TakeRoom from the old holder = %q, %v", got, err)
	}
	if _, err := s.ClaimRoom(ctx, "", "a", time.Minute); err == nil {
		t.Fatal("a claim without a room was accepted")
	}
}
