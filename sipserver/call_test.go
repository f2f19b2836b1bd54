package sipserver

import (
	"crypto/md5"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"xc5/resource"
)

// TestCallByExtension: reception and sales, registered, call each other
// by extension (stage one). The callee sees the caller's number, the
// caller gets the callee's SDP, and BYE goes through both ways.
func TestCallByExtension(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")

	out := rec.dial("608")
	in := sal.next(5 * time.Second)
	if from := in.req.From(); from.Address.User != "6491231234" || from.DisplayName != "6491231234" {
		t.Errorf("sales sees From %s, want reception's number 6491231234", from.Value())
	}
	if string(in.req.Body()) != rec.sdp {
		t.Errorf("the leg's SDP is not the caller's:\n%s", in.req.Body())
	}
	in.ring()
	select {
	case p := <-out.prov:
		if p.StatusCode != 180 {
			t.Errorf("provisional %d", p.StatusCode)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the 180 was not relayed to the caller")
	}
	go in.answer()
	res := out.answered(5 * time.Second)
	if string(res.Body()) != sal.sdp {
		t.Errorf("the caller got SDP\n%s\nwant sales'", res.Body())
	}
	if !sal.saw("ACK", 2*time.Second) {
		t.Fatal("sales got no ACK")
	}
	if n := x.srv.ActiveCalls(x.ids[reception]); n != 1 {
		t.Errorf("reception has %d active calls, want 1", n)
	}
	x.srv.clock.Advance(42 * time.Second)
	if err := out.hangup(); err != nil {
		t.Fatalf("caller BYE: %v", err)
	}
	if !sal.saw("BYE", 2*time.Second) {
		t.Fatal("the caller's BYE did not reach sales")
	}
	x.idle()
	if n := x.srv.ActiveCalls(x.ids[reception]); n != 0 {
		t.Errorf("reception has %d active calls after BYE", n)
	}
	out1 := x.cdrs(reception, 1)[0]
	in1 := x.cdrs(sales, 1)[0]
	for _, c := range []map[string]any{out1, in1} {
		if c["outcome"] != "answered" || c["answered_by"] != sales || c["from"] != reception || c["to"] != "608" ||
			c["code"] != int64(200) || c["duration"] != int64(42) || c["call_id"] == "" || c["answered"] == "" {
			t.Errorf("CDR %v", c)
		}
	}
	if out1["direction"] != "out" || in1["direction"] != "in" {
		t.Errorf("directions %v %v", out1["direction"], in1["direction"])
	}

	// Sales calls reception on 600 and reception hangs up: BYE the other way.
	out = sal.dial("600")
	in = rec.next(5 * time.Second)
	if in.req.From().Address.User != "6499290089" {
		t.Errorf("reception sees From %s", in.req.From().Value())
	}
	go in.answer()
	out.answered(5 * time.Second)
	if !rec.saw("ACK", 2*time.Second) {
		t.Fatal("reception got no ACK")
	}
	if err := in.hangup(); err != nil {
		t.Fatalf("callee BYE: %v", err)
	}
	if !sal.saw("BYE", 2*time.Second) {
		t.Fatal("reception's BYE did not reach sales")
	}
	x.idle()
	if c := x.cdrs(sales, 2)[1]; c["direction"] != "out" || c["answered_by"] != reception {
		t.Errorf("sales' second CDR %v", c)
	}
	if !strings.Contains(out.res.GetHeader("Contact").Value(), x.srv.addr) {
		t.Errorf("xc5's Contact %v is not its address %s", out.res.GetHeader("Contact"), x.srv.addr)
	}
}

// TestCarrierCallHuntGroup: a carrier call to the hunt group's DDI rings
// reception, then after reception's ring time (1 s here, 10 s in the
// document) CANCELs it and rings sales, who answers (stage two).
func TestCarrierCallHuntGroup(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	car := x.carrier("6421555000")

	out := car.dial("6499290087")
	in1 := rec.next(3 * time.Second)
	rang := time.Now()
	if u := in1.req.From().Address.User; u != "6421555000" {
		t.Errorf("reception sees the carrier caller as %q", u)
	}
	in1.ring()
	select {
	case <-out.prov:
	case <-time.After(2 * time.Second):
		t.Fatal("no 180 relayed to the carrier")
	}
	if !in1.cancelled(3 * time.Second) {
		t.Fatal("reception was not CANCELled after its ring time")
	}
	in2 := sal.next(3 * time.Second)
	if d := time.Since(rang); d < 900*time.Millisecond || d > 4*time.Second {
		t.Errorf("sales rang %v after reception, want about 1 s", d)
	}
	go in2.answer()
	res := out.answered(5 * time.Second)
	if string(res.Body()) != sal.sdp {
		t.Errorf("the carrier got SDP %q", res.Body())
	}
	if !rec.saw("CANCEL", time.Second) || rec.count("INVITE") != 1 {
		t.Errorf("reception's events: %v", rec.events)
	}
	if len(out.prov) != 0 {
		t.Errorf("more than one provisional relayed")
	}
	if err := out.hangup(); err != nil {
		t.Fatal(err)
	}
	if !sal.saw("BYE", 2*time.Second) {
		t.Fatal("the carrier's BYE did not reach sales")
	}
	x.idle()
	c := x.cdrs(sales, 1)[0]
	if c["direction"] != "in" || c["from"] != "6421555000" || c["to"] != "6499290087" || c["outcome"] != "answered" || c["answered_by"] != sales {
		t.Errorf("sales' CDR %v", c)
	}
	x.cdrs(reception, 0)
}

// TestBlastGroup: the blast group rings both phones at once; the first to
// answer wins and the other gets CANCEL (stage four's ring group).
func TestBlastGroup(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	car := x.carrier("6421555000")

	out := car.dial("6499290088")
	inR := rec.next(2 * time.Second)
	inS := sal.next(2 * time.Second)
	inR.ring()
	inS.ring()
	time.Sleep(100 * time.Millisecond)
	go inS.answer()
	out.answered(5 * time.Second)
	if !inR.cancelled(2 * time.Second) {
		t.Fatal("reception was not CANCELled when sales answered")
	}
	// The callee hangs up: BYE to the carrier.
	if !sal.saw("ACK", 2*time.Second) {
		t.Fatal("no ACK at sales")
	}
	if err := inS.hangup(); err != nil {
		t.Fatal(err)
	}
	if !car.saw("BYE", 2*time.Second) {
		t.Fatal("sales' BYE did not reach the carrier")
	}
	x.idle()
	if c := x.cdrs(sales, 1)[0]; c["answered_by"] != sales || c["to"] != "6499290088" {
		t.Errorf("CDR %v", c)
	}
}

// TestAllContactsRing: every registered contact of an account rings; the
// first answer wins.
func TestAllContactsRing(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	desk := x.phone(sales, salesPassword, "UDP")
	mobile := x.phone(sales, salesPassword, "UDP")
	out := rec.dial("608")
	a := desk.next(2 * time.Second)
	b := mobile.next(2 * time.Second)
	go b.answer()
	out.answered(5 * time.Second)
	if !a.cancelled(2 * time.Second) {
		t.Fatal("the other contact was not CANCELled")
	}
	out.hangup()
	x.idle()
}

// TestBusyAndUnanswered: a callee that answers 486 makes the call busy;
// one that does not answer within cfna_duration makes it unanswered (480);
// an account with no registered phone too.
func TestBusyAndUnanswered(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	out := rec.dial("608")
	res := out.result(3 * time.Second)
	if res.StatusCode != 480 {
		t.Fatalf("sales has no phone: %d %s, want 480", res.StatusCode, res.Reason)
	}
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.reject(486, "Busy Here") })
	if res := rec.dial("608").result(3 * time.Second); res.StatusCode != 486 {
		t.Fatalf("busy callee: %d %s, want 486", res.StatusCode, res.Reason)
	}
	sal.behave(func(in *inbound) { in.ring() })
	start := time.Now()
	if res := rec.dial("608").result(5 * time.Second); res.StatusCode != 480 {
		t.Fatalf("unanswered: %d %s, want 480", res.StatusCode, res.Reason)
	}
	if d := time.Since(start); d < 1900*time.Millisecond {
		t.Errorf("gave up after %v, before sales' cfna_duration of 2 s", d)
	}
	x.idle()
	cdrs := x.cdrs(reception, 3)
	for i, want := range []string{"unanswered", "busy", "unanswered"} {
		if cdrs[i]["outcome"] != want {
			t.Errorf("CDR %d outcome %v, want %s", i, cdrs[i]["outcome"], want)
		}
	}
}

