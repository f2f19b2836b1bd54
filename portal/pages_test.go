package portal_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"xc5/storetest"

	"xc5"
)

// TestPortalUsers creates a user with an extension (the company's order
// -2 callrule, as the document writes it), shows its password once and
// logs in with it, changes the extension (the rule, not a second one),
// renames it and deletes it; the API reads every change at once.
func TestPortalUsers(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser("", "/portal/"+acme+"/")
	tok := b.login(acme, acmePW)
	code, page, _ := b.do("POST", "users", url.Values{"csrf": {tok}, "username": {"dave"}, "ext": {"610"}})
	if code != 200 {
		t.Fatalf("create: %d %s", code, page)
	}
	m := regexp.MustCompile(`id="new-password">([^<]+)<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no password shown:\n%s", page)
	}
	dave := "dave@" + acme
	rules := e.api("GET", "/api-sys/account/"+acme+"/callrule", "")
	if !strings.Contains(rules, `"prefix_raw":"610"`) || !strings.Contains(rules, `"destination":":610"`) {
		t.Fatalf("no extension rule: %s", rules)
	}
	d := e.browser(acme, "/")
	d.login(dave, m[1])
	if _, again, _ := b.do("GET", "users", nil); strings.Contains(again, m[1]) {
		t.Error("the password is shown again")
	}
	g := e.record("/api-sys/account/" + dave)["guid"].(string)
	if code, _, _ := b.do("POST", "users/"+g+"/extension", url.Values{"csrf": {tok}, "ext": {"611"}}); code != http.StatusSeeOther {
		t.Fatalf("extension: %d", code)
	}
	rules = e.api("GET", "/api-sys/account/"+acme+"/callrule", "")
	if strings.Contains(rules, `"610"`) || strings.Count(rules, dave) != 1 || !strings.Contains(rules, `":611"`) {
		t.Errorf("extension not moved to 611: %s", rules)
	}
	// An extension the description refuses is the API's 400.
	if code, body, _ := b.do("POST", "users/"+g+"/extension", url.Values{"csrf": {tok}, "ext": {"6 1"}}); code != http.StatusBadRequest {
		t.Errorf("bad extension: %d %s", code, body)
	}
	// A name outside the company's domain is the API's 403.
	if code, body, _ := b.do("POST", "users/"+g+"/rename", url.Values{"csrf": {tok}, "username": {"dave@" + other}}); code != http.StatusForbidden {
		t.Errorf("rename outside: %d %s", code, body)
	}
	code, page, _ = b.do("POST", "users/"+g+"/rename", url.Values{"csrf": {tok}, "username": {"david@" + acme}})
	m = regexp.MustCompile(`id="new-password">([^<]+)<`).FindStringSubmatch(page)
	if code != 200 || m == nil {
		t.Fatalf("rename: %d, no new password shown: %s", code, page)
	}
	e.browser(acme, "/").login("david@"+acme, m[1])
	if e.record("/api-sys/account/" + g)["username"] != "david@"+acme {
		t.Error("not renamed")
	}
	if code, body, _ := b.do("POST", "users/"+g+"/delete", url.Values{"csrf": {tok}}); code != http.StatusSeeOther {
		t.Errorf("delete: %d %s", code, body)
	}
	if rules := e.api("GET", "/api-sys/account/"+acme+"/callrule", ""); strings.Contains(rules, "david") {
		t.Errorf("the deleted user's extension stays: %s", rules)
	}
	if code, _, _ := b.do("POST", "users/"+e.guids[acme]+"/delete", url.Values{"csrf": {tok}}); code != http.StatusForbidden {
		t.Errorf("delete the company: %d, want 403", code)
	}
	// The portal's writes are in the company's audit trail as the API's
	// are: who, from where, on which page.
	trail := e.api("GET", "/api-sys/account/"+acme+"/audit", "")
	for _, want := range []string{`"/portal/` + acme + `/users"`, `"/portal/` + acme + `/users/` + g + `/delete"`, `"source":"127.0.0.1"`} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit trail lacks %s: %s", want, trail)
		}
	}
}

// TestPortalTrace asks what a call to the main number does at 21:00 on
// a Saturday (the after-hours menu) and at 10:00 on a Tuesday (the hunt
// group), and with 5 pressed at the menu (the blast group).
func TestPortalTrace(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser(acme, "/")
	b.login(acme, acmePW)
	for _, c := range []struct{ at, dtmf, want, not string }{
		{"2026-12-05T21:00", "", "menu", "hunt"},
		{"2026-12-01T10:00", "", "hunt", "menu"},
		{"2026-12-05T21:00", "5", "blast@" + acme, ""},
	} {
		code, page, _ := b.do("GET", "trace?number=6499290087&at="+c.at+"&dtmf="+c.dtmf, nil)
		path := regexp.MustCompile(`(?s)<ol class="path".*</ol>`).FindString(page)
		if code != 200 || !strings.Contains(path, c.want) || c.not != "" && strings.Contains(path, c.not) {
			t.Errorf("trace at %s %s: %d, want %q without %q in:\n%s", c.at, c.dtmf, code, c.want, c.not, path)
		}
	}
	if code, _, _ := b.do("GET", "trace?number=6499290087&at=saturday", nil); code != http.StatusBadRequest {
		t.Errorf("bad time: %d", code)
	}
	// Another company's number is nothing to trace.
	e.api("PUT", "/api-sys/account/"+boss+"/number", `{"number":"6493334444"}`)
	if code, body, _ := b.do("GET", "trace?number=6493334444", nil); code != http.StatusNotFound || strings.Contains(body, boss) {
		t.Errorf("another company's number: %d", code)
	}
}

// TestPortalCallsCSV pages through an account's calls and downloads them
// as CSV: every matching row, quoted where needed, another company's
// username hidden, and a formula-like value made inert.
func TestPortalCallsCSV(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	for i := 0; i < 60; i++ {
		e.addCDR(reception, map[string]any{"direction": "in", "from": "6421555000", "to": reception, "started": "2026-12-01T01:00:00Z", "outcome": "answered", "duration": int64(i)})
	}
	e.addCDR(reception, map[string]any{"direction": "in", "from": boss, "to": reception, "started": "2026-12-01T02:00:00Z", "outcome": "answered"})
	e.addCDR(reception, map[string]any{"direction": "out", "from": reception, "to": "=1+2,\"x\"", "started": "2026-12-02T02:00:00Z", "outcome": "failed"})
	b := e.browser(acme, "/")
	b.login(reception, recPW)
	_, page, _ := b.do("GET", "calls", nil)
	if n := strings.Count(page, "<td>answered</td>"); n != 50 {
		t.Errorf("first page has %d rows, want 50", n)
	}
	next := regexp.MustCompile(`href="/calls\?([^"]+)">Next page`).FindStringSubmatch(page)
	if next == nil {
		t.Fatal("no next page link")
	}
	_, page2, _ := b.do("GET", "calls?"+strings.ReplaceAll(next[1], "&amp;", "&"), nil)
	if n := strings.Count(page2, "<tr><td>"); n != 12 || strings.Contains(page2, boss) || !strings.Contains(page2, "another company") {
		t.Errorf("second page: %d rows:\n%s", n, page2)
	}
	code, body, h := b.do("GET", "calls.csv?since=2026-12-01&until=2026-12-02", nil)
	if code != 200 || h.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %v", code, h)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 63 || rows[0][0] != "started" {
		t.Fatalf("csv has %d rows (want a header and 62): %v", len(rows), rows[0])
	}
	last := rows[62]
	if last[3] != `'=1+2,"x"` || strings.Contains(body, boss) {
		t.Errorf("last row %q; boss hidden: %v", last, !strings.Contains(body, boss))
	}
	// The filter on what was dialed matches what the company reads.
	_, body, _ = b.do("GET", "calls.csv?to=another", nil)
	if rows, _ := csv.NewReader(strings.NewReader(body)).ReadAll(); len(rows) != 1 {
		t.Errorf("filter on a hidden name matched %d rows", len(rows)-1)
	}
}

