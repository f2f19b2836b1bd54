package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"xc5"
	"xc5/internal/poll"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
	"xc5/webhook"
)

// TestHangingReceiverHoldsOnlyItsOwnSlots: one company's receiver
// that accepts connections and never answers (a hung CRM) must not hold
// up another company's deliveries (docs/api.md: "a receiver that hangs
// holds only its own slot for its timeout"). A claim takes one delivery
// per webhook *and account*, so a company webhook with events of 16
// accounts takes all 16 parallel slots (Config.Parallel's default), and
// every other company's events wait for the hung POSTs' timeout (10 s by
// default, then again at each retry of the 16). Here the timeout is a
// minute; the other company's event must arrive while the hung POSTs
// are still held.
func TestHangingReceiverHoldsOnlyItsOwnSlots(t *testing.T) {
	storetest.Each(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		release := make(chan struct{})
		var hung atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hung.Add(1)
			<-release
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })

		account(t, s, "hung.hooks", "")
		put(t, s, resource.Webhook, "hung.hooks", resource.Input{"url": srv.URL})
		for i := range 16 {
			account(t, s, fmt.Sprintf("u%d@hung.hooks", i), "hung.hooks") // 16 accounts: 16 queues of one webhook
		}
		snd, err := webhook.NewSender(webhook.Config{Outbox: s, Node: "n1", Poll: 20 * time.Millisecond,
			Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Timeout: time.Minute, AllowPrivate: true})
		if err != nil {
			t.Fatal(err)
		}
		s.OnEventQueued(snd.Kick)
		c, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { snd.Run(c); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		poll.Until(t, 20*time.Second, "the hung receiver's POSTs", func() bool { return hung.Load() >= xc5.WebhookInFlight })

		ok := newReceiver(t, "k-ok")
		account(t, s, "ok.hooks", "")
		put(t, s, resource.Webhook, "ok.hooks", resource.Input{"url": ok.srv.URL, "secret": "k-ok"})
		put(t, s, resource.Number, "ok.hooks", resource.Input{"number": "6495507700"})
		poll.Until(t, 10*time.Second, "another company's event while one company's receiver hangs", func() bool { return len(ok.got()) > 0 })
		if n := hung.Load(); n != xc5.WebhookInFlight {
			t.Errorf("the hung receiver got %d POSTs at once, want %d (xc5.WebhookInFlight)", n, xc5.WebhookInFlight)
		}
	})
}

// TestHangingReceiverReleasedOnShutdown: a node that stops while a POST
// hangs gives the delivery back, so that another node claims it at once
// instead of after the lease (here an hour).
func TestHangingReceiverReleasedOnShutdown(t *testing.T) {
	storetest.Each(t, adminPassword, func(t *testing.T, s *sqlstore.Store) {
		release := make(chan struct{})
		var hung atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hung.Add(1)
			<-release
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		account(t, s, "stop.hooks", "")
		put(t, s, resource.Webhook, "stop.hooks", resource.Input{"url": srv.URL})
		snd, err := webhook.NewSender(webhook.Config{Outbox: s, Node: "n1", Poll: 20 * time.Millisecond, Timeout: time.Minute, Lease: time.Hour, AllowPrivate: true})
		if err != nil {
			t.Fatal(err)
		}
		s.OnEventQueued(snd.Kick)
		c, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { snd.Run(c); close(done) }()
		put(t, s, resource.Number, "stop.hooks", resource.Input{"number": "6495507701"})
		poll.Until(t, 10*time.Second, "the hanging POST", func() bool { return hung.Load() >= 1 })
		cancel()
		<-done
		ds, err := s.ClaimDeliveries(ctx, "n2", time.Minute, 10)
		if err != nil || len(ds) != 1 {
			t.Fatalf("another node's claim after the shutdown: %d deliveries, %v; want the one cut short", len(ds), err)
		}
	})
}
