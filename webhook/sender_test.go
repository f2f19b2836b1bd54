package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/internal/poll"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
	"xc5/webhook"
)

const adminPassword = "Admin-Pw-1"

var ctx = context.Background()

// receiver is an httptest webhook receiver that checks each POST's
// signature the way a receiver in any language would, and keeps the
// events it accepted.
type receiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server

	mu     sync.Mutex
	events []xc5.Event
	posts  int
	// answer decides the status of the nth POST (from 1); nil: 200.
	answer func(n int) int
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{t: t, secret: secret}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if r.answer != nil {
		if code := r.answer(r.posts); code != 200 {
			w.WriteHeader(code)
			return
		}
	}
	sig := req.Header.Get(webhook.SignatureHeader)
	var ts, v1 string
	fmt.Sscanf(strings.ReplaceAll(sig, ",", " "), "t=%s v1=%s", &ts, &v1)
	m := hmac.New(sha256.New, []byte(r.secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	if want := hex.EncodeToString(m.Sum(nil)); v1 != want {
		r.t.Errorf("signature %q, want v1=%s", sig, want)
		w.WriteHeader(400)
		return
	}
	if err := webhook.Verify(r.secret, sig, body, time.Now(), time.Minute); err != nil {
		r.t.Errorf("Verify: %v", err)
	}
	if req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("Content-Type %q", req.Header.Get("Content-Type"))
	}
	var ev xc5.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("body %s: %v", body, err)
	}
	r.events = append(r.events, ev)
}

// got returns the events accepted so far.
func (r *receiver) got() []xc5.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]xc5.Event(nil), r.events...)
}

// numbers lists the number of each number.changed event received for
// account, in order, duplicates dropped by event id as a receiver would.
func numbers(evs []xc5.Event, account string) []string {
	seen := map[string]bool{}
	var out []string
	for _, ev := range evs {
		if ev.Account == account && ev.Type == xc5.EventNumberChanged && !seen[ev.ID] {
			seen[ev.ID] = true
			out = append(out, ev.Record["number"].(string))
		}
	}
	return out
}

