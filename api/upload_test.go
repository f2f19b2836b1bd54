package api_test

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"xc5/api"
	"xc5/storetest"
)

// ulawWAV is a μ-law WAV at 8 kHz of n bytes of audio: per byte uploaded
// the most samples, so the upload that costs a converter the most memory.
func ulawWAV(n int) []byte {
	b := make([]byte, 44+n)
	le := binary.LittleEndian
	copy(b[0:], "RIFF")
	le.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 7) // μ-law
	le.PutUint16(b[22:], 1)
	le.PutUint32(b[24:], 8000)
	le.PutUint32(b[28:], 8000)
	le.PutUint16(b[32:], 1)
	le.PutUint16(b[34:], 8)
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(n))
	for i := range n {
		b[44+i] = byte(i*7) | 0x55
	}
	return b
}

// peakHeap samples the heap in use until stop is called, and returns the
// highest value seen.
func peakHeap() (stop func() uint64) {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// TestConcurrentUploadsBoundHeap: 24 simultaneous prompt uploads of
// nearly 20 MiB each (the case that took the process to 1.55 GiB) keep
// the heap bounded by the uploads allowed in flight, and every one is
// answered 2xx or 503 with Retry-After: nothing else.
func TestConcurrentUploadsBoundHeap(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/account/", `{"username":"up.test"}`)
	body := ulawWAV(api.MaxAudio - 64)
	const n = 24
	guids := make([]string, n)
	for i := range guids {
		guids[i] = c.ok("GET", "/api-sys/guid", "")[0]["guid"].(string)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	stop := peakHeap()
	codes := make([]int, n)
	retry := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PUT", c.url+"/api-sys/account/up.test/prompt/"+guids[i], bytes.NewReader(body))
			req.SetBasicAuth("admin", adminPW)
			req.Header.Set("Content-Type", "audio/wav")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("upload %d: %v", i, err)
				return
			}
			resp.Body.Close()
			codes[i], retry[i] = resp.StatusCode, resp.Header.Get("Retry-After")
		}()
	}
	wg.Wait()
	peak := stop()
	ok, busy := 0, 0
	for i, code := range codes {
		switch {
		case code/100 == 2:
			ok++
		case code == 503 && retry[i] != "":
			busy++
		default:
			t.Errorf("upload %d: %d (Retry-After %q), want 2xx or 503 with Retry-After", i, code, retry[i])
		}
	}
	// Each upload in flight holds its body and the converted audio (twice
	// the body for 8-bit audio at 8 kHz), and the store may copy both
	// while writing them: five times MaxAudio at most. The garbage
	// collector lets the heap reach twice what is live. Without the bound
	// on uploads in flight the peak was 3.7 GiB.
	perUpload := uint64(5)
	if storetest.OnPostgres(t) {
		// pgx copies the three MaxAudio of parameters twice, into its
		// parameter buffer and then into the Bind message, each grown by
		// append (so briefly beside a predecessor of half its size):
		// 1 + 2 + 2×(3 + 1.5), twelve times MaxAudio. Unbounded, 24
		// uploads would still be far above this.
		perUpload = 12
	}
	bound := base + 2*uint64(api.MaxUploads)*perUpload*api.MaxAudio
	t.Logf("%d uploads: %d stored, %d refused 503; heap in use %d MiB before, peak %d MiB (bound %d MiB)",
		n, ok, busy, base>>20, peak>>20, bound>>20)
	if ok == 0 {
		t.Errorf("no upload was stored")
	}
	if peak > bound {
		t.Errorf("peak heap in use %d MiB, above %d MiB", peak>>20, bound>>20)
	}
}
