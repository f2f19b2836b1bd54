package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/secret"
)

func testSIPCredentials(t *testing.T, b backend) {
	s, guid := newRegStore(t, b)
	ctx := context.Background()
	c, err := s.SIPCredentials(ctx, "Reception@AcmeBrick.x.co.nz")
	if err != nil {
		t.Fatalf("SIPCredentials: %v", err)
	}
	want := secret.DigestHA1("reception@acmebrick.x.co.nz", "acmebrick.x.co.nz", "pw")
	if c.GUID != guid || c.Username != "reception@acmebrick.x.co.nz" || c.Realm != "acmebrick.x.co.nz" ||
		c.HA1MD5 != want.MD5 || c.HA1SHA256 != want.SHA256 || !c.Enabled {
		t.Fatalf("SIPCredentials = %+v", c)
	}
	if _, err := s.SIPCredentials(ctx, "nobody@acmebrick.x.co.nz"); xc5.ErrorCode(err) != xc5.ENOTFOUND {
		t.Fatalf("unknown user: err = %v, want not_found", err)
	}
	if _, _, err := s.Put(ctx, "", resource.Account, "", guid, resource.Input{"enabled": false}, resource.Patch); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if c, _ = s.SIPCredentials(ctx, "reception@acmebrick.x.co.nz"); c.Enabled {
		t.Fatalf("disabled account reported enabled")
	}
	// A company account is its own realm.
	if _, _, err := s.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "acmebrick.x.co.nz", "password": "pw2"}, resource.Create); err != nil {
		t.Fatalf("create company: %v", err)
	}
	c, err = s.SIPCredentials(ctx, "acmebrick.x.co.nz")
	if err != nil || c.Realm != "acmebrick.x.co.nz" || c.HA1MD5 != secret.DigestHA1("acmebrick.x.co.nz", "acmebrick.x.co.nz", "pw2").MD5 {
		t.Fatalf("company SIPCredentials = %+v, %v", c, err)
	}
}

// testLocalHA1: the HA1 of the local part alone is stored with the
// password, for phones that send only "reception" as digest username.
func testLocalHA1(t *testing.T, b backend) {
	s, guid := newRegStore(t, b)
	ctx := context.Background()
	if c, _ := s.SIPCredentials(ctx, "reception@acmebrick.x.co.nz"); c.LocalHA1MD5 != secret.DigestHA1("reception", "acmebrick.x.co.nz", "pw").MD5 {
		t.Fatalf("account creation did not fill the local HA1: %+v", c)
	}
	if _, _, err := s.Put(ctx, "", resource.Account, "", guid, resource.Input{"password": "pw2"}, resource.Patch); err != nil {
		t.Fatal(err)
	}
	c, _ := s.SIPCredentials(ctx, "reception@acmebrick.x.co.nz")
	local := secret.DigestHA1("reception", "acmebrick.x.co.nz", "pw2")
	full := secret.DigestHA1("reception@acmebrick.x.co.nz", "acmebrick.x.co.nz", "pw2")
	if c.LocalHA1MD5 != local.MD5 || c.LocalHA1SHA256 != local.SHA256 || c.HA1MD5 != full.MD5 || c.HA1SHA256 != full.SHA256 {
		t.Fatalf("after a password change: %+v", c)
	}
	if c, _ := s.SIPCredentials(ctx, "acmebrick.x.co.nz"); c.LocalHA1MD5 != "" {
		t.Fatalf("a company account has no local part: %+v", c)
	}
}

