package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

const (
	reception = "reception@acmebrick.x.co.nz"
	sales     = "sales@acmebrick.x.co.nz"
	phones    = reception + "," + sales
	greeting  = "4319C6B9-EAEF-4583-97B3-1CC13514EED4"
	// Times in Pacific/Auckland (NZDT, +13:00).
	tuesdayInHours  = "2026-12-01T10:00:00+13:00"
	mondayEvening   = "2026-11-30T18:00:00+13:00"
	fridayMorning   = "2026-12-04T10:00:00+13:00"
	boxingDayMonday = "2026-12-28T10:00:00+13:00" // Boxing Day 2026 is observed on Monday 28 December
)

// trace asks GET /api-sys/calltrace and returns the steps and the outcome.
func (c *client) trace(params map[string]string) ([]map[string]any, map[string]any) {
	c.t.Helper()
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	resp, out := c.do("GET", "/api-sys/calltrace?"+q.Encode(), "", nil)
	if resp.StatusCode != 200 {
		c.t.Fatalf("calltrace %v: %d %v", params, resp.StatusCode, out)
	}
	if len(out) == 0 || out[len(out)-1]["outcome"] == nil {
		c.t.Fatalf("calltrace %v: no outcome last: %v", params, out)
	}
	for _, st := range out[:len(out)-1] {
		for _, k := range []string{"kind", "account", "text"} {
			if _, ok := st[k]; !ok {
				c.t.Errorf("calltrace step %v lacks %q", st, k)
			}
		}
	}
	return out[:len(out)-1], out[len(out)-1]
}

func stepsText(steps []map[string]any) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "%v %v: %v\n", s["kind"], s["account"], s["text"])
	}
	return b.String()
}

