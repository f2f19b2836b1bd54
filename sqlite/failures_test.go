package sqlite_test

import (
	"testing"
	"time"

	"xc5/storetest"
)

func TestFailureLog(t *testing.T) { forEachBackend(t, testFailureLog) }

func testFailureLog(t *testing.T, b storetest.Backend) {
	s, _ := openStore(t, b)
	now := time.Date(2030, 1, 1, 10, 0, 30, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		if n, err := s.AddFailure(ctx, "ip:192.0.2.1", now); err != nil || n != i {
			t.Fatalf("AddFailure %d = %d, %v", i, n, err)
		}
	}
	if n, _ := s.Failures(ctx, "ip:192.0.2.1", now); n != 3 {
		t.Errorf("Failures = %d, want 3", n)
	}
	if n, _ := s.Failures(ctx, "ip:192.0.2.1", now.Add(time.Minute)); n != 0 {
		t.Errorf("Failures next minute = %d, want 0", n)
	}
	if n, _ := s.Failures(ctx, "user:other", now); n != 0 {
		t.Errorf("Failures of another key = %d, want 0", n)
	}
}