// TestBlockedInternational: reception may not call international numbers
// (stage three): 404 "destination blocked".
func TestBlockedInternational(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	res := rec.dial("0061298765432").result(3 * time.Second)
	if res.StatusCode != 404 || res.Reason != "destination blocked" {
		t.Fatalf("got %d %q, want 404 destination blocked", res.StatusCode, res.Reason)
	}
	// Sales may, but without a trunk there is no carrier.
	sal := x.phone(sales, salesPassword, "UDP")
	if res := sal.dial("0061298765432").result(3 * time.Second); res.StatusCode != 503 {
		t.Fatalf("external call without a trunk: %d %s", res.StatusCode, res.Reason)
	}
	x.idle()
	if c := x.cdrs(reception, 1)[0]; c["outcome"] != "dropped" || c["code"] != int64(404) || c["direction"] != "out" {
		t.Errorf("CDR %v", c)
	}
}

// TestPickup: sales picks up a call ringing at reception with *8 (group
// pickup) and with **600 (directed pickup); the caller and the picker are
// bridged and reception's phone stops ringing.
func TestPickup(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	x.patch(reception, `{"cfna_duration":10}`)
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	car := x.carrier("6421555000")

	if res := sal.dial("*8").result(3 * time.Second); res.StatusCode != 404 {
		t.Fatalf("*8 with nothing ringing: %d %s", res.StatusCode, res.Reason)
	}
	// The document's early rule makes 14 a star for phones that cannot
	// dial one: 148 is *8.
	x.put(resource.CallRule, "acmebrick.x.co.nz", "", `{"order":-2,"prefix_raw":"14","destination":"*%","early_rule":true}`, resource.Create)
	for _, code := range []string{"*8", "**600", "148"} {
		out := car.dial("6491231234")
		in := rec.next(3 * time.Second)
		in.ring()
		out.ringing(t)
		pick := sal.dial(code)
		res := pick.answered(3 * time.Second)
		if string(res.Body()) != car.sdp {
			t.Errorf("%s: the picker got SDP %q, want the caller's", code, res.Body())
		}
		res = out.answered(3 * time.Second)
		if string(res.Body()) != sal.sdp {
			t.Errorf("%s: the caller got SDP %q, want the picker's", code, res.Body())
		}
		if !in.cancelled(2 * time.Second) {
			t.Fatalf("%s: reception still rings", code)
		}
		if err := out.hangup(); err != nil {
			t.Fatal(err)
		}
		if !sal.saw("BYE", 2*time.Second) {
			t.Fatalf("%s: the caller's BYE did not reach the picker", code)
		}
		x.idle()
		sal.forget()
	}
	cdrs := x.cdrs(sales, 3)
	for _, c := range cdrs {
		if c["answered_by"] != sales || c["outcome"] != "answered" || c["direction"] != "in" {
			t.Errorf("CDR %v", c)
		}
	}
	// A directed pickup of an extension that is not ringing.
	if res := sal.dial("**600").result(3 * time.Second); res.StatusCode != 404 {
		t.Fatalf("**600 with nothing ringing: %d", res.StatusCode)
	}
	if res := sal.dial("**699").result(3 * time.Second); res.StatusCode != 404 || res.Reason != "Unknown Extension" {
		t.Fatalf("**699: %d %s", res.StatusCode, res.Reason)
	}
}