func testRegistrations(t *testing.T, be backend) {
	s, guid := newRegStore(t, be)
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	a, b := "sip:reception@192.0.2.10:5060", "sip:reception@192.0.2.11:5062;transport=tcp"
	if _, err := s.PutRegistration(ctx, guid, a, now.Add(time.Hour), "Phone/1", "udp:192.0.2.10:5060", xc5.ContactCap{}); err != nil {
		t.Fatalf("PutRegistration: %v", err)
	}
	if _, err := s.PutRegistration(ctx, guid, b, now.Add(2*time.Minute), "Phone/2", "tcp:192.0.2.11:40000", xc5.ContactCap{}); err != nil {
		t.Fatalf("PutRegistration: %v", err)
	}
	got, err := s.ContactsOf(ctx, guid, now)
	if err != nil || len(got) != 2 {
		t.Fatalf("ContactsOf = %+v, %v", got, err)
	}
	if got[0].Contact != a || !got[0].Expires.Equal(now.Add(time.Hour)) || got[0].UserAgent != "Phone/1" ||
		got[0].Source != "udp:192.0.2.10:5060" || got[0].RegisteredAt.IsZero() || got[1].Contact != b {
		t.Fatalf("ContactsOf = %+v", got)
	}
	firstGUID := got[0].GUID

	// A refresh keeps the GUID and updates the rest.
	// The put answers the live bindings after it, as ContactsOf reads them.
	put, err := s.PutRegistration(ctx, guid, a, now.Add(3*time.Hour), "Phone/1.1", "udp:192.0.2.10:5999", xc5.ContactCap{Now: now})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	got, _ = s.ContactsOf(ctx, guid, now)
	if len(got) != 2 || got[0].GUID != firstGUID || !got[0].Expires.Equal(now.Add(3*time.Hour)) ||
		got[0].UserAgent != "Phone/1.1" || got[0].Source != "udp:192.0.2.10:5999" {
		t.Fatalf("after refresh: %+v", got)
	}
	if !reflect.DeepEqual(put, got) {
		t.Fatalf("refresh answered %+v, ContactsOf %+v", put, got)
	}
	c := "sip:reception@192.0.2.12"
	put, err = s.PutRegistration(ctx, guid, c, now.Add(time.Hour), "Phone/3", "udp:192.0.2.12:5060", xc5.ContactCap{Max: 10, Now: now.Add(3 * time.Minute)})
	got, _ = s.ContactsOf(ctx, guid, now.Add(3*time.Minute)) // b has expired by then
	if err != nil || len(got) != 2 || got[1].Contact != c || !reflect.DeepEqual(put, got) {
		t.Fatalf("new binding answered %+v, %v; ContactsOf %+v", put, err, got)
	}
	if err := s.DeleteRegistration(ctx, guid, c); err != nil {
		t.Fatal(err)
	}

	// The API serves the same rows.
	var recs []resource.Record
	if err := s.List(ctx, "", resource.Registration, resource.Query{Parent: guid}, func(r resource.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil || len(recs) != 2 {
		t.Fatalf("List reg = %v, %v", recs, err)
	}
	if recs[0].GUID != firstGUID || recs[0].Values["contact"] != a || recs[0].Values["expires"] != "2030-01-02T06:04:05Z" {
		t.Fatalf("List reg[0] = %+v", recs[0].Values)
	}

	// Expired bindings are not contacts, and the sweep deletes them.
	got, _ = s.ContactsOf(ctx, guid, now.Add(2*time.Minute))
	if len(got) != 1 || got[0].Contact != a {
		t.Fatalf("ContactsOf after b expired = %+v", got)
	}
	n, err := s.ExpireRegistrations(ctx, now.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("ExpireRegistrations = %d, %v", n, err)
	}
	if n, _ := s.ExpireRegistrations(ctx, now.Add(2*time.Minute)); n != 0 {
		t.Fatalf("second sweep removed %d", n)
	}

	if err := s.DeleteRegistration(ctx, guid, b); xc5.ErrorCode(err) != xc5.ENOTFOUND {
		t.Fatalf("delete of a gone binding: %v", err)
	}
	if err := s.DeleteRegistration(ctx, guid, a); err != nil {
		t.Fatalf("DeleteRegistration: %v", err)
	}
	if got, _ := s.ContactsOf(ctx, guid, now); len(got) != 0 {
		t.Fatalf("after delete: %+v", got)
	}

	for _, c := range []string{a, b} {
		if _, err := s.PutRegistration(ctx, guid, c, now.Add(time.Hour), "", "", xc5.ContactCap{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAllRegistrations(ctx, guid); err != nil {
		t.Fatalf("DeleteAllRegistrations: %v", err)
	}
	if got, _ := s.ContactsOf(ctx, guid, now); len(got) != 0 {
		t.Fatalf("after delete all: %+v", got)
	}

	if _, err := s.PutRegistration(ctx, resource.NewGUID(), a, now, "", "", xc5.ContactCap{}); xc5.ErrorCode(err) != xc5.ENOTFOUND {
		t.Fatalf("PutRegistration for a missing account: %v", err)
	}
}

// testRegistrationsCascade checks that deleting an account deletes its
// bindings.
func testRegistrationsCascade(t *testing.T, b backend) {
	s, guid := newRegStore(t, b)
	ctx := context.Background()
	if _, err := s.PutRegistration(ctx, guid, "sip:r@192.0.2.1", time.Now().Add(time.Hour), "", "", xc5.ContactCap{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "", resource.Account, "", guid); err != nil {
		t.Fatalf("delete account: %v", err)
	}
	if got, err := s.ContactsOf(ctx, guid, time.Now()); err != nil || len(got) != 0 {
		t.Fatalf("registrations left: %v, %v", got, err)
	}
	if n, err := s.ExpireRegistrations(ctx, time.Now().Add(48*time.Hour)); err != nil || n != 0 {
		t.Fatalf("rows left for the sweep: %d, %v", n, err)
	}
}

// testPutRegistrationBatch: concurrent registrations share writes; one for
// an account that does not exist fails alone.
func testPutRegistrationBatch(t *testing.T, b backend) {
	s, guid := newRegStore(t, b)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	const n = 200
	errs := make(chan error, n+1)
	for i := 0; i < n; i++ {
		go func() {
			_, err := s.PutRegistration(ctx, guid, fmt.Sprintf("sip:%d@192.0.2.1", i%8), exp, "ua", "udp:192.0.2.1:5060", xc5.ContactCap{})
			errs <- err
		}()
	}
	go func() {
		_, err := s.PutRegistration(ctx, "00000000-0000-0000-0000-000000000000", "sip:x@192.0.2.1", exp, "ua", "udp:192.0.2.1:5060", xc5.ContactCap{})
		errs <- err
	}()
	notFound := 0
	for i := 0; i <= n; i++ {
		switch err := <-errs; {
		case xc5.ErrorCode(err) == xc5.ENOTFOUND:
			notFound++
		case err != nil:
			t.Errorf("PutRegistration: %v", err)
		}
	}
	if notFound != 1 {
		t.Errorf("%d registrations for the missing account failed, want 1", notFound)
	}
	if bs, err := s.ContactsOf(ctx, guid, time.Now()); err != nil || len(bs) != 8 {
		t.Fatalf("ContactsOf = %d bindings, %v; want 8", len(bs), err)
	}
}

// testContactCap: 20 simultaneous new contacts for one account with a cap
// of 10 store exactly 10 and refuse 10 with ErrTooManyContacts, also when
// they go through two stores (two nodes) at once. At the cap a
// refresh still passes, and expired bindings do not count.
func testContactCap(t *testing.T, b backend) {
	s, guid := newRegStore(t, b)
	stores := []Store{s, b.again(t, s)}
	ctx := context.Background()
	now := time.Now()
	limit := xc5.ContactCap{Max: 10, Now: now}
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = stores[i%len(stores)].PutRegistration(ctx, guid, fmt.Sprintf("sip:p%d@192.0.2.%d", i, i+1),
				now.Add(time.Hour), "ua", "udp:192.0.2.1:5060", limit)
		}()
	}
	close(start)
	wg.Wait()
	stored, refused := 0, 0
	for i, err := range errs {
		switch err {
		case nil:
			stored++
		case xc5.ErrTooManyContacts:
			refused++
		default:
			t.Errorf("contact %d: %v", i, err)
		}
	}
	bs, err := s.ContactsOf(ctx, guid, now)
	if err != nil {
		t.Fatal(err)
	}
	if stored != 10 || refused != 10 || len(bs) != 10 {
		t.Fatalf("stored %d, refused %d, bindings %d; want 10, 10, 10", stored, refused, len(bs))
	}
	if _, err := s.PutRegistration(ctx, guid, bs[0].Contact, now.Add(2*time.Hour), "ua", "udp:192.0.2.1:5060", limit); err != nil {
		t.Errorf("refresh at the cap: %v", err)
	}
	if _, err := s.PutRegistration(ctx, guid, "sip:new@192.0.2.99", now.Add(time.Hour), "ua", "", limit); err != xc5.ErrTooManyContacts {
		t.Errorf("new contact at the cap: %v, want ErrTooManyContacts", err)
	}
	later := xc5.ContactCap{Max: 10, Now: now.Add(90 * time.Minute)} // all but the refreshed one expired
	if _, err := s.PutRegistration(ctx, guid, "sip:new@192.0.2.99", now.Add(3*time.Hour), "ua", "", later); err != nil {
		t.Errorf("new contact once the others expired: %v", err)
	}
}

// testRegistrationsOtherPaths: a refresh answers the account's bindings as
// they are after writes through other paths than PutRegistration — the
// API's DELETE of a binding, the registrar's unregister and an account's
// deletion — even when the store keeps a copy of the bindings it wrote
// (SQLite's registration cache): a binding deleted elsewhere is not
// answered, nor brought back.
func testRegistrationsOtherPaths(t *testing.T, b backend) {
	s, guid := newRegStore(t, b)
	ctx := context.Background()
	now := time.Now()
	limit := xc5.ContactCap{Max: 10, Now: now}
	a, c := "sip:a@192.0.2.1", "sip:c@192.0.2.3"
	put := func(contact string) []xc5.Binding {
		t.Helper()
		bs, err := s.PutRegistration(ctx, guid, contact, now.Add(time.Hour), "ua", "udp:192.0.2.1:5060", limit)
		if err != nil {
			t.Fatalf("PutRegistration %s: %v", contact, err)
		}
		return bs
	}
	wantOnly := func(what string, bs []xc5.Binding, contacts ...string) {
		t.Helper()
		got := []string{}
		for _, b := range bs {
			got = append(got, b.Contact)
		}
		if !reflect.DeepEqual(got, contacts) {
			t.Fatalf("%s: bindings %v, want %v", what, got, contacts)
		}
	}
	put(a)
	bs := put(c)
	put(a) // a refresh: the store may now answer it from what it wrote
	if err := s.Delete(ctx, "", resource.Registration, guid, bs[1].GUID); err != nil {
		t.Fatalf("API delete of a binding: %v", err)
	}
	wantOnly("refresh after the API deleted a binding", put(a), a)

	put(c)
	put(a)
	if err := s.DeleteRegistration(ctx, guid, c); err != nil {
		t.Fatal(err)
	}
	wantOnly("refresh after an unregister", put(a), a)

	if err := s.Delete(ctx, "", resource.Account, "", guid); err != nil {
		t.Fatalf("delete account: %v", err)
	}
	if _, err := s.PutRegistration(ctx, guid, a, now.Add(time.Hour), "ua", "", limit); xc5.ErrorCode(err) != xc5.ENOTFOUND {
		t.Fatalf("refresh of a deleted account's binding: %v, want not_found", err)
	}
	if got, _ := s.ContactsOf(ctx, guid, now); len(got) != 0 {
		t.Fatalf("the deleted account's binding came back: %+v", got)
	}
}

// testRegistrationsTwoNodes: a refresh through one store answers the
// bindings another store (another node, or another process on the same
// SQLite file) added and deleted meanwhile.
func testRegistrationsTwoNodes(t *testing.T, b backend) {
	s, guid := newRegStore(t, b)
	s2 := b.again(t, s)
	ctx := context.Background()
	now := time.Now()
	limit := xc5.ContactCap{Max: 10, Now: now}
	a, c, d := "sip:a@192.0.2.1", "sip:c@192.0.2.3", "sip:d@192.0.2.4"
	for _, contact := range []string{a, c, a} {
		if _, err := s.PutRegistration(ctx, guid, contact, now.Add(time.Hour), "ua", "", limit); err != nil {
			t.Fatal(err)
		}
	}
	if err := s2.DeleteRegistration(ctx, guid, c); err != nil {
		t.Fatalf("unregister on the other node: %v", err)
	}
	other, err := s2.PutRegistration(ctx, guid, d, now.Add(time.Hour), "ua2", "", limit)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := s.PutRegistration(ctx, guid, a, now.Add(2*time.Hour), "ua", "", limit)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.ContactsOf(ctx, guid, now)
	if len(bs) != 2 || bs[0].Contact != a || bs[1].Contact != d || bs[1].GUID != other[1].GUID || !reflect.DeepEqual(bs, want) {
		t.Fatalf("refresh after the other node's writes answered %+v; the table has %+v", bs, want)
	}
}
