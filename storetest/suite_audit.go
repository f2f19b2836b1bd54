package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// auditOf lists the audit trail of path.
func auditOf(t *testing.T, s Store, path string, system bool) []xc5.AuditEntry {
	t.Helper()
	var out []xc5.AuditEntry
	if err := s.ListAudit(ctx, path, system, 0, func(e xc5.AuditEntry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func fieldsOf(t *testing.T, js string) map[string]any {
	t.Helper()
	if js == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("%q: %v", js, err)
	}
	return m
}

// testAuditTrail: API writes (an origin in the context) are recorded in
// their transaction with who, from where, and the fields before and
// after, write-only ones masked; a listing is partitioned by subtree,
// system-wide writes only with system; writes without an origin are not
// recorded; old entries are purged.
func testAuditTrail(t *testing.T, b backend) {
	s := b.open(t)
	co := NewAccount(t, s, "a.audit", "")
	other := NewAccount(t, s, "b.audit", "")
	api := func(method string) xc5.Origin {
		return xc5.Origin{Account: "admin", Source: "192.0.2.7", Method: method, Path: "/api-sys/account/x"}
	}
	if _, _, err := s.Put(xc5.WithOrigin(ctx, api("PUT")), "", resource.Account, "", "", resource.Input{"username": "u@a.audit", "parent": "a.audit", "password": "Secret-1"}, resource.Create); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(xc5.WithOrigin(ctx, api("PATCH")), "", resource.Account, "", "u@a.audit", resource.Input{"cfna_duration": int64(30), "password": "Secret-2"}, resource.Patch); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(xc5.WithOrigin(ctx, api("DELETE")), "", resource.Account, "", "u@a.audit"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(xc5.WithOrigin(ctx, api("PUT")), "", resource.Webhook, "b.audit", "", resource.Input{"url": "http://x.example/", "secret": "hush"}, resource.Create); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(xc5.WithOrigin(ctx, api("PUT")), "", resource.Location, "", "", resource.Input{"name": "AuditLoc", "prefixes": "99"}, resource.Create); err != nil {
		t.Fatal(err)
	}
	NewNumber(t, s, "a.audit", "6494440001") // no origin: not an API write

	got := auditOf(t, s, co.Path, false)
	if len(got) != 3 {
		t.Fatalf("company a sees %d entries, want 3: %+v", len(got), got)
	}
	del, patch, create := got[0], got[1], got[2] // newest first
	if create.Origin.Method != "PUT" || create.Origin.Source != "192.0.2.7" || create.Origin.Account != "admin" || create.Resource != "account" ||
		create.Before != "" || fieldsOf(t, create.After)["username"] != "u@a.audit" || fieldsOf(t, create.After)["password"] != "********" {
		t.Errorf("creation entry %+v", create)
	}
	before, after := fieldsOf(t, patch.Before), fieldsOf(t, patch.After)
	if before["cfna_duration"] != float64(20) || after["cfna_duration"] != float64(30) || after["password"] != "********" || before["password"] != nil {
		t.Errorf("update entry before %v after %v", before, after)
	}
	if del.Origin.Method != "DELETE" || del.After != "" || fieldsOf(t, del.Before)["username"] != "u@a.audit" || del.Record != create.Record {
		t.Errorf("deletion entry %+v", del)
	}
	for _, e := range got {
		if time.Since(e.At) > time.Minute || e.At.After(time.Now()) {
			t.Errorf("entry at %v", e.At)
		}
	}
	bs := auditOf(t, s, other.Path, false)
	if len(bs) != 1 || bs[0].Resource != "webhook" || fieldsOf(t, bs[0].After)["secret"] != "********" {
		t.Errorf("company b sees %+v", bs)
	}
	sys := auditOf(t, s, other.Path, true)
	if len(sys) != 2 || sys[0].Resource != "location" {
		t.Errorf("with system writes, b's listing is %+v", sys)
	}
	n, err := s.PurgeAudit(ctx, time.Now().Add(time.Second), 2)
	if err != nil || n != 5 {
		t.Errorf("purge = %d, %v; want 5", n, err)
	}
	if left := auditOf(t, s, "/", true); len(left) != 0 {
		t.Errorf("left after the purge: %+v", left)
	}
}

// testAuditMailboxAndAudio: marking and deleting a mailbox message and
// uploading a prompt's audio through the API are in the trail too.
func testAuditMailboxAndAudio(t *testing.T, b backend) {
	s := b.open(t)
	co := NewAccount(t, s, "m.audit", "")
	box := Put(t, s, "", resource.Account, "", "", resource.Input{"username": "box@m.audit", "parent": "m.audit", "ums_pin": "1234"}, resource.Create)
	v := xc5.Voicemail{GUID: resource.NewGUID(), Account: box.GUID, From: "6421555000", Audio: []byte("RIFF")}
	if err := s.LeaveVoicemail(ctx, v, nil); err != nil {
		t.Fatal(err)
	}
	o := func(m string) xc5.Origin {
		return xc5.Origin{Account: "admin", Source: "192.0.2.9", Method: m, Path: "/x"}
	}
	if err := s.SetVoicemailStatus(xc5.WithOrigin(ctx, o("PATCH")), box.GUID, v.GUID, xc5.VoicemailSaved); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVoicemail(xc5.WithOrigin(ctx, o("DELETE")), box.GUID, v.GUID); err != nil {
		t.Fatal(err)
	}
	pg := resource.NewGUID()
	if _, _, err := s.PutAudio(xc5.WithOrigin(ctx, o("PUT")), "", "m.audit", pg, []byte("orig"), []byte("pcm"), 1500); err != nil {
		t.Fatal(err)
	}
	got := auditOf(t, s, co.Path, false)
	if len(got) != 3 {
		t.Fatalf("entries %+v", got)
	}
	up, del, patch := got[0], got[1], got[2]
	if patch.Resource != "voicemail" || fieldsOf(t, patch.Before)["status"] != "new" || fieldsOf(t, patch.After)["status"] != "saved" {
		t.Errorf("PATCH entry %+v", patch)
	}
	if del.Origin.Method != "DELETE" || del.After != "" || fieldsOf(t, del.Before)["from"] != "6421555000" {
		t.Errorf("DELETE entry %+v", del)
	}
	if up.Resource != "prompt" || up.Record != pg || fieldsOf(t, up.After)["prompt_length"] != float64(1500) {
		t.Errorf("upload entry %+v", up)
	}
}
