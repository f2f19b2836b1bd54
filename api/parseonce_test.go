package api_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"xc5/api"
	"xc5/dialplan"
	"xc5/routing"
	"xc5/storetest"
)

// TestWriteParsesGrammarsOnce: one PUT of a route, by a partition (whose
// references the store checks), parses its destination, digit_map and
// time_definition once each: the decoding's parse travels on to the
// trunk-zero check, the store's reference checks and the routing view
// (before, the destination was parsed four times). The view holds what a
// parse of the stored text gives, and a PATCH that leaves a value alone
// parses it once, where the view takes the record.
func TestWriteParsesGrammarsOnce(t *testing.T) {
	t.Parallel()
	store := storetest.Open(t, adminPassword)
	view := routing.NewView(routing.Defaults{Location: time.UTC, CountryCode: "64"})
	view.Follow(store)
	if err := view.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	e := envOn(t, store, api.Options{View: view})
	e.createAccountWithPassword("po.test", "", acmePass)
	e.createAccount("one@po.test", "po.test")
	e.createAccount("two@po.test", "po.test")
	e.grant("po.test", "user")

	// Texts no other test writes: the counters count parses by text.
	const dest, digits, times = "two@po.test", "1=one@po.test,2=#2", "Mon-Fri 07:13-17:47"
	count := func(write func()) (d, m, tm int) {
		stops := []func() int{dialplan.CountParses(dest), dialplan.CountParses(digits), dialplan.CountParses(times)}
		write()
		return stops[0](), stops[1](), stops[2]()
	}
	var guid string
	d, m, tm := count(func() {
		r := e.mustAs("po.test", acmePass, http.StatusCreated, "PUT", "/api-sys/account/one@po.test/route",
			`{"order":-3,"destination":"`+dest+`","menu_level":1,"digit_map":"`+digits+`","time_definition":"`+times+`"}`)
		guid = str(t, r.one(t), "guid")
	})
	if d != 1 || m != 1 || tm != 1 {
		t.Errorf("a route's PUT parsed its destination %d times, its digit_map %d, its time_definition %d; want once each", d, m, tm)
	}

	want := func() {
		t.Helper()
		a := view.Account("one@po.test")
		if a == nil || len(a.Routes) != 1 {
			t.Fatalf("the view holds %+v, want one@po.test with its route", a)
		}
		r := a.Routes[0]
		wd, _ := dialplan.ParseDestination(dest)
		wm, _ := dialplan.ParseDigitMap(digits)
		wt, _ := dialplan.ParseTimeDefinition(times, nil)
		if !r.HasDest || r.Destination != wd || !reflect.DeepEqual(r.DigitMap, wm) || !r.HasTime || !reflect.DeepEqual(r.Time, wt) {
			t.Errorf("the view's route is %+v, want the parses of %q, %q and %q", r, dest, digits, times)
		}
	}
	want()

	d, m, tm = count(func() {
		e.mustAs("po.test", acmePass, http.StatusOK, "PATCH", "/api-sys/account/one@po.test/route/"+guid, `{"order":-4}`)
	})
	if d != 1 || m != 1 || tm != 1 {
		t.Errorf("a PATCH of the order parsed the destination %d times, the digit_map %d, the time_definition %d; want once each (the view, from the record)", d, m, tm)
	}
	want()

	// An account's cfna_dest (a username or number, checked by pattern)
	// is parsed as a destination once too: by its decoding, for the
	// trunk-zero check and the store's reference check.
	const cfna = "two@PO.test"
	stopCfna := dialplan.CountParses("two@po.test")
	e.mustAs("po.test", acmePass, http.StatusOK, "PATCH", "/api-sys/account/one@po.test", `{"cfna_dest":"`+cfna+`"}`)
	if n := stopCfna(); n != 1 {
		t.Errorf("an account's PATCH parsed its cfna_dest %d times; want once", n)
	}

	// A time set's PUT parses its definition and dates once: the view
	// applies the written set alone instead of reading (and parsing)
	// every set again.
	const def, dates = "Sat-Sun 09:11-10:12", "2031-02-03..2031-02-05"
	stopDef, stopDates := dialplan.CountParses(def), dialplan.CountParses("2031-02-03..2031-02-05")
	e.must(http.StatusCreated, "PUT", "/api-sys/timedefinition/", `{"name":"po_set","definition":"`+def+`","dates":"`+dates+`"}`)
	if n, m := stopDef(), stopDates(); n != 1 || m != 1 {
		t.Errorf("a time set's PUT parsed its definition %d times and its dates %d; want once each", n, m)
	}
}
