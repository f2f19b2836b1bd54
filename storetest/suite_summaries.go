package storetest

import (
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// testAccountSummaries: live registrations and CDR counts of a page of
// accounts at once: an expired registration and a call before since do
// not count, an account without either is absent, and accounts past one
// query's chunk are answered too.
func testAccountSummaries(t *testing.T, b backend) {
	s := b.open(t)
	var guids []string
	for i := range 3 {
		rec, _, err := s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": []string{"a.test", "b.test", "c.test"}[i]}, resource.Create)
		if err != nil {
			t.Fatal(err)
		}
		guids = append(guids, rec.GUID)
	}
	now := time.Now()
	if _, err := s.PutRegistration(ctx, guids[0], "sip:a@127.0.0.1:5070", now.Add(time.Hour), "", "", xc5.ContactCap{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRegistration(ctx, guids[1], "sip:b@127.0.0.1:5070", now.Add(time.Hour), "", "", xc5.ContactCap{}); err != nil {
		t.Fatal(err)
	}
	since := now.Add(-time.Hour)
	for i, at := range []time.Time{now, now.Add(-time.Minute), now.Add(-2 * time.Hour)} {
		if err := s.AddCDRs(ctx, []xc5.CDR{{Account: guids[1], Values: map[string]any{"started": at.UTC().Format(time.RFC3339), "outcome": "answered", "to": "x" + string(rune('0'+i))}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Many accounts, most unknown: the chunks of one query.
	page := append([]string{}, guids...)
	for range 1200 {
		page = append(page, resource.NewGUID())
	}
	reg, err := s.LiveRegistrations(ctx, page, now.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(reg) != 2 || !reg[guids[0]] || !reg[guids[1]] {
		t.Errorf("registered %v", reg)
	}
	if reg, _ := s.LiveRegistrations(ctx, page, now.Add(2*time.Hour)); len(reg) != 0 {
		t.Errorf("expired registrations count: %v", reg)
	}
	calls, err := s.CDRCounts(ctx, page, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[guids[1]] != 2 {
		t.Errorf("calls since an hour ago: %v, want 2 of b's", calls)
	}
}
