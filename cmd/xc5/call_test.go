package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"xc5/api"
	"xc5/routing"
	"xc5/storetest"
)

func TestCallCommand(t *testing.T) {
	clearEnv(t)
	store := storetest.Open(t, testPassword)
	view := routing.NewView(routing.Defaults{Location: time.UTC, CountryCode: "64"})
	view.Follow(store)
	if err := view.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(store, api.Options{View: view, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	t.Setenv("XC5_URL", srv.URL)
	t.Setenv("XC5_PASSWORD", testPassword)
	for _, req := range [][]string{
		{"PUT", "/api-sys/account/", `{"username":"call.test"}`},
		{"PUT", "/api-sys/account/call.test/child", `{"username":"a@call.test"}`},
		{"PUT", "/api-sys/account/a@call.test/number", `{"number":"6491234567"}`},
		{"PUT", "/api-sys/account/a@call.test/route", `{"order":200,"destination":"email:a@call.test"}`},
	} {
		if _, stderr, err := runAPI(t, "", req...); err != nil {
			t.Fatalf("%v: %v %s", req, err, stderr)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := callCommand(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("xc5 call %v: %v %s", args, err, errb.String())
		}
		return out.String()
	}
	got := run("--registered", "a@call.test", "6421000000", "6491234567")
	if !strings.Contains(got, "=> answered by=a@call.test") || !strings.Contains(got, "deliver") {
		t.Errorf("readable trace:\n%s", got)
	}
	got = run("--registered", "a@call.test", "--noanswer", "*", "6421000000", "6491234567")
	if !strings.Contains(got, "=> email to=a@call.test") || !strings.Contains(got, "[order 200]") {
		t.Errorf("unanswered trace:\n%s", got)
	}
	var steps []map[string]any
	if err := json.Unmarshal([]byte(run("--json", "6421000000", "6491234567")), &steps); err != nil {
		t.Fatalf("--json: %v", err)
	}
	if last := steps[len(steps)-1]; last["outcome"] != "email" {
		t.Errorf("--json outcome %v, want email (no phones registered)", last)
	}
	var out, errb bytes.Buffer
	if err := callCommand(context.Background(), []string{"--at", "yesterday", "6421000000", "6491234567"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("bad --at: err %v, want a 400", err)
	}
}
