package sipserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"xc5/resource"
)

// field reads a field of a record as the API shows it.
func (x *pbx) field(r *resource.Resource, parent, id, name string) any {
	x.t.Helper()
	rec, err := x.store.Get(context.Background(), "", r, parent, id)
	if err != nil {
		x.t.Fatalf("%s %s: %v", r.Name, id, err)
	}
	return rec.Values[name]
}

// earlyRule14 is the document's early rule: 14 stands for * on phones
// that cannot dial a star.
func (x *pbx) earlyRule14() {
	x.put(resource.CallRule, "acmebrick.x.co.nz", "", `{"order":-2,"prefix_raw":"14","destination":"*%","early_rule":true}`, resource.Create)
}

// TestFeatureCodeSettings: each settings feature code, dialed by a phone
// (some through the document's 14 early rule), changes the field the API
// shows, at once; what the API refuses is refused by phone too, the
// field unchanged. Without a media node the answer's status says it.
func TestFeatureCodeSettings(t *testing.T) {
	x := newPBX(t, Config{})
	x.earlyRule14()
	num := x.view.Account(reception).Numbers[0].GUID
	rec := x.phone(reception, password, "UDP")
	for _, tc := range []struct {
		dial   string
		code   int
		r      *resource.Resource
		parent string
		id     string
		name   string
		want   any
	}{
		{"*78", 480, resource.Account, "", reception, "dnd", true},
		{"1479", 480, resource.Account, "", reception, "dnd", false},
		{"1478", 480, resource.Account, "", reception, "dnd", true},
		{"*79", 480, resource.Account, "", reception, "dnd", false},
		{"*72021555000", 480, resource.Number, x.ids[reception], num, "cfa", "6421555000"},
		{"*72111", 403, resource.Number, x.ids[reception], num, "cfa", "6421555000"}, // no forward to an emergency number
		{"*72", 403, resource.Number, x.ids[reception], num, "cfa", "6421555000"},
		{"*73", 480, resource.Number, x.ids[reception], num, "cfa", ""},
		{"14726499290089", 480, resource.Number, x.ids[reception], num, "cfa", "6499290089"},
		{"*73", 480, resource.Number, x.ids[reception], num, "cfa", ""},
		{"*52", 403, resource.Account, "", reception, "cfna_active", false}, // no cfna_dest yet
		{"*52608", 480, resource.Account, "", reception, "cfna_dest", sales},
		{"*53", 480, resource.Account, "", reception, "cfna_active", false},
		{"*52", 480, resource.Account, "", reception, "cfna_active", true},
		{"*52+99", 403, resource.Account, "", reception, "cfna_dest", sales},
		{"1453", 480, resource.Account, "", reception, "cfna_active", false},
	} {
		res := rec.dial(tc.dial).result(5 * time.Second)
		if res.StatusCode != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.dial, res.StatusCode, res.Reason, tc.code)
		}
		if got := x.field(tc.r, tc.parent, tc.id, tc.name); got != tc.want {
			t.Errorf("%s: %s %v, want %v", tc.dial, tc.name, got, tc.want)
		}
	}
	// An account with no number of its own has no cfa to set.
	x.put(resource.Account, "", "noline@acmebrick.x.co.nz", `{"username":"noline@acmebrick.x.co.nz","parent":"acmebrick.x.co.nz","password":"`+password+`"}`, resource.Upsert)
	nl := x.phone("noline@acmebrick.x.co.nz", password, "UDP")
	if res := nl.dial("*72021555000").result(5 * time.Second); res.StatusCode != 403 || !strings.Contains(res.Reason, "no number") {
		t.Errorf("*72 without a number: %d %s", res.StatusCode, res.Reason)
	}
	x.idle()
}

// TestDoNotDisturb: a DND account's phones do not ring; its calls go on
// as when busy: 486 without anything else, cfna_dest when active.
func TestDoNotDisturb(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	x.patch(reception, `{"dnd":true}`)
	if res := sal.dial("600").result(5 * time.Second); res.StatusCode != 486 {
		t.Fatalf("call to a DND line: %d %s", res.StatusCode, res.Reason)
	}
	rec.none(200 * time.Millisecond)
	// With a forward on no answer, the call goes there.
	x.patch(reception, `{"cfna_dest":"6499290089","cfna_active":true}`)
	carrier := x.carrier("6421555000")
	x.trunk("", "", "")
	out := carrier.dial("6491231234")
	in := sal.next(5 * time.Second)
	rec.none(100 * time.Millisecond)
	if err := in.answer(); err != nil {
		t.Fatal(err)
	}
	out.answered(5 * time.Second)
	out.hangup()
	x.idle()
}

// TestFeatureCodeConfirmation: by phone with a media node, *78 sets DND
// and the caller hears the confirmation (three 1400 Hz beeps and the
// words) before xc5 hangs up; a refused code (a forward to an emergency
// number) plays the refusal (480 Hz) and changes nothing.
func TestFeatureCodeConfirmation(t *testing.T) {
	x := newMediaPBX(t, Config{})
	for _, tc := range []struct {
		dial string
		freq float64
		dnd  bool
	}{
		{"*78", 1400, true},
		{"*72111", 480, true},
	} {
		p, ep := x.mediaPhone(reception, password)
		p.dial(tc.dial).answered(5 * time.Second)
		if !p.saw("BYE", 10*time.Second) {
			t.Fatalf("%s: xc5 did not hang up after the confirmation", tc.dial)
		}
		got := ep.Received()
		if !toneIn(got, tc.freq) {
			t.Errorf("%s: no %v Hz tone in %d samples", tc.dial, tc.freq, len(got))
		}
		if other := map[float64]float64{1400: 480, 480: 1400}[tc.freq]; toneIn(got, other) {
			t.Errorf("%s: %v Hz heard too", tc.dial, other)
		}
		if got := x.field(resource.Account, "", reception, "dnd"); got != tc.dnd {
			t.Errorf("%s: dnd %v", tc.dial, got)
		}
		x.idle()
	}
}
