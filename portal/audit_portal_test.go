package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"xc5/storetest"

	"xc5"
)

// TestAuditPortalWrites: the portal writes the same records as
// the API (passwords, users, numbers, hunt groups) through the same
// store, but without an xc5.Origin on the context, so none of its writes
// is in the audit trail: a company admin who deletes a user or a user
// who changes a password in the portal leaves no trace, while the same
// write through the API is recorded (issue 16: "Every API write is
// recorded: who, source address, …"; the portal is the company's UI to
// the same writes).
func TestAuditPortalWrites(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	ctx := context.Background()
	c, err := e.store.Credentials(ctx, acme)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		if err := e.store.ListAudit(ctx, c.Path, false, 0, func(xc5.AuditEntry) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	b := e.browser(acme, "/")
	tok := b.login(reception, recPW)
	if code, _, _ := b.do("POST", "me/password", url.Values{"csrf": {tok}, "current": {recPW}, "new": {"a-new-password"}}); code != http.StatusSeeOther {
		t.Fatalf("password change in the portal: %d", code)
	}
	if after := count(); after != before+1 {
		t.Errorf("a password change in the portal added %d audit entries, want 1", after-before)
	}
}
