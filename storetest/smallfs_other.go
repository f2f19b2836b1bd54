//go:build !linux

package storetest

import "testing"

// SmallFS needs Linux's tmpfs: elsewhere the test is skipped.
func SmallFS(t testing.TB, size string) string {
	t.Skip("a small filesystem for the test needs Linux (tmpfs)")
	return ""
}
