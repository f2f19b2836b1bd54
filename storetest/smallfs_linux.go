package storetest

import (
	"os"
	"syscall"
	"testing"
)

// SmallFS mounts a tmpfs of the given size (as "2m") on a temporary
// directory, unmounted at the end of the test: a real filesystem that
// fills up. Mounting needs root: the test is skipped without it, except
// under CI (which runs as root), where it fails instead.
func SmallFS(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a %s tmpfs (CI runs as root): %v", size, err)
		}
		t.Skipf("mounting a small filesystem needs root: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
