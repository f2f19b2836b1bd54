package routing_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"xc5/api"
	"xc5/media/wav"
	"xc5/routing"
	"xc5/storetest"
)

// The provisioning document, whose walkthrough builds the company
// acmebrick.x.co.nz through the API; the API's tests keep the copy.
const documentFile = "../api/testdata/xc5-json-system-provisioning.txt"

const (
	reception = "reception@acmebrick.x.co.nz"
	sales     = "sales@acmebrick.x.co.nz"
	phones    = reception + "," + sales
	// The after-hours menu prompt's GUID as the document writes it; the
	// store gives the real one when the document creates the prompt.
	documentAfterHours = "ECB3B334-5F1D-4CD7-8446-675FC7476E31"
)

// acmebrick replays every write of the document's walkthrough, in order,
// through the API into a real store (storetest.Open), and returns the view that
// follows the store with the after-hours prompt's GUID and group_access
// code (made afresh on every run).
func acmebrick(t *testing.T) (v *routing.View, afterHours, code string) {
	t.Helper()
	ctx := context.Background()
	store := storetest.Open(t, "pw")
	loc, _ := time.LoadLocation("Pacific/Auckland")
	v = routing.NewView(routing.Defaults{Location: loc, CountryCode: "64"})
	v.Follow(store)
	if err := v.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(store, api.Options{View: v, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	put := func(method, path, contentType string, body []byte) string {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/", bytes.NewReader(body))
		req.URL.Path, req.URL.RawQuery, _ = strings.Cut(path, "?")
		req.SetBasicAuth("admin", "pw")
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s %s: %d %s", method, path, body, resp.StatusCode, out)
		}
		return string(out)
	}
	upload := func(path string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "greeting.wav")
		fw.Write(tone())
		mw.Close()
		put("PUT", path, mw.FormDataContentType(), buf.Bytes())
	}
	// What the walkthrough assumes exists: the free pool number ending in
	// 88 that it allocates, and the shared PIN prompt.
	put("PUT", "/api-sys/account/_unassigned.pool/number/D5A51C5C-F762-4E82-8B3E-7CB15662D40C", "application/json", []byte(`{"number":"6491231288"}`))
	upload("/api-sys/account/_prompt.shared/prompt/F4FE3E59-0439-4849-9444-85BEFE8694B3")

	doc, err := os.ReadFile(documentFile)
	if err != nil {
		t.Fatal(err)
	}
	exec := regexp.MustCompile(`exec API '([A-Z]+) ([^']+)'(?:\s*,\s*'([^']*)')?`)
	guid := regexp.MustCompile(`"guid":\s*"([^"]+)"`)
	groupAccess := regexp.MustCompile(`"group_access":\s*"([^"]+)"`)
	for _, m := range exec.FindAllStringSubmatch(string(doc), -1) {
		method, path, body := m[1], m[2], strings.TrimSpace(m[3])
		switch {
		case method == "GET":
		case body == "..form data of file...":
			upload(path)
		default:
			if afterHours != "" {
				body = strings.ReplaceAll(body, documentAfterHours, afterHours)
			}
			out := put(method, path, "application/json", []byte(body))
			if strings.Contains(body, "After Hours Menu") {
				afterHours, code = guid.FindStringSubmatch(out)[1], groupAccess.FindStringSubmatch(out)[1]
			}
		}
	}
	if afterHours == "" {
		t.Fatal("the document never created the after-hours prompt")
	}
	return v, afterHours, code
}

// tone is a short 8 kHz WAV, a stand-in for the document's prompts.
func tone() []byte {
	s := make([]int16, 8000)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return wav.Encode(s, 8000)
}

