package sqlstore

import "testing"

// TestNumberColumnsFitMask: createNumber's statement cache keys the
// columns it writes by a 64-bit mask, one bit per column of numbers; a
// 65th column would get no bit (1<<64 is 0) and never be written.
// This test, not a panic at package load, is the guard.
func TestNumberColumnsFitMask(t *testing.T) {
	if n := len(numbersTable.cols); n > 64 {
		t.Fatalf("numbers has %d columns; createNumberKey.mask holds 64", n)
	}
}