// TestCallerCancel: the caller hangs up while the callee rings: the leg is
// CANCELled and the caller gets 487.
func TestCallerCancel(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	out := rec.dial("608")
	in := sal.next(3 * time.Second)
	in.ring()
	out.ringing(t)
	out.cancel()
	if res := out.result(5 * time.Second); res.StatusCode != 487 {
		t.Fatalf("cancelled call: %d (%v)", res.StatusCode, out.err)
	}
	if !in.cancelled(3 * time.Second) {
		t.Fatal("the leg was not CANCELled")
	}
	x.idle()
	if c := x.cdrs(reception, 1)[0]; c["outcome"] != "cancelled" || c["code"] != int64(487) {
		t.Errorf("CDR %v", c)
	}
	// A BYE in the early dialog ends the call the same way.
	out = rec.dial("608")
	in = sal.next(3 * time.Second)
	in.ring()
	out.ringing(t)
	if err := out.hangup(); err != nil {
		t.Fatalf("early BYE: %v", err)
	}
	if !in.cancelled(3 * time.Second) {
		t.Fatal("the leg was not CANCELled after the caller's early BYE")
	}
	x.idle()
	out.cancel()
	if c := x.cdrs(reception, 2)[1]; c["outcome"] != "cancelled" {
		t.Errorf("CDR %v", c)
	}
}

