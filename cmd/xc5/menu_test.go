package main_test

// Full-stack tests of the document's stage four (the after-hours front
// door menu), of a prompt recorded by phone, and of the system prompts.

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"xc5/internal/audiotest"
	"xc5/internal/rtptest"
	"xc5/internal/smtptest"
	"xc5/media/wav"
)

const (
	menuPrompt     = "ECB3B334-5F1D-4CD7-8446-675FC7476E31" // the document's After Hours Menu
	greetingPrompt = "4319C6B9-EAEF-4583-97B3-1CC13514EED4" // the document's MyMessageGreeting
	menuTone       = 1500                                   // what the uploaded menu prompt plays
	greetingTone   = 500                                    // what the uploaded greeting plays
	salesPassword  = "Sales-pw-1234"
)

// raw sends body with a content type and returns the answer.
func (s *server) raw(t *testing.T, method, path, ctype, accept string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	req.SetBasicAuth("admin", mediaAdmin)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// uploadTone uploads a second of freq as the prompt guid of account: as
// audio/wav, or as the document's "form data of file" when form is set.
func (s *server) uploadTone(t *testing.T, account, guid string, freq float64, form ...bool) {
	t.Helper()
	audio, ctype := wav.Encode(audiotest.Tone(freq, 8000, 8000, 0.5), 8000), "audio/wav"
	if len(form) > 0 && form[0] {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		f, _ := w.CreateFormFile("file", "greeting.wav")
		f.Write(audio)
		w.Close()
		audio, ctype = b.Bytes(), w.FormDataContentType()
	}
	if code, b := s.raw(t, "PUT", "/api-sys/account/"+account+"/prompt/"+guid, ctype, "", audio); code != 200 && code != 201 {
		t.Fatalf("upload prompt %s: %d %s", guid, code, b)
	}
}

// record is the first record of an API answer.
func record(t *testing.T, body string) map[string]any {
	t.Helper()
	var recs []map[string]any
	if err := json.Unmarshal([]byte(body), &recs); err != nil || len(recs) == 0 {
		t.Fatalf("API answer %q: %v", body, err)
	}
	return recs[0]
}

// afterHours is the document's stage four on the hunt group's DDI, with a
// time definition that holds at any time (the document's holidays set,
// or every day all day), and prompts the test can recognise: a 1500 Hz
// menu and a 500 Hz greeting. The blast group rings sales' phone.
func afterHours(t *testing.T, s *server) {
	t.Helper()
	const co, main = "acmebrick.x.co.nz", "main_entry@acmebrick.x.co.nz"
	s.provision(t, carrierTrunk,
		[2]string{"/api-sys/account/", `{"username":"` + co + `"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"sales@acmebrick.x.co.nz","password":"` + salesPassword + `"}`},
		[2]string{"/api-sys/account/sales@acmebrick.x.co.nz/number", `{"number":"6499290089"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"` + main + `"}`},
		[2]string{"/api-sys/account/" + main + "/number", `{"number":"6499290087"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"blast@acmebrick.x.co.nz"}`},
		[2]string{"/api-sys/account/blast@acmebrick.x.co.nz/fork", `{"destination":"6499290089"}`})
	s.uploadTone(t, main, menuPrompt, menuTone)
	s.uploadTone(t, main, greetingPrompt, greetingTone, true)
	s.provision(t,
		[2]string{"/api-sys/account/" + main + "/route", `{"order":-8,"menu_level":1,"time_definition":"nz_holidays,Mon-Sun 00:00-24:00","digit_map":"1=#3,5=#2,T=#3","promptguid":"` + menuPrompt + `"}`},
		[2]string{"/api-sys/account/" + main + "/route", `{"order":-8,"menu_level":2,"username":"blast@acmebrick.x.co.nz"}`},
		[2]string{"/api-sys/account/" + main + "/route", `{"order":-8,"menu_level":3,"destination":"email:dave@dcom.co.nz","promptguid":"` + greetingPrompt + `"}`})
}

// TestAfterHoursMenu: 5 reaches the blast group (sales' phone answers and
// hears the caller); 1, no key at all, and a wrong key then 1 reach the
// greeting and voicemail, mailed to the document's address.
func TestAfterHoursMenu(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, "127.0.0.1:0", nil, false)
	s := mediaServe(t, t.TempDir(), sink.Addr)
	afterHours(t, s)
	sip := s.sipAddr(t)
	t.Run("5 reaches the blast group", func(t *testing.T) {
		t.Parallel()
		sales := newUA(t, sip, "sales@acmebrick.x.co.nz", salesPassword)
		sales.register()
		car := carrier(t, sip, "6421000005")
		to := car.dial("6499290087").answered()
		if _, ok := hears(car.ep, 0, menuTone, 10*time.Second); !ok {
			t.Fatalf("the caller does not hear the menu prompt\nxc5 log:\n%s", s.stderr)
		}
		car.ep.SendDigits(to, "5", rtptest.TelephoneEvent)
		toSales := sales.answer(10 * time.Second)
		stop := car.ep.StartTone(to, rtptest.PCMU, 1000)
		defer stop()
		if _, ok := hears(sales.ep, 0, 1000, 5*time.Second); !ok {
			t.Error("sales does not hear the caller's 1 kHz")
		}
		stopS := sales.ep.StartTone(toSales, rtptest.PCMU, 600)
		defer stopS()
		if _, ok := hears(car.ep, 0, 600, 5*time.Second); !ok {
			t.Error("the caller does not hear sales' 600 Hz")
		}
	})
	for _, tc := range []struct {
		name, from, keys string
		info             bool // keys by SIP INFO rather than RFC 4733
	}{
		{"1 reaches voicemail", "6421000001", "1", false},
		{"no key reaches voicemail", "6421000002", "", false},
		{"a wrong key replays the menu", "6421000003", "91", false},
		{"1 by SIP INFO reaches voicemail", "6421000004", "1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			menuToVoicemail(t, s, tc.from, tc.keys, tc.info)
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				for _, m := range sink.Messages() {
					if bytes.Contains(m.Data, []byte(tc.from)) {
						checkVoicemail(t, decodeMail(t, m), "dave@dcom.co.nz", tc.from, 1000, 2*time.Second)
						return
					}
				}
			}
			t.Fatalf("no mail from %s", tc.from)
		})
	}
}

