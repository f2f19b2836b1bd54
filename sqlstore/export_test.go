package sqlstore_test

import (
	"bytes"
	"math"
	"regexp"
	"testing"
	"time"

	"xc5"
	"xc5/media/wav"
	"xc5/resource"
	"xc5/storetest"
)

// TestExportImportRoundTrip moves a populated installation from SQLite to
// every backend and back, and checks that nothing changed on the way.
func TestExportImportRoundTrip(t *testing.T) {
	src, _ := openStore(t, storetest.Backends(t)[0])
	company := storetest.NewAccount(t, src, "rt.test", "")
	user := storetest.NewAccount(t, src, "u@rt.test", company.GUID)
	storetest.Put(t, src, "", resource.AccountResource, user.GUID, "api_access", resource.Input{"value": "user"}, resource.Upsert)
	pool := storetest.Put(t, src, "", resource.Number, resource.SystemPool, "", resource.Input{"number": "6497770001"}, resource.Create)
	storetest.Put(t, src, "", resource.Number, user.GUID, pool.GUID, resource.Input{}, resource.Upsert)
	storetest.NewNumber(t, src, user.GUID, "6497770002")
	storetest.Put(t, src, "", resource.Route, user.GUID, "", resource.Input{"order": int64(200), "destination": "email:u@rt.test"}, resource.Create)
	storetest.Put(t, src, "", resource.CallRule, company.GUID, "", resource.Input{"order": int64(-2), "prefix_raw": "600", "username": "u@rt.test"}, resource.Create)
	storetest.Put(t, src, "", resource.Fork, company.GUID, "", resource.Input{"destination": "6497770002"}, resource.Create)
	storetest.Put(t, src, "", resource.Trunk, "", "", resource.Input{"name": "carrier", "proxy": "127.0.0.1:5070", "password": "trunk-secret"}, resource.Create)
	samples := make([]int16, 800)
	for i := range samples {
		samples[i] = int16(1000 * math.Sin(float64(i)))
	}
	audio := wav.Encode(samples, 8000)
	if _, _, err := src.PutAudio(ctx, "", company.GUID, "4319C6B9-EAEF-4583-97B3-1CC13514EED4", audio, audio, 100); err != nil {
		t.Fatal(err)
	}
	vm := xc5.Voicemail{GUID: resource.NewGUID(), Account: user.GUID, From: "6499290085", To: "u@rt.test", Duration: time.Second, Audio: audio}
	if err := src.LeaveVoicemail(ctx, vm, []xc5.Mail{xc5.VoicemailMail(vm, "u@rt.test", "u@rt.test")}); err != nil {
		t.Fatal(err)
	}
	hook := storetest.Put(t, src, "", resource.Webhook, company.GUID, "", resource.Input{"url": "http://127.0.0.1:9/", "secret": "hook-secret"}, resource.Create)
	if _, _, err := src.Put(xc5.WithOrigin(ctx, xc5.Origin{Account: "admin", Method: "PUT"}), "", resource.Number, user.GUID, "", resource.Input{"number": "6497770003"}, resource.Create); err != nil {
		t.Fatal(err) // an audit entry and a queued event
	}
	src.InstallationKey(ctx)
	var first bytes.Buffer
	if err := src.Export(ctx, &first); err != nil {
		t.Fatal(err)
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dst := b.Open(t)
			defer dst.Close()
			if err := dst.Import(ctx, bytes.NewReader(first.Bytes())); err != nil {
				t.Fatalf("import: %v", err)
			}
			var again bytes.Buffer
			if err := dst.Export(ctx, &again); err != nil {
				t.Fatal(err)
			}
			if a, b := stripTime(first.String()), stripTime(again.String()); a != b {
				t.Fatalf("export after import differs:\n%.2000s\n---\n%.2000s", a, b)
			}
			// What matters works on the copy: logins, audio, the pool.
			c, err := dst.Credentials(ctx, "u@rt.test")
			if err != nil || c.Access != "user" || c.Hash == "" {
				t.Errorf("credentials after import: %+v, %v", c, err)
			}
			if got, err := dst.Audio(ctx, "", "rt.test", "4319C6B9-EAEF-4583-97B3-1CC13514EED4", false); err != nil || !bytes.Equal(got, audio) {
				t.Errorf("audio after import: %d bytes, %v", len(got), err)
			}
			if got, err := dst.GetVoicemail(ctx, user.GUID, vm.GUID, true); err != nil || !bytes.Equal(got.Audio, audio) {
				t.Errorf("voicemail after import: %+v, %v", got.GUID, err)
			}
			if ds, err := dst.ClaimDeliveries(ctx, "n", time.Minute, 10); err != nil || len(ds) != 1 || ds[0].Secret != "hook-secret" || ds[0].Webhook != hook.GUID {
				t.Errorf("webhook outbox after import: %+v, %v", ds, err)
			}
			if n := 0; dst.ListAudit(ctx, company.Path, false, 0, func(xc5.AuditEntry) error { n++; return nil }) != nil || n != 1 {
				t.Errorf("audit trail after import: %d entries", n)
			}
			if got := storetest.MailsIn(t, dst, xc5.MailQueued); len(got) != 1 || got[0].To != "u@rt.test" {
				t.Errorf("outbox after import: %+v", got)
			}
			if err := dst.Delete(ctx, "", resource.Number, "u@rt.test", pool.GUID); err != nil {
				t.Fatal(err)
			}
			if got := storetest.List(t, dst, "", resource.NumberAllocate, resource.Query{Parent: "rt.test"}); len(got) != 1 {
				t.Errorf("the pool number did not return to the pool after import: %v", got)
			}
			// New records still get fresh ids after the imported ones.
			storetest.NewAccount(t, dst, "after.test", "")
			// A second import is refused.
			if err := dst.Import(ctx, bytes.NewReader(first.Bytes())); err == nil {
				t.Errorf("import into a non-empty database succeeded")
			}
		})
	}
	if err := src.Import(ctx, bytes.NewReader([]byte(`{"format":"something-else","version":1,"tables":{}}`))); err == nil {
		t.Errorf("a foreign document was imported")
	}
}

var exportedAt = regexp.MustCompile(`"exported_at":"[^"]*"`)

func stripTime(s string) string { return exportedAt.ReplaceAllString(s, "") }