// start runs a sender with short waits on s until the test ends.
func start(t *testing.T, s *sqlstore.Store, node string) *webhook.Sender {
	t.Helper()
	snd, err := webhook.NewSender(webhook.Config{Outbox: s, Node: node, Poll: 20 * time.Millisecond,
		Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Timeout: 2 * time.Second, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	s.OnEventQueued(snd.Kick)
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { snd.Run(c); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return snd
}

func put(t *testing.T, s *sqlstore.Store, r *resource.Resource, parent string, in resource.Input) resource.Record {
	t.Helper()
	rec, _, err := s.Put(ctx, "", r, parent, "", in, resource.Create)
	if err != nil {
		t.Fatalf("Put %s %v: %v", r.Name, in, err)
	}
	return rec
}

func account(t *testing.T, s *sqlstore.Store, name, parent string) resource.Record {
	in := resource.Input{"username": name}
	if parent != "" {
		in["parent"] = parent
	}
	return put(t, s, resource.Account, "", in)
}

func numberList(n int, base int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("64955%05d", base+i)
	}
	return out
}

// TestDeliveryOrderedSignedIsolated: every event reaches its receiver
// signed with its webhook's secret, once per id, in the order of its
// account's writes; company B's receiver gets none of A's events.
func TestDeliveryOrderedSignedIsolated(t *testing.T) {
	storetest.Each(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		ra, rb := newReceiver(t, "secret-a"), newReceiver(t, "secret-b")
		account(t, s, "a.wh", "")
		account(t, s, "u@a.wh", "a.wh")
		account(t, s, "b.wh", "")
		put(t, s, resource.Webhook, "a.wh", resource.Input{"url": ra.srv.URL, "events": "number.changed", "secret": "secret-a"})
		put(t, s, resource.Webhook, "b.wh", resource.Input{"url": rb.srv.URL, "secret": "secret-b"})
		start(t, s, "n1")
		want := map[string][]string{"a.wh": numberList(8, 0), "u@a.wh": numberList(8, 100)}
		for i := range 8 { // interleaved between two accounts
			for _, acct := range []string{"a.wh", "u@a.wh"} {
				put(t, s, resource.Number, acct, resource.Input{"number": want[acct][i]})
			}
		}
		until(t, func() bool { return len(ra.got()) >= 16 }, "16 events at A's receiver")
		for acct, nums := range want {
			if got := numbers(ra.got(), acct); strings.Join(got, ",") != strings.Join(nums, ",") {
				t.Errorf("%s: received %v, want %v", acct, got, nums)
			}
		}
		put(t, s, resource.Number, "b.wh", resource.Input{"number": "6495599999"})
		until(t, func() bool { return len(rb.got()) >= 1 }, "B's own event")
		for _, ev := range rb.got() {
			if ev.Account != "b.wh" {
				t.Errorf("B's receiver got an event of %s", ev.Account)
			}
		}
	})
}

// TestReceiverDownThenUp: a receiver that answers 503 for a while gets
// every event once it is back, in order, and the webhook shows the
// failure meanwhile and the success after.
func TestReceiverDownThenUp(t *testing.T) {
	storetest.Each(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		r := newReceiver(t, "k")
		var down sync.Mutex
		isDown := true
		r.answer = func(int) int {
			down.Lock()
			defer down.Unlock()
			if isDown {
				return http.StatusServiceUnavailable
			}
			return 200
		}
		account(t, s, "d.wh", "")
		h := put(t, s, resource.Webhook, "d.wh", resource.Input{"url": r.srv.URL, "secret": "k"})
		start(t, s, "n1")
		nums := numberList(5, 200)
		for _, n := range nums {
			put(t, s, resource.Number, "d.wh", resource.Input{"number": n})
		}
		until(t, func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.posts >= 3
		}, "retries while the receiver is down")
		rec, err := s.Get(ctx, "", resource.Webhook, "d.wh", h.GUID)
		if err != nil || !strings.Contains(rec.Values["last_error"].(string), "503") {
			t.Errorf("while down, the webhook shows %v, %v", rec.Values, err)
		}
		down.Lock()
		isDown = false
		down.Unlock()
		until(t, func() bool { return len(numbers(r.got(), "d.wh")) == 5 }, "every event after the receiver is back")
		if got := numbers(r.got(), "d.wh"); strings.Join(got, ",") != strings.Join(nums, ",") {
			t.Errorf("received %v, want %v", got, nums)
		}
		// The last POST is answered before it is marked delivered.
		until(t, func() bool {
			rec, _ = s.Get(ctx, "", resource.Webhook, "d.wh", h.GUID)
			return rec.Values["queued"] == int64(0)
		}, "an empty queue")
		if rec.Values["last_success"] == "" || rec.Values["last_error"] != "" {
			t.Errorf("webhook state %v", rec.Values)
		}
	})
}

// TestHangingReceiverDoesNotBlockWrites: while a receiver holds every
// POST open, API writes (which queue events) still complete, and another
// webhook's receiver still gets its events.
func TestHangingReceiverDoesNotBlockWrites(t *testing.T) {
	storetest.Each(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		release := make(chan struct{})
		arrived := make(chan struct{}, 100)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-release
		}))
		defer srv.Close()
		defer close(release)
		account(t, s, "h.wh", "")
		put(t, s, resource.Webhook, "h.wh", resource.Input{"url": srv.URL})
		start(t, s, "n1")
		put(t, s, resource.Number, "h.wh", resource.Input{"number": "6495500300"})
		<-arrived // the sender is now stuck in the receiver
		for i := range 5 {
			put(t, s, resource.Number, "h.wh", resource.Input{"number": fmt.Sprintf("649550031%d", i)})
		}
		ok := newReceiver(t, "k-ok")
		account(t, s, "g.wh", "")
		put(t, s, resource.Webhook, "g.wh", resource.Input{"url": ok.srv.URL, "secret": "k-ok"})
		put(t, s, resource.Number, "g.wh", resource.Input{"number": "6495500400"})
		until(t, func() bool { return len(ok.got()) == 1 }, "the other receiver's event")
	})
}