// menuToVoicemail calls the front door from number, presses keys (by
// RFC 4733, or SIP INFO) one by one, each once the menu prompt is heard
// (again), or none (waiting out
// the menu's three offers), and leaves 2 s of 1 kHz after the greeting.
func menuToVoicemail(t *testing.T, s *server, from, keys string, info bool) {
	t.Helper()
	car := carrier(t, s.sipAddr(t), from)
	c := car.dial("6499290087")
	to := c.answered()
	offers, at := 0, 0
	for _, k := range keys {
		n, ok := hears(car.ep, at, menuTone, 15*time.Second)
		if !ok {
			t.Fatalf("the menu prompt was not heard (offer %d)\nxc5 log:\n%s", offers+1, s.stderr)
		}
		offers++
		if info {
			c.info(t, k)
		} else {
			car.ep.SendDigits(to, string(k), rtptest.TelephoneEvent)
		}
		at = n + 4000 // what was under way when the key went
	}
	if keys == "" {
		for offers < 3 {
			n, ok := hears(car.ep, at, menuTone, 15*time.Second)
			if !ok {
				t.Fatalf("menu offer %d not heard", offers+1)
			}
			offers, at = offers+1, n+8000 // past the 1 s prompt
		}
	}
	if _, ok := hears(car.ep, at, greetingTone, 30*time.Second); !ok {
		t.Fatalf("the greeting was not heard after the menu\nxc5 log:\n%s", s.stderr)
	}
	if _, ok := hears(car.ep, at, 1000, 10*time.Second); !ok {
		t.Fatal("no beep after the greeting")
	}
	time.Sleep(400 * time.Millisecond)
	car.ep.SendTone(to, rtptest.PCMU, 1000, 2*time.Second)
	car.ep.SendDigits(to, "#", rtptest.TelephoneEvent)
	if !car.hungUp(15 * time.Second) {
		t.Fatal("xc5 did not hang up after the message")
	}
}

