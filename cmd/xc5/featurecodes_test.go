package main_test

import (
	"encoding/json"
	"testing"
	"time"
)

// TestFeatureCodesThroughAPI: xc5 serve end to end. Reception dials *78
// and hears the confirmation (three 1400 Hz beeps) and the API then shows
// dnd true; 1472 and a number (the document's 14 early rule) sets the cfa
// the API shows on reception's number; the other way round, the API
// turning dnd off makes reception's phone ring again.
func TestFeatureCodesThroughAPI(t *testing.T) {
	t.Parallel()
	s := mediaServe(t, t.TempDir(), "")
	const co, recep, sales = "acmebrick.x.co.nz", "reception@acmebrick.x.co.nz", "sales@acmebrick.x.co.nz"
	s.provision(t,
		[2]string{"/api-sys/account/", `{"username":"` + co + `"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"` + recep + `","password":"Recep-pw-1234","cfna_duration":30}`},
		[2]string{"/api-sys/account/" + recep + "/number", `{"number":"6491231234"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"` + sales + `","password":"` + salesPassword + `"}`},
		[2]string{"/api-sys/account/" + co + "/callrule", `{"order":-2,"prefix_raw":"600","username":"` + recep + `"}`},
		[2]string{"/api-sys/account/" + co + "/callrule", `{"order":-2,"prefix_raw":"14","destination":"*%","early_rule":true}`})
	sip := s.sipAddr(t)
	get := func(path, field string) any {
		t.Helper()
		code, body := s.do(t, "GET", path, "admin", mediaAdmin, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		var doc any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		if list, ok := doc.([]any); ok && len(list) > 0 { // its first record
			doc = list[0]
		}
		rec, _ := doc.(map[string]any)
		return rec[field]
	}

	rec := newUA(t, sip, recep, "Recep-pw-1234")
	rec.register()
	rec.dial("*78").answered()
	if _, ok := hears(rec.ep, 0, 1400, 5*time.Second); !ok {
		t.Error("no confirmation tone after *78")
	}
	if !rec.hungUp(10 * time.Second) {
		t.Fatal("xc5 did not hang up after the confirmation")
	}
	if got := get("/api-sys/account/"+recep, "dnd"); got != true {
		t.Fatalf("the API shows dnd %v after *78", got)
	}
	sal := newUA(t, sip, sales, salesPassword)
	if res := sal.dial("600").result(10 * time.Second); res.StatusCode != 486 {
		t.Fatalf("a call to the DND line: %d %s", res.StatusCode, res.Reason)
	}

	rec2 := newUA(t, sip, recep, "Recep-pw-1234")
	rec2.dial("1472021555000").answered()
	if !rec2.hungUp(10 * time.Second) {
		t.Fatal("xc5 did not hang up after the confirmation")
	}
	num, _ := get("/api-sys/account/"+recep+"/number", "guid").(string)
	if got := get("/api-sys/account/"+recep+"/number/"+num, "cfa"); got != "6421555000" {
		t.Fatalf("the API shows cfa %v after 1472021555000", got)
	}

	// The API's change reaches the phone's line at once.
	if code, body := s.do(t, "PATCH", "/api-sys/account/"+recep, "admin", mediaAdmin, `{"dnd":false}`); code != 200 {
		t.Fatalf("PATCH dnd: %d %s", code, body)
	}
	c := sal.dial("600")
	select {
	case <-rec.invites:
	case <-time.After(10 * time.Second):
		t.Fatal("reception's phone does not ring once the API turned dnd off")
	}
	c.hangup()
}
