package storetest

import (
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// testBadTextLookups: a name with a NUL byte or invalid UTF-8 (which
// PostgreSQL's text refuses as an error) is not found by the lookups and
// is an invalid filter, on both backends alike; a value that still
// reaches PostgreSQL is a client error (EINVALID), never EINTERNAL.
func testBadTextLookups(t *testing.T, b backend) {
	s := b.open(t)
	admin, err := s.Credentials(ctx, resource.AdminUsername)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"a\x00b", "a\xffb", resource.AdminUsername + "\x00"} {
		if _, err := s.Get(ctx, "", resource.Account, "", bad); xc5.ErrorCode(err) != xc5.ENOTFOUND {
			t.Errorf("Get account %q: %v, want ENOTFOUND", bad, err)
		}
		if _, err := s.Get(ctx, "", resource.Number, admin.GUID, bad); xc5.ErrorCode(err) != xc5.ENOTFOUND {
			t.Errorf("Get number %q: %v, want ENOTFOUND", bad, err)
		}
		if _, err := s.Get(ctx, "", resource.Number, bad, resource.NewGUID()); xc5.ErrorCode(err) != xc5.ENOTFOUND {
			t.Errorf("Get number of account %q: %v, want ENOTFOUND", bad, err)
		}
		if err := s.Delete(ctx, "", resource.Account, "", bad); xc5.ErrorCode(err) != xc5.ENOTFOUND {
			t.Errorf("Delete account %q: %v, want ENOTFOUND", bad, err)
		}
		if _, err := s.Credentials(ctx, bad); xc5.ErrorCode(err) != xc5.ENOTFOUND {
			t.Errorf("Credentials %q: %v, want ENOTFOUND", bad, err)
		}
		if _, err := s.SIPCredentials(ctx, bad); xc5.ErrorCode(err) != xc5.ENOTFOUND {
			t.Errorf("SIPCredentials %q: %v, want ENOTFOUND", bad, err)
		}
		if ok, err := s.SessionActive(ctx, bad); ok || err != nil {
			t.Errorf("SessionActive %q: %v %v, want false", bad, ok, err)
		}
		if _, err := s.GetVoicemail(ctx, bad, resource.NewGUID(), false); xc5.ErrorCode(err) != xc5.ENOTFOUND {
			t.Errorf("GetVoicemail of %q: %v, want ENOTFOUND", bad, err)
		}
		for _, q := range []resource.Query{{Filter: bad}, {Parent: admin.GUID, Since: bad}} {
			r := resource.Account
			if q.Parent != "" {
				r = resource.CDR
			}
			if err := s.List(ctx, "", r, q, func(resource.Record) error { return nil }); xc5.ErrorCode(err) != xc5.EINVALID {
				t.Errorf("List %s %+v: %v, want EINVALID", r.Name, q, err)
			}
		}
	}
	// A session id is never checked for its text (it is ours): a store
	// may keep it or refuse it, but a refusal is the client's error.
	// (PostgreSQL's refusal is sqlstore's TestSessionNULOnPostgres.)
	err = s.CreateSession(ctx, "jti\x00", admin.GUID, time.Now().Add(time.Hour))
	if err != nil && xc5.ErrorCode(err) != xc5.EINVALID {
		t.Errorf("CreateSession with a NUL: %v, want success or EINVALID", err)
	}
}