// TestStagePromises checks, on the document's own data provisioned through
// the API, that each stage does to calls what the document promises.
func TestStagePromises(t *testing.T) {
	c := newServer(t)
	afterHours := replayDocument(t, c)
	code := c.ok("GET", "/api-sys/account/main_entry@acmebrick.x.co.nz/prompt/"+afterHours, "")[0]["group_access"].(string)

	tests := []struct {
		name   string
		params map[string]string
		want   map[string]any // outcome fields
		steps  []string       // substrings the steps must contain, in order
	}{
		// Stage one.
		{"reception dials sales by extension", map[string]string{"from": reception, "dial": "608", "registered": phones},
			map[string]any{"outcome": "answered", "by": sales}, []string{"delivers to " + sales}},
		{"sales dials reception by extension", map[string]string{"from": sales, "dial": "600", "registered": phones},
			map[string]any{"outcome": "answered", "by": reception, "record": []any{reception}}, nil},
		{"external call to reception's DDI is recorded and answered", map[string]string{"from": "6421555000", "dial": "6491231234", "registered": phones},
			map[string]any{"outcome": "answered", "by": reception, "record": []any{reception}}, []string{"rings " + reception + " for 10s", "records the call answered by"}},
		{"unanswered after 10 s it goes to voicemail email", map[string]string{"from": "6421555000", "dial": "6491231234", "registered": phones, "noanswer": "*"},
			map[string]any{"outcome": "email", "to": reception, "prompt": "", "record": nil}, []string{"for 10s: no answer", "voicemail to email"}},
		// Stage two (in hours, so the after-hours menu is skipped).
		{"hunt group: reception then sales then voicemail", map[string]string{"from": "6421555000", "dial": "6499290087", "registered": phones, "noanswer": "*", "at": tuesdayInHours},
			map[string]any{"outcome": "email", "to": reception, "prompt": greeting},
			[]string{"hunts " + reception + " for 10s", "rings " + reception + ": no answer", "hunts " + sales + " for 10s", "rings " + sales + ": no answer"}},
		{"hunt group: reception answers", map[string]string{"from": "6421555000", "dial": "6499290087", "registered": phones, "at": tuesdayInHours},
			map[string]any{"outcome": "answered", "by": reception, "record": []any{reception}}, []string{"hunts " + reception, "records the call answered by " + reception}},
		{"hunt group: sales answers when reception does not", map[string]string{"from": "6421555000", "dial": "6499290087", "registered": phones, "noanswer": reception, "at": tuesdayInHours},
			map[string]any{"outcome": "answered", "by": sales, "record": nil}, []string{"hunts " + reception, "hunts " + sales}},
		{"hunt group: a busy member is passed over", map[string]string{"from": "6421555000", "dial": "6499290087", "registered": phones, "busy": reception, "at": tuesdayInHours},
			map[string]any{"outcome": "answered", "by": sales}, []string{"rings " + reception + ": busy"}},
		// Stage three.
		{"reception may not call international", map[string]string{"from": reception, "dial": "0061298765432"},
			map[string]any{"outcome": "dropped", "code": float64(404), "reason": "destination blocked"}, nil},
		{"reception may not call mobiles", map[string]string{"from": reception, "dial": "0211234567"},
			map[string]any{"outcome": "dropped", "code": float64(404), "reason": "destination blocked"}, nil},
		{"sales calls international", map[string]string{"from": sales, "dial": "0061298765432"},
			map[string]any{"outcome": "external", "number": "61298765432", "record": nil}, nil},
		{"sales calls a mobile", map[string]string{"from": sales, "dial": "0211234567"},
			map[string]any{"outcome": "external", "number": "64211234567"}, nil},
		{"reception dials sales' DDI nationally and stays on-net", map[string]string{"from": reception, "dial": "099290089", "registered": phones},
			map[string]any{"outcome": "answered", "by": sales, "record": nil}, []string{"099290089 is 6499290089"}},
		// Stage four: the after-hours menu.
		{"after hours, 5 reaches the blast group", map[string]string{"from": "6421555000", "dial": "6499290087", "registered": phones, "at": fridayMorning, "dtmf": "5"},
			map[string]any{"outcome": "answered", "by": sales}, []string{"caller presses 5", "jumps to menu 2", "rings external 6499290088", "rings " + sales}},
		{"after hours, 1 reaches email with the greeting", map[string]string{"from": "6421555000", "dial": "6499290087", "registered": phones, "at": mondayEvening, "dtmf": "1"},
			map[string]any{"outcome": "email", "to": "dave@dcom.co.nz", "prompt": greeting}, []string{"jumps to menu 3"}},
		{"after hours, no key reaches email with the greeting", map[string]string{"from": "6421555000", "dial": "6499290087", "registered": phones, "at": fridayMorning},
			map[string]any{"outcome": "email", "to": "dave@dcom.co.nz", "prompt": greeting}, []string{"no key (timeout)"}},
		{"a public holiday is after hours", map[string]string{"from": "6421555000", "dial": "6499290087", "registered": phones, "at": boxingDayMonday, "dtmf": "1"},
			map[string]any{"outcome": "email", "to": "dave@dcom.co.nz", "prompt": greeting}, nil},
		{"in hours the menu is skipped", map[string]string{"from": "6421555000", "dial": "6499290087", "registered": phones, "at": tuesdayInHours, "dtmf": "5"},
			map[string]any{"outcome": "answered", "by": reception}, []string{"time_definition does not match"}},
		{"reception records the after-hours prompt with 14", map[string]string{"from": reception, "dial": "14" + code[1:]},
			map[string]any{"outcome": "record-prompt", "prompt": afterHours}, []string{"rewrites the dialed string to " + code}},
		{"the conference PIN admits", map[string]string{"from": "6421555000", "dial": "6499290085", "dtmf": "5666"},
			map[string]any{"outcome": "conference", "room": "6499290085"}, nil},
		{"a wrong conference PIN does not", map[string]string{"from": "6421555000", "dial": "6499290085", "dtmf": "1234"},
			map[string]any{"outcome": "unanswered"}, nil},
		{"an external caller cannot transit", map[string]string{"from": "6421555000", "dial": "6421999888"},
			map[string]any{"outcome": "dropped", "code": float64(404)}, nil},
		{"an unknown extension", map[string]string{"from": reception, "dial": "609"},
			map[string]any{"outcome": "dropped", "code": float64(404)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, got := c.trace(tt.params)
			for k, v := range tt.want {
				if fmt.Sprint(got[k]) != fmt.Sprint(v) {
					t.Errorf("outcome %s = %v, want %v\noutcome: %v\nsteps:\n%s", k, got[k], v, got, stepsText(steps))
				}
			}
			text := stepsText(steps)
			at := 0
			for _, s := range tt.steps {
				i := strings.Index(text[at:], s)
				if i < 0 {
					t.Errorf("steps lack %q (in order)\n%s", s, text)
					break
				}
				at += i + len(s)
			}
		})
	}
}

