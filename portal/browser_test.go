package portal_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"xc5/storetest"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// One Chromium serves every browser test of the binary: each test opens
// its own browser context (its own cookies) in it.
var (
	chromeOnce   sync.Once
	chromeCtx    context.Context
	chromeErr    error
	chromeCancel = func() {}
)

func TestMain(m *testing.M) {
	code := m.Run()
	chromeCancel()
	os.Exit(code)
}

// chrome returns a fresh browser context of the shared headless
// Chromium, which resolves the test companies' domains to 127.0.0.1.
// Without chromium the test is skipped, unless CI is set: then it fails.
func chrome(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is required in CI (Debian package chromium)")
		}
		t.Skip("no chromium: install the Debian package chromium")
	}
	chromeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "xc5-portal-chromium-")
		if err != nil {
			chromeErr = err
			return
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(dir),
			chromedp.Flag("host-resolver-rules", "MAP "+acme+" 127.0.0.1, MAP "+other+" 127.0.0.1"))
		ctx, cancelCtx := chromedp.NewContext(alloc)
		chromeCtx = ctx
		chromeCancel = func() { cancelCtx(); cancelAlloc(); os.RemoveAll(dir) }
		chromeErr = chromedp.Do(ctx) // starts the browser
	})
	if chromeErr != nil {
		t.Fatalf("start chromium: %v", chromeErr)
	}
	ctx, cancel := chromedp.NewContext(chromeCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancel2 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel2)
	return ctx
}

// unlabelled lists a page's form controls without a label.
const unlabelled = `[...document.querySelectorAll('input:not([type=hidden]),select,textarea,button,audio')]
	.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.tagName=='BUTTON' && e.textContent.trim()))
	.map(e => e.outerHTML)`

// checkLabels fails the test when a control of the page has no label.
func checkLabels(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](unlabelled))
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("%s: controls without a label: %v", page, bad)
	}
}

