package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestAdvertisedFlag: --sip-advertise and --sip-tls-advertise take
// HOST[:PORT]; a bad value is refused with the reason.
func TestAdvertisedFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		port int
		bad  bool
	}{
		{"", "", 0, false},
		{"203.0.113.7", "203.0.113.7", 0, false},
		{"203.0.113.7:5080", "203.0.113.7", 5080, false},
		{"pbx.example.net:5061", "pbx.example.net", 5061, false},
		{"2001:db8::7", "2001:db8::7", 0, false},
		{"[2001:db8::7]", "2001:db8::7", 0, false},
		{"[2001:db8::7]:5080", "2001:db8::7", 5080, false},
		{"pbx.example.net:sip", "", 0, true},
		{"pbx.example.net:70000", "", 0, true},
		{":5060", "", 0, true},
		{"sip:pbx.example.net", "", 0, true},
	} {
		host, port, err := advertised(tc.in)
		if (err != nil) != tc.bad || host != tc.host || port != tc.port {
			t.Errorf("advertised(%q) = %q, %d, %v", tc.in, host, port, err)
		}
	}
}

// TestServeRefusesBadAdvertise: xc5 serve stops at once, saying which
// flag is wrong.
func TestServeRefusesBadAdvertise(t *testing.T) {
	clearEnv(t)
	for _, flag := range []string{"--sip-advertise", "--sip-tls-advertise"} {
		var stderr bytes.Buffer
		err := serve(context.Background(), []string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0",
			flag, "pbx.example.net:99999"}, &stderr)
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s pbx.example.net:99999: %v", flag, err)
		}
	}
}

// TestServeRefusesBadSourceBudget: a throttle that would drop everything
// (rate 0) or a burst of 0 or less is refused, naming the flag, rather
// than taken silently as the default.
func TestServeRefusesBadSourceBudget(t *testing.T) {
	clearEnv(t)
	for _, args := range [][]string{{"--sip-source-rate", "0"}, {"--sip-source-burst", "0"}, {"--sip-source-burst", "-5"}} {
		var stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // a server that started stops
		defer cancel()
		err := serve(ctx, append([]string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0"}, args...), &stderr)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// TestUnsyncedRefreshesFlag: --sip-unsynced-refreshes is SQLite's (it is
// refused beside --db before anything starts) and is read by parseServe.
func TestUnsyncedRefreshesFlag(t *testing.T) {
	clearEnv(t)
	var stderr bytes.Buffer
	_, err := parseServe([]string{"--sip-unsynced-refreshes", "--db", "postgres://127.0.0.1:1/none"}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--sip-unsynced-refreshes is for SQLite") {
		t.Errorf("with --db: %v", err)
	}
	cfg, err := parseServe([]string{"--sip-unsynced-refreshes"}, &stderr)
	if err != nil || !cfg.sipUnsynced {
		t.Errorf("alone: %v, set %v", err, cfg != nil && cfg.sipUnsynced)
	}
	if cfg, err := parseServe(nil, &stderr); err != nil || cfg.sipUnsynced {
		t.Errorf("default: %v, want off", err)
	}
}