func TestHydraAccountCalls(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/HydraAccount/6499878037", `{"cfna_dest":"6499650085","cfna_active":true,"ums_pin":"5676"}`)
	_, got := c.trace(map[string]string{"from": "6421555000", "dial": "6499878037", "registered": "6499878037", "noanswer": "*"})
	if got["outcome"] != "external" || got["number"] != "6499650085" {
		t.Errorf("unanswered POTS call: %v, want a forward to 6499650085", got)
	}
	c.ok("PATCH", "/api-sys/HydraAccount/6499878037", `{"cfna_active":false}`)
	if _, got := c.trace(map[string]string{"from": "6421555000", "dial": "6499878037"}); got["outcome"] != "voicemail" || got["mailbox"] != "6499878037" {
		t.Errorf("with the mailbox and no forward: %v, want voicemail", got)
	}
	c.ok("PATCH", "/api-sys/HydraAccount/6499878037", `{"ums_pin":null}`)
	if _, got := c.trace(map[string]string{"from": "6421555000", "dial": "6499878037"}); got["outcome"] != "unanswered" {
		t.Errorf("without a mailbox: %v, want unanswered", got)
	}
}

func TestForwardLoopsEnd(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/account/", `{"username":"loop.test"}`)
	c.ok("PUT", "/api-sys/account/loop.test/child", `{"username":"a@loop.test"}`)
	c.ok("PUT", "/api-sys/account/loop.test/child", `{"username":"b@loop.test"}`)
	c.ok("PUT", "/api-sys/account/a@loop.test/number", `{"number":"6493000001"}`)
	c.ok("PUT", "/api-sys/account/a@loop.test/route", `{"order":-1,"destination":"b@loop.test"}`)
	c.ok("PUT", "/api-sys/account/b@loop.test/route", `{"order":-1,"destination":"a@loop.test"}`)
	steps, got := c.trace(map[string]string{"from": "6421555000", "dial": "6493000001"})
	if got["outcome"] != "dropped" || got["code"] != float64(482) {
		t.Errorf("A→B→A: %v, want dropped 482\n%s", got, stepsText(steps))
	}
	// cfa on a number that points back at itself.
	c.ok("PUT", "/api-sys/account/loop.test/child", `{"username":"c@loop.test"}`)
	c.ok("PUT", "/api-sys/account/c@loop.test/number", `{"number":"6493000003","cfa":"6493000003"}`)
	if _, got := c.trace(map[string]string{"from": "6421555000", "dial": "6493000003"}); got["code"] != float64(482) {
		t.Errorf("cfa to itself: %v, want dropped 482", got)
	}
}

// TestCallTraceSeesWritesAtOnce: the view is updated before a write is
// acknowledged, so the next trace already sees it.
func TestCallTraceSeesWritesAtOnce(t *testing.T) {
	c := newServer(t)
	c.ok("PUT", "/api-sys/account/", `{"username":"fresh.test"}`)
	c.ok("PUT", "/api-sys/account/fresh.test/child", `{"username":"u@fresh.test"}`)
	if _, got := c.trace(map[string]string{"from": "6421555000", "dial": "6493111111"}); got["outcome"] != "dropped" {
		t.Fatalf("before the number exists: %v", got)
	}
	c.ok("PUT", "/api-sys/account/u@fresh.test/number", `{"number":"6493111111"}`)
	if _, got := c.trace(map[string]string{"from": "6421555000", "dial": "6493111111", "registered": "*"}); got["by"] != "u@fresh.test" {
		t.Fatalf("right after the number was added: %v", got)
	}
	c.ok("PUT", "/api-sys/account/u@fresh.test/route", `{"order":-5,"destination":"drop:486:Busy Here"}`)
	if _, got := c.trace(map[string]string{"from": "6421555000", "dial": "6493111111", "registered": "*"}); got["code"] != float64(486) {
		t.Fatalf("right after the route was added: %v", got)
	}
}