// TestPortalOverviewLive: the Overview says which phones are registered
// now and counts each user's calls since midnight in the company's zone.
func TestPortalOverviewLive(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	ctx := context.Background()
	if _, err := e.store.PutRegistration(ctx, e.guids[reception], "sip:r@127.0.0.1:5070", time.Now().Add(time.Hour), "", "", xc5.ContactCap{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	e.addCDR(sales, map[string]any{"direction": "in", "from": "6421555000", "to": sales, "started": now.Format(time.RFC3339), "outcome": "answered"})
	e.addCDR(sales, map[string]any{"direction": "in", "from": "6421555000", "to": sales, "started": now.AddDate(0, 0, -2).Format(time.RFC3339), "outcome": "answered"})
	b := e.browser(acme, "/")
	b.login(acme, acmePW)
	_, home, _ := b.do("GET", "", nil)
	row := func(user string) string {
		return regexp.MustCompile(`<tr><td>` + regexp.QuoteMeta(user) + `</td>.*?</tr>`).FindString(strings.ReplaceAll(home, "\n", " "))
	}
	if r := row(reception); !strings.Contains(r, `class="yes">registered`) || !strings.Contains(r, ">0</a>") {
		t.Errorf("reception: %s", r)
	}
	if r := row(sales); !strings.Contains(r, `class="no">not registered`) || !strings.Contains(r, ">1</a>") {
		t.Errorf("sales: %s", r)
	}
}

// TestPortalNumbers takes a number from the pool for a user, under the
// API's rules (no number_limit on the way: 403, as the API says), sets
// its cfa and alert-info, and returns it to the pool.
func TestPortalNumbers(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	e.api("PUT", "/api-sys/account/_unassigned.pool/number", `{"number":"6499990001"}`)
	b := e.browser(acme, "/")
	tok := b.login(acme, acmePW)
	salesG := e.guids[sales]
	_, page, _ := b.do("GET", "numbers?account="+sales+"&filter=%250001", nil)
	m := regexp.MustCompile(`action="/numbers/` + salesG + `/([0-9A-F-]+)/take"`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "6499990001") {
		t.Fatalf("the pool number is not offered:\n%s", page)
	}
	take := "numbers/" + salesG + "/" + m[1] + "/take"
	if code, body, _ := b.do("POST", take, url.Values{"csrf": {tok}}); code != http.StatusForbidden || !strings.Contains(body, "number_limit") {
		t.Errorf("take without a number_limit: %d, want the API's 403 naming number_limit", code)
	}
	e.api("PUT", "/api-sys/account/"+acme+"/accountresource", `{"name":"number_limit","value":"10"}`)
	if code, body, _ := b.do("POST", take, url.Values{"csrf": {tok}}); code != http.StatusSeeOther {
		t.Fatalf("take: %d %s", code, body)
	}
	if nums := e.api("GET", "/api-sys/account/"+sales+"/number", ""); !strings.Contains(nums, "6499990001") {
		t.Fatalf("sales does not hold it: %s", nums)
	}
	set := "numbers/" + salesG + "/" + m[1] + "/set"
	if code, _, _ := b.do("POST", set, url.Values{"csrf": {tok}, "cfa": {"6421555777"}, "alert-info": {"dr4"}}); code != http.StatusSeeOther {
		t.Errorf("set: %d", code)
	}
	if n := e.record("/api-sys/account/" + sales + "/number/" + m[1]); n["cfa"] != "6421555777" || n["alert-info"] != "dr4" {
		t.Errorf("number: %v", n)
	}
	if code, body, _ := b.do("POST", set, url.Values{"csrf": {tok}, "cfa": {"111"}}); code != http.StatusBadRequest {
		t.Errorf("cfa 111: %d %s", code, body)
	}
	if code, _, _ := b.do("POST", "numbers/"+salesG+"/"+m[1]+"/return", url.Values{"csrf": {tok}}); code != http.StatusSeeOther {
		t.Errorf("return: %d", code)
	}
	if pool := e.api("GET", "/api-sys/account/_unassigned.pool/number", ""); !strings.Contains(pool, "6499990001") {
		t.Errorf("not back in the pool: %s", pool)
	}
	// A plain user has no Numbers page.
	r := e.browser(acme, "/")
	r.login(reception, recPW)
	if code, _, _ := r.do("GET", "numbers", nil); code != http.StatusNotFound {
		t.Errorf("reception's numbers page: %d", code)
	}
}

// TestPortalPrompts uploads a WAV as a new prompt of the hunt group, plays
// it back, creates an empty prompt and reads its *22 code, and refuses a
// file that is not WAV with the store's reason.
func TestPortalPrompts(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser(acme, "/")
	tok := b.login(acme, acmePW)
	mainG := e.guids["main_entry@"+acme]
	upload := func(file []byte) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", tok)
		fw, _ := mw.CreateFormFile("file", "hello.wav")
		fw.Write(file)
		mw.Close()
		req, _ := http.NewRequest("POST", e.url+"/prompts/"+mainG+"/upload", &buf)
		req.Host = acme
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if code, body := upload(tone(24000)); code != http.StatusSeeOther {
		t.Fatalf("upload: %d %s", code, body)
	}
	if code, body := upload([]byte("not a wav file at all")); code != http.StatusBadRequest || !strings.Contains(body, "WAV") {
		t.Errorf("not a WAV: %d", code)
	}
	if code, _, _ := b.do("POST", "prompts/"+mainG+"/new", url.Values{"csrf": {tok}, "description": {"Night greeting"}}); code != http.StatusSeeOther {
		t.Fatalf("new prompt: %d", code)
	}
	_, page, _ := b.do("GET", "prompts?account=main_entry@"+acme, nil)
	src := regexp.MustCompile(`src="(/prompts/[^"]+/audio)"`).FindAllStringSubmatch(page, -1)
	code := regexp.MustCompile(`<td>Night greeting</td><td class="code">(\*22\d+)</td>`).FindStringSubmatch(page)
	if len(src) != 2 || code == nil { // the document's two prompts of main_entry, with audio, and ours; the new one has none
		t.Fatalf("prompts page: %d audio, code %v:\n%s", len(src), code, page)
	}
	var found bool
	for _, s := range src {
		st, audio, h := b.do("GET", strings.TrimPrefix(s[1], "/"), nil)
		if st == 200 && h.Get("Content-Type") == "audio/wav" && len(audio) > 44 {
			found = true
		}
	}
	if !found {
		t.Error("no prompt audio served")
	}
	if c, _, _ := b.do("GET", "prompts?account="+e.guids[boss], nil); c != http.StatusNotFound {
		t.Errorf("another company's prompts: %d", c)
	}
}

// TestPortalCallFlows shows the document's blast group and after-hours
// menu, adds a destination to the blast group and removes it, and
// refuses 111 as a fork with the API's reason.
func TestPortalCallFlows(t *testing.T) {
	e := newEnv(t, storetest.Open(t, adminPW))
	b := e.browser(acme, "/")
	tok := b.login(acme, acmePW)
	_, page, _ := b.do("GET", "huntgroups", nil)
	for _, want := range []string{"<h3>blast@" + acme + "</h3>", "6499290088", "<h3>main_entry@" + acme + "</h3>", "1=#3,5=#2,T=#3"} {
		if !strings.Contains(page, want) {
			t.Errorf("call flows lack %q", want)
		}
	}
	blast := e.record("/api-sys/account/blast@" + acme)["guid"].(string)
	if code, body, _ := b.do("POST", "huntgroups/"+blast+"/fork", url.Values{"csrf": {tok}, "destination": {"111"}}); code != http.StatusBadRequest {
		t.Errorf("fork to 111: %d %s", code, body)
	}
	if code, _, _ := b.do("POST", "huntgroups/"+blast+"/fork", url.Values{"csrf": {tok}, "destination": {"6421555111"}}); code != http.StatusSeeOther {
		t.Fatalf("add fork: %d", code)
	}
	var forks []map[string]any
	json.Unmarshal([]byte(e.api("GET", "/api-sys/account/blast@"+acme+"/fork", "")), &forks)
	var g string
	for _, f := range forks {
		if f["destination"] == "6421555111" {
			g = f["guid"].(string)
		}
	}
	if g == "" {
		t.Fatalf("the API has no new fork: %v", forks)
	}
	if code, _, _ := b.do("POST", "huntgroups/"+blast+"/unfork/"+g, url.Values{"csrf": {tok}}); code != http.StatusSeeOther {
		t.Errorf("remove fork: %d", code)
	}
	if f := e.api("GET", "/api-sys/account/blast@"+acme+"/fork", ""); strings.Contains(f, "6421555111") {
		t.Errorf("fork not removed: %s", f)
	}
}
