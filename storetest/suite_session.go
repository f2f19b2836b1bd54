package storetest

import (
	"fmt"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// testSessionsEndWithCredentials: the write that changes an account's
// password or username, or disables it, ends its sessions; other writes
// and other accounts' sessions are left alone.
func testSessionsEndWithCredentials(t *testing.T, b backend) {
	s := b.open(t)
	admin, err := s.Credentials(ctx, resource.AdminUsername)
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(time.Hour)
	if err := s.CreateSession(ctx, "admin-jti", admin.GUID, expires); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   resource.Input
		ends bool
	}{
		{"another field", resource.Input{"pickup_group": "Alpha"}, false},
		{"password", resource.Input{"password": "Pw-new-2"}, true},
		{"username", resource.Input{"username": "renamed.test", "password": "Pw-new-3"}, true},
		{"disabled", resource.Input{"enabled": false}, true},
	}
	for i, tt := range tests {
		rec := NewAccount(t, s, fmt.Sprintf("s%d.test", i), "")
		jti := fmt.Sprint("jti-", i)
		if err := s.CreateSession(ctx, jti, rec.GUID, expires); err != nil {
			t.Fatal(err)
		}
		Put(t, s, "", resource.Account, "", rec.GUID, tt.in, resource.Patch)
		if active, err := s.SessionActive(ctx, jti); err != nil || active == tt.ends {
			t.Errorf("%s: session active %v, %v after the write; want %v", tt.name, active, err, !tt.ends)
		}
	}
	if active, err := s.SessionActive(ctx, "admin-jti"); err != nil || !active {
		t.Errorf("another account's session: active %v, %v", active, err)
	}
}

// testCredentialsUnavailable: a missing account is ENOTFOUND, but a store
// that cannot be read (closed) is EUNAVAILABLE, so that logins answer 503
// and not "wrong password".
func testCredentialsUnavailable(t *testing.T, b backend) {
	s := b.open(t)
	_, err := s.Credentials(ctx, "nobody.test")
	WantCode(t, err, xc5.ENOTFOUND, "Credentials of a missing account")
	_, err = s.SIPCredentials(ctx, "nobody.test")
	WantCode(t, err, xc5.ENOTFOUND, "SIPCredentials of a missing account")
	s.Close()
	WantUnavailable(t, s)
}

// WantUnavailable checks every login read of s for EUNAVAILABLE.
func WantUnavailable(t testing.TB, s Store) {
	t.Helper()
	_, err := s.Credentials(ctx, resource.AdminUsername)
	WantCode(t, err, xc5.EUNAVAILABLE, "Credentials")
	_, err = s.SIPCredentials(ctx, resource.AdminUsername)
	WantCode(t, err, xc5.EUNAVAILABLE, "SIPCredentials")
	_, err = s.SessionActive(ctx, "jti")
	WantCode(t, err, xc5.EUNAVAILABLE, "SessionActive")
}