// step runs browser actions, failing the test with what it was doing.
func step(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// read runs one browser action that reads a value.
func read[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBrowserScenario is the scenario in Chromium: log in at the
// company's host with the keyboard, create a user, add it to the hunt
// group, ask the trace what a call to the main number does at 21:00 on a
// Saturday (the menu), play a voicemail (the audio element loads and has
// a duration), download the CSV of calls, log out; and a user of another
// company gets nothing of this one.
func TestBrowserScenario(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t, storetest.Open(t, adminPW))
	e.leaveVoicemail(reception, "6421555000")
	e.addCDR(reception, map[string]any{"direction": "in", "from": "6421555000", "to": reception, "started": "2026-12-01T01:00:00Z", "outcome": "answered", "duration": int64(42)})
	site := fmt.Sprintf("http://%s:%s/", acme, e.port)
	id := func(s string) chromedp.ID { return chromedp.ID(s) }

	// Log in with the keyboard only: the username field has the focus.
	step(t, ctx, "open the portal", chromedp.Navigate(site), chromedp.WaitVisible(id("username")))
	if url := read(t, ctx, chromedp.Location()); url != site+"login" {
		t.Fatalf("not sent to the login: %s", url)
	}
	checkLabels(t, ctx, "login")
	step(t, ctx, "keyboard login", chromedp.KeyEvent(acme+"\t"+acmePW+"\r"))
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`))); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		active, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML + ' ' + location.href`))
		t.Fatalf("keyboard login: %v\n%s\n%s", err, active, html)
	}
	if who := read(t, ctx, chromedp.Text(chromedp.CSS(".who"))); who != acme {
		t.Fatalf("logged in as %q", who)
	}
	if ok := read(t, ctx, chromedp.Evaluate[bool](`typeof htmx === 'object' && !!htmx.version`)); !ok {
		t.Error("htmx did not load under the CSP")
	}
	checkLabels(t, ctx, "overview")

	// Create a user.
	step(t, ctx, "create a user",
		chromedp.Navigate(site+"users"),
		chromedp.WaitVisible(id("new-username")),
		chromedp.SendKeys(id("new-username"), "erin"),
		chromedp.SendKeys(id("new-ext"), "612"),
		chromedp.Click(chromedp.CSS(`form[action="/users"] button`)),
		chromedp.WaitVisible(id("new-password")))
	if pw := read(t, ctx, chromedp.Text(id("new-password"))); len(pw) < 8 {
		t.Fatalf("password shown: %q", pw)
	}
	checkLabels(t, ctx, "users")

	// Add it to the hunt group.
	main := e.guids["main_entry@"+acme]
	step(t, ctx, "add to the hunt group",
		chromedp.Navigate(site+"huntgroups"),
		chromedp.WaitVisible(id("add-"+main)),
		chromedp.SendKeys(id("add-"+main), "erin@"+acme),
		chromedp.Click(chromedp.CSS(`form[action="/huntgroups/`+main+`/add"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Remove erin@`+acme+` from main_entry@`+acme+`"]`)))
	checkLabels(t, ctx, "hunt groups")
	if routes := e.api("GET", "/api-sys/account/main_entry@"+acme+"/route", ""); !strings.Contains(routes, `"username":"erin@`+acme+`"`) {
		t.Errorf("the API does not show erin in the hunt group: %s", routes)
	}

	// Give erin 17 ring seconds with the keyboard: select the field's
	// value, type, Enter submits its form; the API reads 17.
	erin := e.member("erin@" + acme)
	rs := id("rs-" + erin["guid"].(string))
	step(t, ctx, "ring seconds by keyboard",
		chromedp.Focus(rs),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent("17\r"),
		chromedp.WaitVisible(chromedp.CSS(`#rs-`+erin["guid"].(string)+`[value="17"]`)))
	if got := e.member("erin@" + acme)["ring_seconds"]; got != float64(17) {
		t.Errorf("the API has erin's ring_seconds %v, want 17", got)
	}
	step(t, ctx, "a user's voicemail and recording", chromedp.Navigate(site+"users/"+e.guids[reception]), chromedp.WaitVisible(id("vm-email")))
	checkLabels(t, ctx, "user")

	// The trace at 21:00 on Saturday 5 December 2026 (htmx swaps the answer in).
	step(t, ctx, "trace",
		chromedp.Navigate(site+"trace"),
		chromedp.WaitVisible(id("t-number")),
		chromedp.SendKeys(id("t-number"), "6499290087"),
		chromedp.SetValue(id("t-at"), "2026-12-05T21:00"),
		chromedp.Click(chromedp.CSS(`form[action="/trace"] button`)),
		chromedp.WaitVisible(id("trace-path")))
	if path := read(t, ctx, chromedp.Text(id("trace-path"))); !strings.Contains(path, "menu") {
		t.Fatalf("the trace shows no menu:\n%s", path)
	}
	if outcome := read(t, ctx, chromedp.Text(id("trace-outcome"))); outcome == "" {
		t.Error("the trace has no outcome")
	}
	if url := read(t, ctx, chromedp.Location()); !strings.Contains(url, "trace?number=6499290087") {
		t.Errorf("htmx did not push the trace's URL: %s", url)
	}
	checkLabels(t, ctx, "trace")

	// Play a voicemail: the audio element loads it and knows its length.
	step(t, ctx, "voicemail", chromedp.Navigate(site+"voicemail?account="+reception), chromedp.WaitVisible(chromedp.CSS("audio")))
	dur := read(t, ctx, chromedp.Poll[float64](`(() => { const a = document.querySelector('audio'); return a.readyState >= 1 && a.duration > 0 ? a.duration : 0 })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if dur < 1.9 || dur > 2.1 {
		t.Fatalf("voicemail audio lasts %v s, want 2", dur)
	}
	played, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('audio').play().then(() => true)`,
		chromedp.EvalAwaitPromise, func(p *runtime.EvaluateParams) { t := true; p.UserGesture = &t }))
	if err != nil || !played {
		t.Errorf("play: %v", err)
	}
	checkLabels(t, ctx, "voicemail")

	// Download the CSV of calls.
	dl := t.TempDir()
	step(t, ctx, "calls", chromedp.Navigate(site+"calls?account="+reception), chromedp.WaitVisible(id("csv")))
	_, err = chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID, DownloadPath: dl})
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "download", chromedp.Click(id("csv")))
	var csv []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && csv == nil; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dl, "calls.csv")); err == nil && len(b) > 0 {
			csv = b
		}
	}
	if !strings.HasPrefix(string(csv), "started,") || !strings.Contains(string(csv), "6421555000") {
		t.Errorf("downloaded CSV: %q", csv)
	}
	checkLabels(t, ctx, "calls")

	// Log out: back at the login, and the pages need it again.
	step(t, ctx, "log out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(id("username")),
		chromedp.Navigate(site+"users"),
		chromedp.WaitVisible(id("username")))
	if url := read(t, ctx, chromedp.Location()); url != site+"login" {
		t.Errorf("after logout at %s", url)
	}

	// Another company's user: refused at this company's host, and its
	// own session is no good here.
	octx := chrome(t)
	step(t, octx, "boss at acmebrick",
		chromedp.Navigate(site+"login"),
		chromedp.WaitVisible(id("username")),
		chromedp.SendKeys(id("username"), boss),
		chromedp.SendKeys(id("password"), bossPW+"\r"),
		chromedp.WaitVisible(chromedp.CSS(".error")))
	if msg := read(t, octx, chromedp.Text(chromedp.CSS(".error"))); !strings.Contains(msg, "invalid username or password") {
		t.Errorf("boss at acmebrick: %q", msg)
	}
	step(t, octx, "boss at othercorp",
		chromedp.Navigate(fmt.Sprintf("http://%s:%s/login", other, e.port)),
		chromedp.WaitVisible(id("username")),
		chromedp.SendKeys(id("username"), boss),
		chromedp.SendKeys(id("password"), bossPW+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`)),
		chromedp.Navigate(site+"voicemail?account="+reception),
		chromedp.WaitVisible(id("username")))
	if url := read(t, octx, chromedp.Location()); url != site+"login" {
		t.Errorf("boss's session at acmebrick: at %s", url)
	}
}