// TestPromptRecordedByPhone: reception dials the prompt's group_access
// code, records 2 s of 600 Hz, hears it back and keeps it with 1; the
// prompt is about 2 s long and the next caller to the menu hears 600 Hz.
// A phone of another company dialing the code gets 404.
func TestPromptRecordedByPhone(t *testing.T) {
	t.Parallel()
	s := mediaServe(t, t.TempDir(), "")
	const co, main = "acmebrick.x.co.nz", "main_entry@acmebrick.x.co.nz"
	s.provision(t, carrierTrunk,
		[2]string{"/api-sys/account/", `{"username":"` + co + `"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"reception@acmebrick.x.co.nz","password":"Recep-pw-1234"}`},
		[2]string{"/api-sys/account/" + co + "/child", `{"username":"` + main + `"}`},
		[2]string{"/api-sys/account/" + main + "/number", `{"number":"6499290087"}`},
		[2]string{"/api-sys/account/", `{"username":"other.test"}`},
		[2]string{"/api-sys/account/other.test/child", `{"username":"bob@other.test","password":"Bob-pw-12345"}`})
	p := record(t, s.provision(t, [2]string{"/api-sys/account/" + main + "/prompt/", `{"description":"After Hours Menu"}`})[0])
	guid, _ := p["guid"].(string)
	if p["group_access"] != "*2200101" {
		t.Errorf("the company's first prompt has group_access %v, want *2200101", p["group_access"])
	}
	s.provision(t, [2]string{"/api-sys/account/" + main + "/route", `{"order":-8,"menu_level":1,"digit_map":"1=#3,5=#2,T=#3","promptguid":"` + guid + `"}`})
	sip := s.sipAddr(t)

	if res := newUA(t, sip, "bob@other.test", "Bob-pw-12345").dial("*2200101").result(15 * time.Second); res.StatusCode != 404 {
		t.Errorf("another company's phone dialing *2200101: %d %s, want 404", res.StatusCode, res.Reason)
	}

	rec := newUA(t, sip, "reception@acmebrick.x.co.nz", "Recep-pw-1234")
	to := rec.dial("*2200101").answered()
	at, ok := hears(rec.ep, 0, 1000, 30*time.Second)
	if !ok {
		t.Fatalf("no beep after the instructions\nxc5 log:\n%s", s.stderr)
	}
	if !heardSound(rec.ep, 0) || at < 8000 {
		t.Errorf("no instructions before the beep (%d samples)", at)
	}
	time.Sleep(400 * time.Millisecond)
	rec.ep.SendTone(to, rtptest.PCMU, 600, 2*time.Second)
	rec.ep.SendDigits(to, "#", rtptest.TelephoneEvent)
	if _, ok := hears(rec.ep, at+8000, 600, 10*time.Second); !ok {
		t.Fatal("the recording is not played back")
	}
	rec.ep.SendDigits(to, "1", rtptest.TelephoneEvent)
	if !rec.hungUp(20 * time.Second) {
		t.Fatal("xc5 did not hang up after the prompt was kept")
	}

	code, body := s.do(t, "GET", "/api-sys/account/"+main+"/prompt/"+guid, "admin", mediaAdmin, "")
	if code != 200 {
		t.Fatalf("GET prompt: %d %s", code, body)
	}
	if l, _ := record(t, body)["prompt_length"].(float64); l < 1700 || l > 3000 {
		t.Errorf("prompt_length %v, want about 2000", l)
	}
	car := carrier(t, sip, caller)
	car.dial("6499290087").answered()
	if _, ok := hears(car.ep, 0, 600, 10*time.Second); !ok {
		t.Error("the next caller to the menu does not hear the recorded 600 Hz prompt")
	}

	// The document's early rule: 14 for * on phones that cannot dial *22.
	s.provision(t, [2]string{"/api-sys/account/" + co + "/callrule", `{"order":-2,"prefix_raw":"14","destination":"*%","early_rule":true}`})
	again := newUA(t, sip, "reception@acmebrick.x.co.nz", "Recep-pw-1234")
	again.dial("142200101").answered()
	if _, ok := hears(again.ep, 0, 1000, 30*time.Second); !ok {
		t.Error("142200101 does not reach the prompt recording (no instructions and beep)")
	}
}