// TestConcurrentLimit: with concurrent_limit 1, an account in a call is
// busy for a second call, either way; after the BYE it rings again.
func TestConcurrentLimit(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	x.patch(sales, `{"concurrent_limit":1}`)
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	car := x.carrier("6421555000")
	out := rec.dial("608")
	go sal.next(3 * time.Second).answer()
	out.answered(3 * time.Second)
	if res := car.dial("6499290089").result(3 * time.Second); res.StatusCode != 486 {
		t.Fatalf("second call to sales: %d %s, want 486", res.StatusCode, res.Reason)
	}
	if res := sal.dial("600").result(3 * time.Second); res.StatusCode != 486 {
		t.Fatalf("sales calling while in a call: %d %s, want 486", res.StatusCode, res.Reason)
	}
	sal.none(200 * time.Millisecond)
	out.hangup()
	x.idle()
	out = car.dial("6499290089")
	go sal.next(3 * time.Second).answer()
	out.answered(3 * time.Second)
	out.hangup()
	x.idle()
}

// TestMediaDestinations: destinations that need media (voicemail to
// e-mail, IVR menus) get 503 "Media services not available yet", at once.
func TestMediaDestinations(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	car := x.carrier("6421555000")
	for _, ddi := range []string{"6499290081", "6499290082"} {
		start := time.Now()
		res := car.dial(ddi).result(3 * time.Second)
		if res.StatusCode != 503 || res.Reason != "Media services not available yet" {
			t.Errorf("%s: %d %q", ddi, res.StatusCode, res.Reason)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s took %v", ddi, time.Since(start))
		}
	}
	x.idle()
	mail := x.cdrs("mail@acmebrick.x.co.nz", 1)[0]
	ivr := x.cdrs("ivr@acmebrick.x.co.nz", 1)[0]
	if mail["outcome"] != "email" || mail["code"] != int64(503) || ivr["outcome"] != "menu" || ivr["code"] != int64(503) {
		t.Errorf("CDRs %v %v", mail, ivr)
	}
}

