package main

import (
	"bytes"
	"context"
	"net"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestCDRRetentionFlag: a negative --cdr-retention is refused before
// anything starts, saying what the flag takes.
func TestCDRRetentionFlag(t *testing.T) {
	var stderr bytes.Buffer
	err := serve(context.Background(), []string{"--data", t.TempDir(), "--cdr-retention", "-1"}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--cdr-retention") {
		t.Fatalf("serve --cdr-retention -1: %v, want an error naming the flag", err)
	}
}

// TestAuditRetentionFlag: a negative --audit-retention is refused
// before anything starts, as --cdr-retention is.
func TestAuditRetentionFlag(t *testing.T) {
	var stderr bytes.Buffer
	err := serve(context.Background(), []string{"--data", t.TempDir(), "--audit-retention", "-1"}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--audit-retention") {
		t.Fatalf("serve --audit-retention -1: %v, want an error naming the flag", err)
	}
}

// TestNumberingFlags: --country-code and --area-code are checked like the
// account fields: digits, no trunk prefix 0 (an area code 09 would make
// 1234567 the number 64091234567), a country code present.
func TestNumberingFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--country-code", "064"}, "country code \"064\" must not start with 0"},
		{[]string{"--country-code", ""}, "country code must not be empty"},
		{[]string{"--country-code", "6a"}, "country code \"6a\" must be"},
		{[]string{"--area-code", "09"}, "area code \"09\" must not start with 0"},
	} {
		var stderr bytes.Buffer
		// Should the flags pass, the server stops by itself, on ports of
		// its own.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := serve(ctx, append([]string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--sip", ""}, tt.args...), &stderr)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve %v: %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
}

// A serve that fails after taking its HTTP port (here the SIP port is
// taken) gives the HTTP port back: it stayed bound until the process ended
// or a garbage collection happened to finalise the listener, which the
// test rules out.
func TestServeFailureFreesHTTPPort(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	var stderr bytes.Buffer
	err = serve(context.Background(), []string{"--data", t.TempDir(), "--http", addr, "--sip", busy.LocalAddr().String()}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "listen udp") {
		t.Fatalf("serve with a taken SIP port: %v, want a listen error", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("HTTP port still taken after serve failed: %v", err)
	}
	ln.Close()
}
