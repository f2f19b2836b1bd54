package api_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"xc5/api"
	"xc5/resource"
)

// upload sends a small prompt upload to a new GUID of account and
// returns the response.
func (e *tenancy) upload(t *testing.T, user, pass, account string) *response {
	t.Helper()
	req, _ := http.NewRequest("PUT", e.URL+"/api-sys/account/"+account+"/prompt/"+resource.NewGUID(), bytes.NewReader(ulawWAV(8000)))
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "audio/wav")
	return e.send(req)
}

// TestTenantUploadsBounded: one company trickling an upload once held a
// turn for as long as the server's read timeout, and with MaxUploads such
// uploads blocked every company's. Now a partition holds one turn at most
// (its next upload is 503 at once, while others upload), and a body
// arriving slower than UploadMinRate is cut after UploadGrace with 400.
func TestTenantUploadsBounded(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/accountresource", `{"name":"api_access","value":"user"}`)
		// The company's credentials checked once more after that write, so
		// that the trickling upload's login is a cache hit and it takes
		// its turn at once, even on a loaded machine.
		e.mustAs(acmeUser, acmePass, http.StatusOK, "GET", "/api-sys/account/a1@acme.test", "")
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		auth := base64.StdEncoding.EncodeToString([]byte(acmeUser + ":" + acmePass))
		fmt.Fprintf(conn, "PUT /api-sys/account/a1@acme.test/prompt/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"+
			"Content-Type: audio/wav\r\nContent-Length: 100000\r\n\r\n", resource.NewGUID(), auth)
		conn.Write(ulawWAV(8000)[:100])

		// The trickling upload takes its turn once its login is checked
		// (argon2, slow on a loaded machine): until then the partition's
		// own uploads go through; the first 503 says the turn is held,
		// and the trickle was given it no later than that.
		busy := false
		var held time.Time
		for i := 0; i < 200 && !busy; i++ {
			time.Sleep(50 * time.Millisecond)
			r := e.upload(t, acmeUser, acmePass, "a2@acme.test")
			busy = r.Status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") != ""
			held = time.Now()
			if !busy && r.Status != http.StatusCreated {
				t.Fatalf("%v\nwant 503 or 201", r)
			}
		}
		if !busy {
			t.Errorf("the partition uploaded beside its trickling upload: it holds more than %d turn", api.PartitionUploads)
		}
		// A sub-partition the company grants itself shares its turn.
		if r := e.upload(t, "a2@acme.test", acmePass, "a2@acme.test"); r.Status != http.StatusServiceUnavailable {
			t.Errorf("%v\na sub-partition of acme uploads beside acme's trickling upload: want 503", r)
		}
		if r := e.upload(t, "admin", adminPassword, "b1@beta.test"); r.Status != http.StatusCreated {
			t.Errorf("%v\nanother company's upload while acme trickles: want 201", r)
		}
		conn.SetReadDeadline(time.Now().Add(api.UploadGrace + 5*time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("the trickling upload got no answer %v after its turn: %v", time.Since(held), err)
		}
		var body bytes.Buffer
		body.ReadFrom(res.Body)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body.String(), "too slowly") {
			t.Errorf("the trickling upload: %d %s, want 400 saying it is too slow", res.StatusCode, body.String())
		}
		if d := time.Since(held); d > api.UploadGrace+2*time.Second {
			t.Errorf("the trickling upload was cut after %v, want about %v", d, api.UploadGrace)
		}
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/prompt/"+resource.NewGUID(), "") // JSON, no audio
	})
}

// TestTenantPromptLimit: prompt_limit, set by the provider, bounds the
// prompts a partition creates (uploads and empty prompts alike); like
// number_limit, a limit set above the partition is refused without its
// value (item: the refusal once told the limit of the provider's account).
func TestTenantPromptLimit(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		e.as("PUT", "/api-sys/account/acme.test/accountresource", `{"name":"prompt_limit","value":"9"}`).wantError(t, http.StatusForbidden, "prompt_limit")
		e.must(http.StatusCreated, "PUT", "/api-sys/account/acme.test/accountresource", `{"name":"prompt_limit","value":"2"}`)
		if r := e.upload(t, acmeUser, acmePass, "a1@acme.test"); r.Status != http.StatusCreated {
			t.Fatalf("%v\nwant 201", r)
		}
		e.mustAs(acmeUser, acmePass, http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/prompt/", `{"description":"two"}`)
		e.upload(t, acmeUser, acmePass, "a1@acme.test").wantError(t, http.StatusForbidden, "prompt_limit", "2")
		e.as("PUT", "/api-sys/account/a2@acme.test/prompt/", `{"description":"three"}`).wantError(t, http.StatusForbidden, "prompt_limit")
		e.must(http.StatusCreated, "PUT", "/api-sys/account/a2@acme.test/prompt/", `{"description":"the provider is not bound"}`)

		// Limits above the partition are refused without their value.
		e.must(http.StatusOK, "PUT", "/api-sys/account/acme.test/accountresource/prompt_limit", `{"value":"50"}`)
		e.must(http.StatusCreated, "PUT", "/api-sys/account/provider.test/accountresource", `{"name":"prompt_limit","value":"3"}`)
		e.must(http.StatusCreated, "PUT", "/api-sys/account/provider.test/accountresource", `{"name":"number_limit","value":"2"}`)
		e.must(http.StatusCreated, "PUT", "/api-sys/account/acme.test/accountresource", `{"name":"number_limit","value":"50"}`)
		for _, r := range []*response{
			e.as("PUT", "/api-sys/account/a2@acme.test/prompt/", `{"description":"four"}`),
			e.as("PUT", "/api-sys/account/a2@acme.test/number/"+e.g["6493330001"], ""),
		} {
			r.wantError(t, http.StatusForbidden, "limit")
			if msg := string(r.Body); strings.ContainsAny(msg, "0123456789") || strings.Contains(msg, "provider.test") {
				t.Errorf("%v\nthe refusal tells the limit above the partition", r)
			}
		}
	})
}
