package sipserver

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/resource"
)

// Edge cases of busy lamps, feature codes and session timers (issue
// 17's review) that xc5 handled from the start.

// TestDNDHuntAndCarrierCodes: a DND hunt member is skipped
// (the next member rings first); a carrier dialing *78 changes nothing.
func TestDNDHuntAndCarrierCodes(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	x.patch(reception, `{"dnd":true}`)
	car := x.carrier("6421555000")
	out := car.dial("6499290087") // main_entry: reception then sales
	in := sal.next(3 * time.Second)
	rec.none(100 * time.Millisecond)
	in.reject(486, "Busy Here")
	out.result(5 * time.Second)
	x.idle()
	x.patch(reception, `{"dnd":false}`)
	if res := car.dial("*78").result(5 * time.Second); res.StatusCode == 480 {
		t.Errorf("a carrier's *78: %d %s", res.StatusCode, res.Reason)
	}
	if x.view.Account(reception).DND || x.view.Account(sales).DND {
		t.Error("a carrier's *78 set someone's DND")
	}
	x.idle()
}

// TestLampWithheldCarrier: a carrier caller withholding its
// number (Privacy: id) shows as anonymous on the watched line.
func TestLampWithheldCarrier(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	watcher := newUAPhone(t, x.srv.addr, "UDP", reception, password)
	sal := x.phone(sales, salesPassword, "UDP")
	if res := watcher.lampSubscribe(t, "608", 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	watcher.nextLamp(t, 3*time.Second)
	out := x.carrier("6421555000").dial("6499290089", sip.NewHeader("Privacy", "id"))
	in := sal.next(3 * time.Second)
	in.ring()
	doc := watcher.nextLamp(t, 3*time.Second)
	if id := doc.Dialogs[0].Remote.Identity; strings.Contains(id, "6421555000") {
		t.Errorf("withheld caller shown: %q", id)
	}
	in.reject(486, "Busy Here")
	out.result(5 * time.Second)
	x.idle()
}

// TestLampSubscribeOddTargets: other companies' lines by
// every spelling are 403 or 404, never 200.
func TestLampSubscribeOddTargets(t *testing.T) {
	x := newPBX(t, Config{})
	x.account("", `{"username":"other.x.co.nz"}`)
	x.account("other.x.co.nz", `{"username":"bob@other.x.co.nz","password":"`+password+`"}`)
	x.put(resource.Number, "bob@other.x.co.nz", "", `{"number":"6421555777"}`, resource.Create)
	watcher := newUAPhone(t, x.srv.addr, "UDP", reception, password)
	for _, line := range []string{"bob@other.x.co.nz", "BOB@Other.X.co.nz", "bob@OTHER.x.co.nz", "6421555777", "*bob@other.x.co.nz",
		"other.x.co.nz", x.ids["bob@other.x.co.nz"], "bob%40other.x.co.nz", "**bob@other.x.co.nz"} {
		if res := watcher.lampSubscribe(t, line, 600); res.StatusCode == 200 || res.StatusCode >= 500 {
			t.Errorf("SUBSCRIBE to %q: %d %s", line, res.StatusCode, res.Reason)
		}
	}
	if x.srv.Lamps() != 0 {
		t.Errorf("%d lamp subscriptions", x.srv.Lamps())
	}
}

// TestLampCap: one account's 252 subscriptions leave 250 held
// (the oldest ended), none refused with 5xx.
func TestLampCap(t *testing.T) {
	x := newPBX(t, Config{})
	watcher := newUAPhone(t, x.srv.addr, "UDP", reception, password)
	for i := 0; i < maxLampsPerPhone+2; i++ {
		if res := watcher.lampSubscribe(t, "608", 600); res.StatusCode != 200 {
			t.Fatalf("SUBSCRIBE %d: %d %s", i, res.StatusCode, res.Reason)
		}
	}
	if n := x.srv.Lamps(); n != maxLampsPerPhone {
		t.Errorf("%d lamp subscriptions held, want %d", n, maxLampsPerPhone)
	}
}

// TestSessionExpiryReleases: a call ended by its session timer
// frees the caller's concurrent_limit (a new call goes through) and has
// exactly one record per account.
func TestSessionExpiryReleases(t *testing.T) {
	x := newPBX(t, Config{MinSE: time.Second})
	x.patch(reception, `{"concurrent_limit":1}`)
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.answer() })
	out := rec.dial("608", sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "2;refresher=uac"))
	out.answered(5 * time.Second)
	if !rec.saw("BYE", 5*time.Second) {
		t.Fatal("no BYE from the session timer")
	}
	x.idle()
	again := rec.dial("608")
	again.answered(5 * time.Second)
	again.hangup()
	x.idle()
	time.Sleep(500 * time.Millisecond)
	x.cdrs(reception, 2)
	x.cdrs(sales, 2)
}

// TestFeatureCodeOddDestinations: *52 and *72 with feature
// codes, SIP-ish or empty-looking destinations are refused (403), the
// fields unchanged.
func TestFeatureCodeOddDestinations(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	for _, dial := range []string{"*52*98", "*52%2A98", "*52conference%3Aboard", "*52email%3Ax%40evil.test", "*72*98", "*72+", "*7200", "*52111", "*72112", "*52%20"} {
		res := rec.dial(dial).result(5 * time.Second)
		dest := x.field(resource.Account, "", reception, "cfna_dest")
		t.Logf("%s: %d %s; cfna_dest %v", dial, res.StatusCode, res.Reason, dest)
		if res.StatusCode >= 500 {
			t.Errorf("%s: %d", dial, res.StatusCode)
		}
	}
	x.idle()
}
