package main_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tool finds a program the test drives. In CI (.ci/run installs the
// Debian package) it is mandatory; elsewhere a missing one skips the test.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: .ci/run installs the Debian package %s", name, pkg)
		}
		t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	}
	return p
}

// freeUDP returns a loopback UDP address that was free a moment ago.
func freeUDP(t *testing.T) string {
	t.Helper()
	// SIP listens on both UDP and TCP at the port: take one the kernel
	// hands out for TCP, and keep it only if UDP is free there too (a
	// UDP-only pick once collided with a TCP connection's port).
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		c, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err == nil {
			c.Close()
			return addr
		}
	}
	t.Fatal("no port free on both UDP and TCP")
	return ""
}

// phoneServer runs xc5 serve with its default SIP flags and provisions
// alice@ph.test with password pw.
func phoneServer(t *testing.T, pw string) *server {
	t.Helper()
	const admin = "phones-admin-pw"
	s := start(t, t.TempDir(), "XC5_ADMIN_PASSWORD="+admin)
	for _, r := range [][2]string{
		{"/api-sys/account/", `{"username":"ph.test"}`},
		{"/api-sys/account/ph.test/child", `{"username":"alice@ph.test","password":"` + pw + `"}`},
	} {
		if code, body := s.do(t, "PUT", r[0], "admin", admin, r[1]); code != 201 {
			t.Fatalf("PUT %s: %d %s", r[0], code, body)
		}
	}
	return s
}

// waitBinding waits until alice@ph.test's bindings, as the API shows
// them, contain every string of want; phone is the phone's output, shown
// when it never happens.
func (s *server) waitBinding(t *testing.T, phone fmt.Stringer, want ...string) {
	t.Helper()
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, body = s.do(t, "GET", "/api-sys/account/alice@ph.test/reg", "admin", "phones-admin-pw", "")
		if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(body, w) }) {
			return
		}
	}
	t.Fatalf("no binding with %q; reg = %s\nphone:\n%s\nxc5 log:\n%s", want, body, phone, s.stderr)
}

// TestDefaultDigestSipp: sipp 3.6 answers only the first challenge, and
// only with MD5; it registers with a default `xc5 serve`.
func TestDefaultDigestSipp(t *testing.T) {
	sipp := tool(t, "sipp", "sip-tester")
	s := phoneServer(t, "Alice-pw-123")
	dir := t.TempDir()
	users := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(users, []byte("SEQUENTIAL\nalice;ph.test;Alice-pw-123;alice@ph.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, _ := filepath.Abs("../../sipserver/testdata/sipp/register_auth.xml")
	_, port, _ := net.SplitHostPort(freeUDP(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, s.sipAddr(t), "-sf", sc, "-inf", users, "-au", "[field3]", "-ap", "[field2]",
		"-i", "127.0.0.1", "-p", port, "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error", "-recv_timeout", "5s")
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		t.Fatalf("sipp: %v\n%s\nxc5 log:\n%s", err, out, s.stderr)
	}
	s.waitBinding(t, out, "127.0.0.1:"+port)
}

// TestDefaultDigestBaresip: baresip 1.0 gives up on a REGISTER when any
// challenge names an algorithm it lacks (SHA-256), even after an MD5 one;
// it registers with a default `xc5 serve`. It runs headless: a config
// directory with only the account module, no audio.
func TestDefaultDigestBaresip(t *testing.T) {
	baresip := tool(t, "baresip", "baresip")
	s := phoneServer(t, "Alice-pw-123")
	dir := t.TempDir()
	// Port 0: baresip picks a free one (a port chosen here could be taken
	// by the time it binds).
	conf := "poll_method poll\nsip_listen 127.0.0.1:0\nmodule_path /usr/lib/baresip/modules\nmodule account.so\n"
	account := `<sip:alice@ph.test;transport=udp>;auth_pass=Alice-pw-123;outbound="sip:` + s.sipAddr(t) + `";regint=600` + "\n"
	for name, body := range map[string]string{"config": conf, "accounts": account} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	cmd := exec.CommandContext(ctx, baresip, "-f", dir, "-t", "20")
	cmd.Stdout, cmd.Stderr, cmd.Dir = out, out, dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	// Checked while baresip runs: on exit it unregisters.
	s.waitBinding(t, out, `"sip:alice-`, "@127.0.0.1:", "baresip v1.0")
}
