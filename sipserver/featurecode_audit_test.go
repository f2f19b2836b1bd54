package sipserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// TestFeatureCodeAudited: a forward set by phone (*72) changes a
// number's cfa exactly as a PATCH does, and like it is in the audit
// trail, so the company can tell who forwarded its DDI abroad and when
// (the toll-fraud question an audit trail exists to answer).
func TestFeatureCodeAudited(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	if res := rec.dial("*72021555000").result(5 * time.Second); res.StatusCode != 480 {
		t.Fatalf("*72: %d %s", res.StatusCode, res.Reason)
	}
	acct, err := x.store.Get(context.Background(), "", resource.Account, "", reception)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	err = x.store.ListAudit(context.Background(), acct.Path, true, 100, func(e xc5.AuditEntry) error {
		if strings.Contains(e.After, "6421555000") {
			found = append(found, e.Origin.Account+" "+e.Origin.Method+" "+e.Origin.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Errorf("the cfa set by *72 is in no audit entry of %s", reception)
	}
	// Control: the same change as an API PATCH is in the trail.
	num := x.view.Account(reception).Numbers[0].GUID
	in, _ := resource.Decode(resource.Number, []byte(`{"cfa":"6421555999"}`))
	ctx := xc5.WithOrigin(context.Background(), xc5.Origin{Account: reception, Source: "127.0.0.1", Method: "PATCH", Path: "/api-sys/number/" + num})
	if _, _, err := x.store.Put(ctx, "", resource.Number, x.ids[reception], num, in, resource.Patch); err != nil {
		t.Fatal(err)
	}
	api := 0
	x.store.ListAudit(context.Background(), acct.Path, true, 100, func(e xc5.AuditEntry) error {
		if strings.Contains(e.After, "6421555999") {
			api++
		}
		return nil
	})
	if api != 1 {
		t.Fatalf("control: the API's PATCH made %d audit entries", api)
	}
	x.idle()
}

// TestFeatureCodeBlankForward: *52 followed by a blank (%20) is bare
// *52, refused without a cfna_dest: it never turns cfna_active on with
// no destination.
func TestFeatureCodeBlankForward(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	res := rec.dial("*52%20").result(5 * time.Second)
	if active := x.field(resource.Account, "", reception, "cfna_active"); active == true {
		t.Errorf("*52%%20: %d %s; cfna_active %v with cfna_dest %q", res.StatusCode, res.Reason, active, x.field(resource.Account, "", reception, "cfna_dest"))
	}
	x.idle()
}