// TestSystemPromptsLoaded: the shipped prompts are in _prompt.shared with
// audio after the first start, and a fresh company's first prompt still
// gets *2200101.
func TestSystemPromptsLoaded(t *testing.T) {
	t.Parallel()
	s := mediaServe(t, t.TempDir(), "")
	const pin = "/api-sys/account/_prompt.shared/prompt/F4FE3E59-0439-4849-9444-85BEFE8694B3"
	code, body := s.do(t, "GET", pin, "admin", mediaAdmin, "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", pin, code, body)
	}
	if l, _ := record(t, body)["prompt_length"].(float64); l < 300 {
		t.Errorf("enter-PIN prompt_length %v", l)
	}
	code, audio := s.raw(t, "GET", pin, "", "audio/wav", nil)
	a, err := wav.Parse(audio)
	if code != 200 || err != nil {
		t.Fatalf("GET %s audio: %d %v", pin, code, err)
	}
	if audiotest.Energy(a.To8kHz()) < 1e-4 {
		t.Error("the enter-PIN prompt is silent")
	}
	s.provision(t, [2]string{"/api-sys/account/", `{"username":"fresh.test"}`})
	p := record(t, s.provision(t, [2]string{"/api-sys/account/fresh.test/prompt/", `{"description":"first"}`})[0])
	if p["group_access"] != "*2200101" {
		t.Errorf("a fresh company's first prompt has group_access %v, want *2200101", p["group_access"])
	}
	if !strings.HasPrefix(body, "[") {
		t.Errorf("answer is not an array: %s", body)
	}
}

// TestKeyCutsPromptShort: a key pressed while a long menu prompt plays
// stops it: what the caller receives after the key (and a moment for
// packets already on their way) holds no more of the prompt's tone.
func TestKeyCutsPromptShort(t *testing.T) {
	t.Parallel()
	s := mediaServe(t, t.TempDir(), "")
	const ivr = "ivr@acmebrick.x.co.nz"
	s.provision(t, carrierTrunk,
		[2]string{"/api-sys/account/", `{"username":"acmebrick.x.co.nz"}`},
		[2]string{"/api-sys/account/acmebrick.x.co.nz/child", `{"username":"` + ivr + `"}`},
		[2]string{"/api-sys/account/" + ivr + "/number", `{"number":"6499290082"}`})
	long := wav.Encode(audiotest.Tone(menuTone, 8000, 8*8000, 0.5), 8000)
	if code, b := s.raw(t, "PUT", "/api-sys/account/"+ivr+"/prompt/"+menuPrompt, "audio/wav", "", long); code != 200 && code != 201 {
		t.Fatalf("upload: %d %s", code, b)
	}
	s.provision(t,
		[2]string{"/api-sys/account/" + ivr + "/route", `{"order":-8,"menu_level":1,"digit_map":"1=#2","promptguid":"` + menuPrompt + `"}`},
		[2]string{"/api-sys/account/" + ivr + "/route", `{"order":-8,"menu_level":2,"destination":"email:ivr@acmebrick.x.co.nz"}`})
	car := carrier(t, s.sipAddr(t), caller)
	to := car.dial("6499290082").answered()
	n, ok := hears(car.ep, 0, menuTone, 10*time.Second)
	if !ok {
		t.Fatal("the menu prompt is not heard")
	}
	car.ep.SendDigits(to, "1", rtptest.TelephoneEvent)
	if _, ok := hears(car.ep, n, 1000, 20*time.Second); !ok { // the voicemail beep
		t.Fatal("no voicemail beep after the key")
	}
	got := car.ep.Received()
	after := got[min(n+4000, len(got)):] // from half a second after the key
	for i := 0; i+1600 <= len(after); i += 1600 {
		if audiotest.Has(after[i:i+1600], 8000, menuTone) {
			t.Fatalf("the prompt went on %v after the key", time.Duration(i+4000)*time.Second/8000)
		}
	}
}
