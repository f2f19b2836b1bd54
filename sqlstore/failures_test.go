package sqlstore_test

import (
	"slices"
	"testing"
	"time"

	"xc5/storetest"
)

func TestFailureLog(t *testing.T) { forEachBackend(t, testFailureLog) }

// testFailureLog: failures are counted per key and minute, several keys
// in one write, and read back in the order asked.
func testFailureLog(t *testing.T, b storetest.Backend) {
	s, _ := openStore(t, b)
	now := time.Date(2030, 1, 1, 10, 0, 30, 0, time.UTC)
	keys := []string{"ip:192.0.2.1", "pair:admin|192.0.2.1", "user:admin"}
	for range 3 {
		if err := s.AddFailures(ctx, keys, now); err != nil {
			t.Fatalf("AddFailures: %v", err)
		}
	}
	if err := s.AddFailures(ctx, keys[2:], now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		keys []string
		at   time.Time
		want []int
	}{
		{keys, now, []int{3, 3, 4}},
		{[]string{"user:admin", "user:other", "ip:192.0.2.1"}, now, []int{4, 0, 3}},
		{keys, now.Add(time.Minute), []int{0, 0, 0}},
	}
	for _, tt := range tests {
		got, err := s.Failures(ctx, tt.keys, tt.at)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Failures(%v, %v) = %v, %v; want %v", tt.keys, tt.at, got, err, tt.want)
		}
	}
}
