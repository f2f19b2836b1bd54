package sqlstore_test

import (
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/internal/poll"
	"xc5/resource"
	"xc5/storetest"
)

// TestVoicemailChangesAcrossNodes: a message left, marked and deleted
// through one node is announced to the other node's listeners through the
// change feed (PostgreSQL), by the time the write returns.
func TestVoicemailChangesAcrossNodes(t *testing.T) {
	url := storetest.PostgresURL(t)
	if url == "" {
		t.Skip("set " + storetest.EnvPostgres + " to run the PostgreSQL feed tests")
	}
	a, b := startNode(t, url), startNode(t, url)
	poll.Until(t, 15*time.Second, "both nodes fresh", func() bool { return a.store.Fresh() && b.store.Fresh() })
	var mu sync.Mutex
	var seen []resource.Change
	b.store.OnChange(func(c resource.Change) {
		if c.Resource == resource.Voicemail {
			mu.Lock()
			seen = append(seen, c)
			mu.Unlock()
		}
	})
	rec, _, err := a.store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "mwi.test", "ums_pin": "1234"}, resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	v := xc5.Voicemail{GUID: resource.NewGUID(), Account: rec.GUID, From: "6499290085", Received: time.Now(), Duration: time.Second, Audio: []byte("RIFF")}
	steps := []func() error{
		func() error { return a.store.LeaveVoicemail(ctx, v, nil) },
		func() error { return a.store.SetVoicemailStatus(ctx, rec.GUID, v.GUID, xc5.VoicemailSaved) },
		func() error { return a.store.DeleteVoicemail(ctx, rec.GUID, v.GUID) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(seen)
		var last resource.Change
		if n > 0 {
			last = seen[n-1]
		}
		mu.Unlock()
		if n != i+1 || last.Account != rec.GUID || last.GUID != v.GUID || last.Deleted != (i == 2) {
			t.Fatalf("step %d: the other node saw %d voicemail changes, the last %+v", i, n, last)
		}
	}
}