// TestTwoNodesDeliverOnce: two nodes, each with a store of its own on
// one database, draining one outbox deliver each event once and keep an
// account's order.
func TestTwoNodesDeliverOnce(t *testing.T) {
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Open(t)
			defer s.Close()
			if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
				t.Fatal(err)
			}
			other := be.Open(t)
			defer other.Close()
			r := newReceiver(t, "k-r")
			account(t, s, "t.wh", "")
			account(t, s, "t2.wh", "")
			for _, a := range []string{"t.wh", "t2.wh"} {
				put(t, s, resource.Webhook, a, resource.Input{"url": r.srv.URL, "secret": "k-r"})
			}
			want := map[string][]string{"t.wh": numberList(15, 400), "t2.wh": numberList(15, 500)}
			for i := range 15 {
				for _, a := range []string{"t.wh", "t2.wh"} {
					put(t, s, resource.Number, a, resource.Input{"number": want[a][i]})
				}
			}
			start(t, s, "n1")
			start(t, other, "n2")
			until(t, func() bool { return len(r.got()) >= 30 }, "30 events")
			time.Sleep(100 * time.Millisecond) // room for a duplicate to show
			if n := len(r.got()); n != 30 {
				t.Errorf("%d deliveries of 30 events", n)
			}
			for a, nums := range want {
				if got := numbers(r.got(), a); strings.Join(got, ",") != strings.Join(nums, ",") {
					t.Errorf("%s: received %v, want %v", a, got, nums)
				}
			}
		})
	}
}

// TestPrivateAddressRefused: without AllowPrivate a webhook cannot
// reach a loopback receiver, and the webhook says why.
func TestPrivateAddressRefused(t *testing.T) {
	storetest.Each(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		r := newReceiver(t, "k-r")
		account(t, s, "p.wh", "")
		h := put(t, s, resource.Webhook, "p.wh", resource.Input{"url": r.srv.URL, "secret": "k-r"})
		snd, err := webhook.NewSender(webhook.Config{Outbox: s, Node: "n1", Poll: 20 * time.Millisecond, Backoff: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		c, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { snd.Run(c); close(done) }()
		defer func() { cancel(); <-done }()
		put(t, s, resource.Number, "p.wh", resource.Input{"number": "6495500500"})
		until(t, func() bool {
			rec, err := s.Get(ctx, "", resource.Webhook, "p.wh", h.GUID)
			return err == nil && strings.Contains(rec.Values["last_error"].(string), "not a public address")
		}, "the refusal in last_error")
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.posts != 0 {
			t.Errorf("the loopback receiver got %d POSTs", r.posts)
		}
	})
}

// TestSignature: Sign's header verifies, and a changed body, another
// secret or an old time does not.
func TestSignature(t *testing.T) {
	now := time.Unix(1764000000, 0)
	body := []byte(`{"id":"x"}`)
	h := webhook.Sign("s", now, body)
	if !strings.HasPrefix(h, "t=1764000000,v1=") {
		t.Fatalf("header %q", h)
	}
	for _, tc := range []struct {
		name, secret string
		body         []byte
		at           time.Time
		ok           bool
	}{
		{"good", "s", body, now, true},
		{"body changed", "s", []byte(`{"id":"y"}`), now, false},
		{"other secret", "t", body, now, false},
		{"replayed later", "s", body, now.Add(10 * time.Minute), false},
	} {
		if err := webhook.Verify(tc.secret, h, tc.body, tc.at, 5*time.Minute); (err == nil) != tc.ok {
			t.Errorf("%s: Verify = %v", tc.name, err)
		}
	}
}

// until waits for cond, for what, failing after 20 s.
func until(t *testing.T, cond func() bool, what string) {
	t.Helper()
	poll.Until(t, 20*time.Second, what, cond)
}

func ctxWithCancel() (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }
