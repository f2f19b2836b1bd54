package storetest

import (
	"testing"

	"xc5"
	"xc5/resource"
)

// testTrunks: the SIP service reads trunks with their passwords (which the
// API never returns), lowest priority first.
func testTrunks(t *testing.T, b backend) {
	s := b.open(t)
	if got, err := s.Trunks(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Trunks on an empty store = %v, %v", got, err)
	}
	in := func(body string) resource.Input {
		t.Helper()
		v, err := resource.Decode(resource.Trunk, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, _, err := s.Put(ctx, "", resource.Trunk, "", "", in(`{"name":"backup","address":"192.0.2.0/24","proxy":"192.0.2.1:5060","priority":5}`), resource.Create); err != nil {
		t.Fatal(err)
	}
	rec, _, err := s.Put(ctx, "", resource.Trunk, "", "", in(`{"name":"main","address":"198.51.100.7, 198.51.100.8","port":5070,"inbound_auth":true,"proxy":"198.51.100.7:5080","transport":"tcp","username":"acct","password":"s3cret","priority":1}`), resource.Create)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.Values["password"]; ok {
		t.Errorf("the API record shows the password: %v", rec.Values)
	}
	if _, _, err := s.Put(ctx, "", resource.Trunk, "", "", in(`{"name":"off","enabled":false,"priority":0}`), resource.Create); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trunks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "off" || got[1].Name != "main" || got[2].Name != "backup" {
		t.Fatalf("Trunks order = %+v", got)
	}
	m := got[1]
	want := xc5.Trunk{GUID: rec.GUID, Name: "main", Address: "198.51.100.7,198.51.100.8", Port: 5070, InboundAuth: true, Proxy: "198.51.100.7:5080",
		Transport: "tcp", Username: "acct", Password: "s3cret", Enabled: true, Priority: 1}
	if m != want {
		t.Fatalf("trunk = %+v, want %+v", m, want)
	}
	if got[0].Enabled || got[2].Transport != "udp" || got[2].Port != 5060 || got[2].InboundAuth {
		t.Fatalf("defaults: %+v", got)
	}
	// Challenging the carrier needs credentials to check its answer.
	for _, body := range []string{`{"name":"noauth","inbound_auth":true}`, `{"name":"nopw","inbound_auth":true,"username":"u"}`} {
		if _, _, err := s.Put(ctx, "", resource.Trunk, "", "", in(body), resource.Create); xc5.ErrorCode(err) != xc5.EINVALID {
			t.Errorf("%s: %v, want invalid", body, err)
		}
	}
	if _, _, err := s.Put(ctx, "", resource.Trunk, "", "backup", in(`{"inbound_auth":true}`), resource.Patch); xc5.ErrorCode(err) != xc5.EINVALID {
		t.Errorf("inbound_auth on a trunk without a username: %v, want invalid", err)
	}
}