// TestAcmebrickTraces decides the calls of the document's four stages on
// the company the document builds, and checks each trace whole against
// testdata/TestAcmebrickTraces.golden.
func TestAcmebrickTraces(t *testing.T) {
	v, afterHours, code := acmebrick(t)
	const (
		// Times in Pacific/Auckland (NZDT, +13:00).
		tuesdayInHours  = "2026-12-01T10:00:00+13:00"
		mondayEvening   = "2026-11-30T18:00:00+13:00"
		fridayMorning   = "2026-12-04T10:00:00+13:00"
		boxingDayMonday = "2026-12-28T10:00:00+13:00" // observed on Monday 28 December
	)
	tests := []struct {
		name, from, dial, at   string
		registered, noAnswer   string
		busy, dtmf, wantResult string
	}{
		// Stage one.
		{name: "reception dials sales by extension", from: reception, dial: "608", registered: phones, wantResult: "answered"},
		{name: "sales dials reception by extension", from: sales, dial: "600", registered: phones, wantResult: "answered"},
		{name: "external call to reception's DDI is recorded and answered", from: "6421555000", dial: "6491231234", registered: phones, wantResult: "answered"},
		{name: "unanswered after 10 s it goes to voicemail email", from: "6421555000", dial: "6491231234", registered: phones, noAnswer: "*", wantResult: "email"},
		// Stage two (in hours, so the after-hours menu is skipped).
		{name: "hunt group: reception then sales then voicemail", from: "6421555000", dial: "6499290087", registered: phones, noAnswer: "*", at: tuesdayInHours, wantResult: "email"},
		{name: "hunt group: reception answers", from: "6421555000", dial: "6499290087", registered: phones, at: tuesdayInHours, wantResult: "answered"},
		{name: "hunt group: sales answers when reception does not", from: "6421555000", dial: "6499290087", registered: phones, noAnswer: reception, at: tuesdayInHours, wantResult: "answered"},
		{name: "hunt group: a busy member is passed over", from: "6421555000", dial: "6499290087", registered: phones, busy: reception, at: tuesdayInHours, wantResult: "answered"},
		// Stage three.
		{name: "reception may not call international", from: reception, dial: "0061298765432", wantResult: "dropped"},
		{name: "reception may not call mobiles", from: reception, dial: "0211234567", wantResult: "dropped"},
		{name: "sales calls international", from: sales, dial: "0061298765432", wantResult: "external"},
		{name: "sales calls a mobile", from: sales, dial: "0211234567", wantResult: "external"},
		{name: "reception dials sales' DDI nationally and stays on-net", from: reception, dial: "099290089", registered: phones, wantResult: "answered"},
		// Stage four: the after-hours menu.
		{name: "after hours, 5 reaches the blast group", from: "6421555000", dial: "6499290087", registered: phones, at: fridayMorning, dtmf: "5", wantResult: "answered"},
		{name: "after hours, 1 reaches email with the greeting", from: "6421555000", dial: "6499290087", registered: phones, at: mondayEvening, dtmf: "1", wantResult: "email"},
		{name: "after hours, no key reaches email with the greeting", from: "6421555000", dial: "6499290087", registered: phones, at: fridayMorning, wantResult: "email"},
		{name: "a public holiday is after hours", from: "6421555000", dial: "6499290087", registered: phones, at: boxingDayMonday, dtmf: "1", wantResult: "email"},
		{name: "in hours the menu is skipped", from: "6421555000", dial: "6499290087", registered: phones, at: tuesdayInHours, dtmf: "5", wantResult: "answered"},
		{name: "reception records the after-hours prompt with 14", from: reception, dial: "14" + code[1:], wantResult: "record-prompt"},
		{name: "the conference PIN admits", from: "6421555000", dial: "6499290085", dtmf: "5666", wantResult: "conference"},
		{name: "a wrong conference PIN does not", from: "6421555000", dial: "6499290085", dtmf: "1234", wantResult: "unanswered"},
		{name: "an external caller cannot transit", from: "6421555000", dial: "6421999888", wantResult: "dropped"},
		{name: "an unknown extension", from: reception, dial: "609", wantResult: "dropped"},
	}
	// The prompt and its code are new on every run: the golden file
	// names them.
	stable := strings.NewReplacer(afterHours, "<after-hours prompt>", code[1:], "<after-hours code>")
	g := golden(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.at == "" {
				tt.at = tuesdayInHours // none of these calls meets a time rule
			}
			at, err := time.Parse(time.RFC3339, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			c := routing.Call{From: tt.from, Dialed: tt.dial, At: at}
			registered := routing.ParseSet(tt.registered)
			sim := &routing.Simulation{Registered: registered.Has, NoAnswer: routing.ParseSet(tt.noAnswer), Busy: routing.ParseSet(tt.busy)}
			if tt.dtmf != "" {
				sim.DTMF = strings.Split(tt.dtmf, ",")
			}
			tr := v.Decide(c, sim)
			if tr.Outcome.Outcome != tt.wantResult {
				t.Errorf("outcome %s, want %s", tr.Outcome.Outcome, tt.wantResult)
			}
			g.check(t, tt.name, stable.Replace(render(c, tr)))
		})
	}
}
