package api

import (
	"bytes"
	"runtime"
	"testing"
	"testing/iotest"
)

// TestReadAtMost: an upload is read whole into one buffer, allocated once
// when its size is known, and reading stops a byte past the limit.
func TestReadAtMost(t *testing.T) {
	body := bytes.Repeat([]byte("RIFF"), 5<<20) // 20 MiB
	for _, c := range []struct {
		name         string
		limit        int
		hint         int64
		want         int
		maxAllocated int
	}{
		{"size known", MaxAudio, int64(len(body)), len(body), len(body) + 64<<10},
		{"size unknown", MaxAudio, -1, len(body), 3 * len(body)},
		{"over the limit", 1 << 20, int64(len(body)), 1<<20 + 1, 1<<20 + 64<<10},
		{"over the limit, size unknown", 1 << 20, -1, 1<<20 + 1, 3 << 20},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := readAtMost(iotest.HalfReader(bytes.NewReader(body)), c.limit, c.hint)
		runtime.ReadMemStats(&after)
		if err != nil || len(got) != c.want || !bytes.Equal(got, body[:len(got)]) {
			t.Errorf("%s: %d bytes, %v; want %d", c.name, len(got), err, c.want)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(c.maxAllocated) {
			t.Errorf("%s: allocated %d KiB, want at most %d KiB", c.name, alloc>>10, c.maxAllocated>>10)
		}
	}
}