// TestReinvite: a re-INVITE (hold) is relayed with its SDP both ways and
// the answer comes back.
func TestReinvite(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	out := rec.dial("608")
	in := sal.next(3 * time.Second)
	go in.answer()
	out.answered(3 * time.Second)
	hold := strings.Replace(rec.sdp, "sendrecv", "sendonly", 1)
	res := out.reinvite(hold)
	if res.StatusCode != 200 || string(res.Body()) != sal.holdSDP {
		t.Fatalf("re-INVITE answer %d %q", res.StatusCode, res.Body())
	}
	select {
	case r := <-sal.reinvites:
		if string(r.Body()) != hold {
			t.Errorf("sales got re-INVITE SDP %q", r.Body())
		}
	case <-time.After(time.Second):
		t.Fatal("sales got no re-INVITE")
	}
	deadline := time.Now().Add(2 * time.Second)
	for sal.count("ACK") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if sal.count("ACK") != 2 {
		t.Errorf("sales got %d ACKs, want 2", sal.count("ACK"))
	}
	// And from the callee's side.
	resume := strings.Replace(sal.sdp, "sendrecv", "sendonly", 1)
	res = in.reinvite(t, resume)
	if res.StatusCode != 200 || string(res.Body()) != rec.holdSDP {
		t.Fatalf("callee's re-INVITE answer %d %q", res.StatusCode, res.Body())
	}
	select {
	case r := <-rec.reinvites:
		if string(r.Body()) != resume {
			t.Errorf("reception got re-INVITE SDP %q", r.Body())
		}
	case <-time.After(time.Second):
		t.Fatal("reception got no re-INVITE")
	}
	out.hangup()
	if !sal.saw("BYE", 2*time.Second) {
		t.Fatal("no BYE")
	}
	x.idle()
}

// TestExternalCallOverTrunk: a call to a mobile goes to the trunk's proxy
// with the carrier's digest credentials, the caller's number in From and
// P-Asserted-Identity, and is bridged when the carrier answers.
func TestExternalCallOverTrunk(t *testing.T) {
	x := newPBX(t, Config{})
	car := newUAPhone(t, x.srv.addr, "UDP", "", "")
	x.trunk(car.addr, "acct", "trunk-pw")
	sal := x.phone(sales, salesPassword, "UDP")
	chal := &digest.Challenge{Realm: "carrier.test", Nonce: "n0nce", Algorithm: "MD5", QOP: []string{"auth"}}
	got := make(chan *inbound, 2)
	car.behave(func(in *inbound) {
		h := in.header("Proxy-Authorization")
		if h == "" {
			in.dlg.Respond(407, "Proxy Authentication Required", nil, sip.NewHeader("Proxy-Authenticate", chal.String()))
			in.release()
			return
		}
		creds, err := digest.ParseCredentials(h)
		ha1 := hashJoin(md5.New, "acct", "carrier.test", "trunk-pw")
		if err != nil || creds.Username != "acct" || expected(md5.New, ha1, "INVITE", creds) != creds.Response {
			in.reject(403, "Forbidden")
			return
		}
		got <- in
		in.answer()
	})
	out := sal.dial("0211234567")
	out.answered(5 * time.Second)
	in := <-got
	if in.req.Recipient.User != "64211234567" || in.req.From().Address.User != "6499290089" ||
		!strings.Contains(in.header("P-Asserted-Identity"), "6499290089") {
		t.Errorf("carrier leg: %s From %s PAI %q", in.req.Recipient.String(), in.req.From().Value(), in.header("P-Asserted-Identity"))
	}
	out.hangup()
	if !car.saw("BYE", 2*time.Second) {
		t.Fatal("no BYE at the carrier")
	}
	x.idle()
	if c := x.cdrs(sales, 1)[0]; c["outcome"] != "external" || c["answered_by"] != "64211234567" {
		t.Errorf("CDR %v", c)
	}
}

