package sipserver

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"xc5/resource"
)

// TestCDRQueueAfterClose: records queued while the queue runs are written
// when it stops, and records of calls that end after it stopped (a
// shutdown cancels ringing legs, whose calls end afterwards) are written
// at once, not left in a queue nobody flushes.
func TestCDRQueueAfterClose(t *testing.T) {
	store := newStore(t)
	guid := addAccount(t, store, reception, password)
	q := newCDRQueue(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.run(ctx, time.Hour); close(done) }()
	q.add(guid, map[string]any{"direction": "in", "outcome": "answered"})
	stop()
	<-done
	q.add(guid, map[string]any{"direction": "in", "outcome": "cancelled"})
	var outcomes []string
	if err := store.List(context.Background(), "", resource.CDR, resource.Query{Parent: guid}, func(r resource.Record) error {
		outcomes = append(outcomes, r.Values["outcome"].(string))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 2 || outcomes[0] != "answered" || outcomes[1] != "cancelled" {
		t.Fatalf("records written: %v, want [answered cancelled]", outcomes)
	}
}
