package storetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// Hook creates a webhook on account.
func Hook(t testing.TB, s resource.Store, account, events string, enabled bool) resource.Record {
	t.Helper()
	return Put(t, s, "", resource.Webhook, account, "", resource.Input{"url": "http://127.0.0.1:9/" + account, "events": events,
		"secret": "k-" + account, "enabled": enabled}, resource.Create)
}

// claimAll claims every due delivery, one round per head of queue, and
// marks each delivered, returning them by webhook GUID in claim order.
func claimAll(t *testing.T, s Store) map[string][]xc5.Event {
	t.Helper()
	out := map[string][]xc5.Event{}
	for {
		ds, err := s.ClaimDeliveries(ctx, "n1", time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return out
		}
		for _, d := range ds {
			var ev xc5.Event
			if err := json.Unmarshal(d.Body, &ev); err != nil {
				t.Fatalf("body %s: %v", d.Body, err)
			}
			if ev.ID != d.Event {
				t.Errorf("event id %s in the body, %s in the outbox", ev.ID, d.Event)
			}
			out[d.Webhook] = append(out[d.Webhook], ev)
			if err := s.Delivered(ctx, d.ID, "n1"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// testWebhookFanOut: an event goes, in the write's transaction, to the
// enabled webhooks of its account and the account's ancestors whose
// events match; never to another company's, a disabled one's, or one
// that does not take its type.
func testWebhookFanOut(t *testing.T, b backend) {
	s := b.open(t)
	NewAccount(t, s, "a.hooks", "")
	user := NewAccount(t, s, "u@a.hooks", "a.hooks")
	NewAccount(t, s, "b.hooks", "")
	hA := Hook(t, s, "a.hooks", "*", true)
	hU := Hook(t, s, "u@a.hooks", "number.changed", true)
	hB := Hook(t, s, "b.hooks", "*", true)
	hOff := Hook(t, s, "a.hooks", "*", false)
	hCalls := Hook(t, s, "a.hooks", "call.ended,voicemail.new", true)

	num := NewNumber(t, s, "u@a.hooks", "6491110001")
	Put(t, s, "", resource.Account, "", "u@a.hooks", resource.Input{"cfna_duration": int64(25)}, resource.Patch)
	got := claimAll(t, s)
	if len(got[hB.GUID]) != 0 || len(got[hOff.GUID]) != 0 || len(got[hCalls.GUID]) != 0 {
		t.Errorf("events went to another company's, a disabled or a non-matching webhook: %+v", got)
	}
	if len(got[hU.GUID]) != 1 || got[hU.GUID][0].Type != xc5.EventNumberChanged {
		t.Fatalf("the user's number.changed webhook got %+v", got[hU.GUID])
	}
	a := got[hA.GUID]
	if len(a) != 2 || a[0].Type != xc5.EventNumberChanged || a[1].Type != xc5.EventAccountChanged {
		t.Fatalf("the company's webhook got %+v, want number.changed then account.changed", a)
	}
	if a[0].ID != got[hU.GUID][0].ID {
		t.Errorf("one event, two ids: %s and %s", a[0].ID, got[hU.GUID][0].ID)
	}
	if a[0].Account != "u@a.hooks" || a[0].Record["number"] != "6491110001" || a[0].Record["guid"] != num.GUID {
		t.Errorf("number.changed = %+v", a[0])
	}
	if a[1].Account != "u@a.hooks" || a[1].Record["cfna_duration"] != float64(25) || a[1].Record["guid"] != user.GUID {
		t.Errorf("account.changed = %+v", a[1])
	}
	if _, ok := a[1].Record["password"]; ok {
		t.Errorf("the account's password is in its event: %+v", a[1].Record)
	}
	// A deletion is told with the record as it was.
	if err := s.Delete(ctx, "", resource.Number, "u@a.hooks", num.GUID); err != nil {
		t.Fatal(err)
	}
	got = claimAll(t, s)
	if d := got[hA.GUID]; len(d) != 1 || !d[0].Deleted || d[0].Record["number"] != "6491110001" {
		t.Errorf("deleting the number told %+v", d)
	}
}

// testWebhookCallEvents: call events written with the call records keep
// their order, and call.ended carries the record.
func testWebhookCallEvents(t *testing.T, b backend) {
	s := b.open(t)
	u := NewAccount(t, s, "c.hooks", "")
	h := Hook(t, s, "c.hooks", "*", true)
	call := map[string]any{"call_id": "abc", "from": "c.hooks", "to": "123"}
	err := s.AddCDRs(ctx, []xc5.CDR{
		{Account: u.GUID, Event: xc5.EventCallStarted, GUID: resource.NewGUID(), Values: call},
		{Account: u.GUID, Event: xc5.EventCallAnswered, GUID: resource.NewGUID(), Values: call},
		{Account: u.GUID, Values: map[string]any{"direction": "out", "from": "c.hooks", "to": "123", "call_id": "abc", "outcome": "answered"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := claimAll(t, s)[h.GUID]
	var types []string
	for _, ev := range got {
		types = append(types, ev.Type)
	}
	if strings.Join(types, " ") != "call.started call.answered call.ended" {
		t.Fatalf("events %v", types)
	}
	if got[2].Call["call_id"] != "abc" || got[2].Call["outcome"] != "answered" || got[2].Call["guid"] == nil {
		t.Errorf("call.ended = %+v", got[2])
	}
	// A retried event already queued is not queued twice.
	g := resource.NewGUID()
	for _, retry := range []bool{false, true} {
		if err := s.AddCDRs(ctx, []xc5.CDR{{Account: u.GUID, Event: xc5.EventCallStarted, GUID: g, Retry: retry, Values: call}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(claimAll(t, s)[h.GUID]); n != 1 {
		t.Errorf("a retried event was queued %d times", n)
	}
}

// testWebhookOrderLeases: of one webhook's events about one account only
// the oldest pending one can be claimed, by one node at a time; a failed
// try holds the ones after it until it is delivered. The webhook shows
// its queue, last error and last success.
func testWebhookOrderLeases(t *testing.T, b backend) {
	s := b.open(t)
	NewAccount(t, s, "o.hooks", "")
	NewAccount(t, s, "p@o.hooks", "o.hooks")
	h := Hook(t, s, "o.hooks", "number.changed", true)
	for _, n := range []string{"6492220001", "6492220002", "6492220003"} {
		NewNumber(t, s, "o.hooks", n)
	}
	NewNumber(t, s, "p@o.hooks", "6492220009") // another account: a queue of its own
	ds, err := s.ClaimDeliveries(ctx, "n1", time.Minute, 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("claim = %d deliveries, %v; want the heads of two queues", len(ds), err)
	}
	first := ds[0]
	if !strings.Contains(string(first.Body), "6492220001") || first.Secret != "k-o.hooks" || first.URL != "http://127.0.0.1:9/o.hooks" {
		t.Fatalf("first delivery %+v", first)
	}
	if more, _ := s.ClaimDeliveries(ctx, "n2", time.Minute, 10); len(more) != 0 {
		t.Fatalf("another node claimed %d held or blocked deliveries", len(more))
	}
	if err := s.Delivered(ctx, ds[1].ID, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeliveryFailed(ctx, first.ID, "n1", "the receiver answered 503", time.Now(), false); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Get(ctx, "", resource.Webhook, "o.hooks", h.GUID)
	if err != nil || rec.Values["queued"] != int64(3) || rec.Values["last_error"] != "the receiver answered 503" || rec.Values["last_success"] == "" {
		t.Fatalf("webhook state %v, %v", rec.Values, err)
	}
	// The failed one comes again first, with its attempt counted.
	again, err := s.ClaimDeliveries(ctx, "n2", time.Minute, 10)
	if err != nil || len(again) != 1 || again[0].ID != first.ID || again[0].Attempts != 1 {
		t.Fatalf("after a failure, claim = %+v, %v", again, err)
	}
	if err := s.DeliveryFailed(ctx, first.ID, "n1", "not mine", time.Now(), false); xc5.ErrorCode(err) != xc5.ECONFLICT {
		t.Errorf("a node not holding a delivery recorded its failure: %v", err)
	}
	if err := s.Delivered(ctx, first.ID, "n2"); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, ev := range claimAll(t, s)[h.GUID] {
		order = append(order, ev.Record["number"].(string))
	}
	if strings.Join(order, ",") != "6492220002,6492220003" {
		t.Errorf("the rest came as %v", order)
	}
	rec, _ = s.Get(ctx, "", resource.Webhook, "o.hooks", h.GUID)
	if rec.Values["queued"] != int64(0) || rec.Values["last_error"] != "" || rec.Values["last_success"] == "" {
		t.Errorf("webhook state after delivery %v", rec.Values)
	}
	if _, ok := rec.Values["secret"]; ok {
		t.Errorf("the secret is read back: %v", rec.Values)
	}
}

// testWebhookOutboxSurvivesRestart: queued events are in the database,
// not in memory: a reopened store delivers them.
func testWebhookOutboxSurvivesRestart(t *testing.T, b backend) {
	s := b.open(t)
	NewAccount(t, s, "r.hooks", "")
	h := Hook(t, s, "r.hooks", "*", true)
	NewNumber(t, s, "r.hooks", "6493330001")
	if ds, err := s.ClaimDeliveries(ctx, "n1", time.Millisecond, 10); err != nil || len(ds) != 1 {
		t.Fatalf("claim %v %v", ds, err) // claimed, and the node dies with it
	}
	s.Close()
	time.Sleep(5 * time.Millisecond) // the lease ends
	s2 := b.again(t, s)
	got := claimAll(t, s2)[h.GUID]
	if len(got) != 1 || got[0].Record["number"] != "6493330001" {
		t.Fatalf("after a restart: %+v", got)
	}
}

// testWebhookValidation: url and events are checked, secret is
// write-only.
func testWebhookValidation(t *testing.T, b backend) {
	s := b.open(t)
	NewAccount(t, s, "v.hooks", "")
	for _, in := range []resource.Input{
		{"url": "ftp://example.com/x"},
		{"url": "/relative"},
		{"url": "http://example.com/x", "events": "call.ended,bogus"},
		{"url": "http://example.com/x", "events": " , "},
	} {
		dec, err := resource.Decode(resource.Webhook, mustJSON(t, in))
		if err == nil {
			_, _, err = s.Put(ctx, "", resource.Webhook, "v.hooks", "", dec, resource.Create)
		}
		if xc5.ErrorCode(err) != xc5.EINVALID {
			t.Errorf("%v: %v, want invalid", in, err)
		}
	}
	dec, err := resource.Decode(resource.Webhook, []byte(`{"url":"https://example.com/x","events":"Call.Ended, *"}`))
	if err != nil || dec["events"] != "*" {
		t.Errorf("events with * = %v, %v; want *", dec, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testWebhookVoicemailNew: a message left in a mailbox is told as
// voicemail.new, in the transaction that keeps it; one whose account is
// gone is told to no one.
func testWebhookVoicemailNew(t *testing.T, b backend) {
	s := b.open(t)
	NewAccount(t, s, "vm.hooks", "")
	box := Put(t, s, "", resource.Account, "", "", resource.Input{"username": "box@vm.hooks", "parent": "vm.hooks", "ums_pin": "1234"}, resource.Create)
	h := Hook(t, s, "vm.hooks", "voicemail.new", true)
	v := xc5.Voicemail{Account: box.GUID, From: "6421555000", To: "6499290081", Duration: 7 * time.Second, Audio: []byte("RIFF")}
	if err := s.LeaveVoicemail(ctx, v, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.LeaveVoicemail(ctx, xc5.Voicemail{Account: resource.NewGUID(), Audio: []byte("RIFF")}, nil); err != nil {
		t.Fatal(err)
	}
	got := claimAll(t, s)[h.GUID]
	if len(got) != 1 || got[0].Type != xc5.EventVoicemailNew || got[0].Account != "box@vm.hooks" ||
		got[0].Record["from"] != "6421555000" || got[0].Record["duration"] != float64(7) || got[0].Record["status"] != "new" {
		t.Fatalf("events %+v", got)
	}
}

// testWebhookRegistrationChanged: a new binding, its removal and its
// expiry are told as registration.changed; a refresh is not.
func testWebhookRegistrationChanged(t *testing.T, b backend) {
	s := b.open(t)
	u := NewAccount(t, s, "reg.hooks", "")
	h := Hook(t, s, "reg.hooks", "registration.changed", true)
	now := time.Now()
	for _, c := range []string{"sip:a@192.0.2.1", "sip:a@192.0.2.1", "sip:b@192.0.2.2"} { // the second: a refresh
		if _, err := s.PutRegistration(ctx, u.GUID, c, now.Add(time.Hour), "phone/1", "192.0.2.1:5060", xc5.ContactCap{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteRegistration(ctx, u.GUID, "sip:a@192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ExpireRegistrations(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	var seen []string
	for _, ev := range claimAll(t, s)[h.GUID] {
		seen = append(seen, ev.Record["state"].(string)+" "+ev.Record["contact"].(string))
	}
	want := "registered sip:a@192.0.2.1,registered sip:b@192.0.2.2,unregistered sip:a@192.0.2.1,expired sip:b@192.0.2.2"
	if strings.Join(seen, ",") != want {
		t.Errorf("events %v, want %s", seen, want)
	}
}
