package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"xc5/internal/poll"
	"xc5/webhook"
)

// TestWebhookDownKilledRestarted: events written through the API while
// the receiver is down stay queued through a kill -9 of xc5 serve; once
// the server is back and the receiver up, every one arrives, signed with
// the webhook's secret, in the order of the writes.
func TestWebhookDownKilledRestarted(t *testing.T) {
	for _, slow := range []time.Duration{0, 300 * time.Millisecond} {
		t.Run(fmt.Sprintf("refusal after %v", slow), func(t *testing.T) { webhookDownKilledRestarted(t, slow) })
	}
}

// webhookDownKilledRestarted: the receiver refuses after slow, so that
// with 300 ms the kill lands while a POST is in flight, its delivery
// claimed by the killed process (before ReleaseOrphanClaims it then
// waited for the lease, 70 s, after the restart).
func webhookDownKilledRestarted(t *testing.T, slow time.Duration) {
	if testing.Short() {
		t.Skip("process test")
	}
	const pw, secret = "webhook-test", "whsec-1"
	var mu sync.Mutex
	down, posts := true, 0
	var numbers []string
	seen := map[string]bool{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		posts++
		if down {
			mu.Unlock()
			time.Sleep(slow)
			mu.Lock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if err := webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var ev struct {
			ID, Type, Account string
			Record            map[string]any
		}
		json.Unmarshal(body, &ev)
		if !seen[ev.ID] && ev.Type == "number.changed" {
			seen[ev.ID] = true
			numbers = append(numbers, ev.Record["number"].(string))
		}
	}))
	defer rcv.Close()

	dir := t.TempDir()
	env := []string{"XC5_ADMIN_PASSWORD=" + pw}
	args := []string{"--data", dir, "--sip", "127.0.0.1:0", "--webhook-private", "--webhook-backoff", "50ms"} // the receiver is on loopback
	s := startServe(t, args, env...)
	for _, r := range [][2]string{
		{"/api-sys/account/", `{"username":"hooked.test"}`},
		{"/api-sys/account/hooked.test/webhook", `{"url":"` + rcv.URL + `","events":"number.changed","secret":"` + secret + `"}`},
	} {
		if code, body := s.do(t, "PUT", r[0], "admin", pw, r[1]); code != 201 {
			t.Fatalf("PUT %s: %d %s", r[0], code, body)
		}
	}
	var want []string
	for i := range 5 {
		n := fmt.Sprintf("649770000%d", i)
		if code, body := s.do(t, "PUT", "/api-sys/account/hooked.test/number", "admin", pw, `{"number":"`+n+`"}`); code != 201 {
			t.Fatalf("number: %d %s", code, body)
		}
		want = append(want, n)
	}
	poll.Until(t, 20*time.Second, "a refused try", func() bool { mu.Lock(); defer mu.Unlock(); return posts >= 2 })
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	mu.Lock()
	down = false
	mu.Unlock()

	s2 := startServe(t, args, env...)
	poll.Until(t, 20*time.Second, "every event after the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(numbers) >= 5 })
	mu.Lock()
	got := strings.Join(numbers, ",")
	mu.Unlock()
	if got != strings.Join(want, ",") {
		t.Errorf("received %s, want %s", got, strings.Join(want, ","))
	}
	poll.Until(t, 20*time.Second, "an empty queue", func() bool {
		_, body := s2.do(t, "GET", "/api-sys/account/hooked.test/webhook", "admin", pw, "")
		return strings.Contains(body, `"queued":0`) && strings.Contains(body, `"last_error":""`)
	})
	// The writes are in the audit trail, with the webhook's secret masked.
	_, body := s2.do(t, "GET", "/api-sys/account/hooked.test/audit", "admin", pw, "")
	if strings.Count(body, `"method":"PUT"`) != 7 || strings.Contains(body, secret) || !strings.Contains(body, `\"secret\":\"********\"`) {
		t.Errorf("audit trail: %s", body)
	}
}
