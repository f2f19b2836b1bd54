package sipserver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// TestCallWebhookEvents: a real call between two phones queues, for the
// company's webhook, call.started, call.answered and call.ended about the
// caller's account in that order, and call.answered and call.ended about
// the answering one, with the call's Call-ID.
func TestCallWebhookEvents(t *testing.T) {
	x := newPBX(t, Config{})
	x.put(resource.Webhook, "acmebrick.x.co.nz", "", `{"url":"http://127.0.0.1:9/","events":"call.started,call.answered,call.ended"}`, resource.Create)
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	out := rec.dial("608")
	in := sal.next(5 * time.Second)
	go in.answer()
	out.answered(5 * time.Second)
	if !sal.saw("ACK", 2*time.Second) {
		t.Fatal("sales got no ACK")
	}
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	x.idle()
	x.cdrs(sales, 1)

	got := map[string][]string{} // event types by account, in claim order
	var callID string
	deadline := time.Now().Add(5 * time.Second)
	for len(got[reception]) < 3 || len(got[sales]) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("events so far %v", got)
		}
		ds, err := x.store.ClaimDeliveries(context.Background(), "t", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		for _, d := range ds {
			var ev xc5.Event
			if err := json.Unmarshal(d.Body, &ev); err != nil {
				t.Fatal(err)
			}
			got[ev.Account] = append(got[ev.Account], ev.Type)
			if callID == "" {
				callID, _ = ev.Call["call_id"].(string)
			} else if ev.Call["call_id"] != callID {
				t.Errorf("%s of %s is about call %v, want %s", ev.Type, ev.Account, ev.Call["call_id"], callID)
			}
			if err := x.store.Delivered(context.Background(), d.ID, "t"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if s := strings.Join(got[reception], " "); s != "call.started call.answered call.ended" {
		t.Errorf("the caller's events: %s", s)
	}
	if s := strings.Join(got[sales], " "); s != "call.answered call.ended" {
		t.Errorf("the answering account's events: %s", s)
	}
	if callID == "" {
		t.Error("no call_id in the events")
	}
}