// TestPresentation: private callers are anonymous (Privacy: id, no
// P-Asserted-Identity toward phones); a callee with callerid off is shown
// no caller; an account without a number presents its nearest is-pilot
// number; alert-info becomes Alert-Info on calls to that number.
func TestPresentation(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	rec := x.phone(reception, password, "UDP")
	sal := x.phone(sales, salesPassword, "UDP")
	seen := make(chan *inbound, 8)
	sal.behave(func(in *inbound) {
		seen <- in
		in.reject(486, "Busy Here")
	})
	next := func() *inbound {
		t.Helper()
		select {
		case in := <-seen:
			return in
		case <-time.After(3 * time.Second):
			t.Fatal("sales got no INVITE")
			return nil
		}
	}
	x.patch(reception, `{"private":true}`)
	rec.dial("608").result(3 * time.Second)
	in := next()
	if in.req.From().Address.User != "anonymous" || in.header("Privacy") != "id" || in.header("P-Asserted-Identity") != "" {
		t.Errorf("private caller shown as %s Privacy %q PAI %q", in.req.From().Value(), in.header("Privacy"), in.header("P-Asserted-Identity"))
	}
	x.patch(reception, `{"private":false}`)
	x.patch(sales, `{"callerid":false}`)
	rec.dial("608").result(3 * time.Second)
	if in = next(); in.req.From().Address.User != "anonymous" || in.header("Privacy") != "" {
		t.Errorf("callerid off: shown %s Privacy %q", in.req.From().Value(), in.header("Privacy"))
	}
	x.patch(sales, `{"callerid":true}`)
	x.put(resource.Number, "acmebrick.x.co.nz", "", `{"number":"6499290080","is-pilot":true}`, resource.Create)
	x.account("acmebrick.x.co.nz", `{"username":"temp@acmebrick.x.co.nz","password":"Temp-pw-3"}`)
	tmp := x.phone("temp@acmebrick.x.co.nz", "Temp-pw-3", "UDP")
	tmp.dial("608").result(3 * time.Second)
	if in = next(); in.req.From().Address.User != "6499290080" || in.header("Alert-Info") != "" {
		t.Errorf("no number of its own: presented %s, want the pilot 6499290080", in.req.From().Value())
	}
	x.put(resource.Number, sales, "", `{"number":"6499290079","alert-info":"dr4"}`, resource.Create)
	car := x.carrier("6421555000")
	car.dial("6499290079").result(3 * time.Second)
	if in = next(); !strings.Contains(in.header("Alert-Info"), "dr4") || in.req.From().Address.User != "6421555000" {
		t.Errorf("Alert-Info %q From %s", in.header("Alert-Info"), in.req.From().Value())
	}
	x.idle()
}

// TestTCP: phones registered over TCP call each other; requests reach
// them over the connections they registered on.
func TestTCP(t *testing.T) {
	x := newPBX(t, Config{})
	rec := x.phone(reception, password, "TCP")
	sal := x.phone(sales, salesPassword, "TCP")
	out := rec.dial("608")
	in := sal.next(3 * time.Second)
	if in.req.Transport() != "TCP" {
		t.Errorf("leg over %s", in.req.Transport())
	}
	go in.answer()
	out.answered(3 * time.Second)
	if err := in.hangup(); err != nil {
		t.Fatal(err)
	}
	if !rec.saw("BYE", 2*time.Second) {
		t.Fatal("no BYE over TCP")
	}
	x.idle()
}

// TestInviteAuthentication: INVITEs from phones are challenged (407);
// wrong passwords and unknown users get 403; without a trunk, a carrier's
// INVITE is challenged like anyone's, with one it is let in.
func TestInviteAuthentication(t *testing.T) {
	x := newPBX(t, Config{})
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) { in.reject(486, "Busy Here") })
	wrong := newUAPhone(t, x.srv.addr, "UDP", reception, "wrong")
	if res := wrong.dial("608").result(3 * time.Second); res.StatusCode != 403 {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	nobody := newUAPhone(t, x.srv.addr, "UDP", "nobody@acmebrick.x.co.nz", password)
	if res := nobody.dial("608").result(3 * time.Second); res.StatusCode != 403 {
		t.Fatalf("unknown user: %d", res.StatusCode)
	}
	car := x.carrier("6421555000")
	res := car.dial("6499290089").result(3 * time.Second)
	if res.StatusCode != 407 || res.GetHeader("Proxy-Authenticate") == nil {
		t.Fatalf("carrier without a trunk: %d", res.StatusCode)
	}
	x.trunk("", "", "")
	if res := car.dial("6499290089").result(3 * time.Second); res.StatusCode != 486 {
		t.Fatalf("carrier with a trunk: %d %s", res.StatusCode, res.Reason)
	}
	// A phone on the trunk's address is still challenged: its From names
	// its account.
	if res := wrong.dial("608").result(3 * time.Second); res.StatusCode != 403 {
		t.Fatalf("wrong password from a trunk address: %d", res.StatusCode)
	}
	x.idle()
}
