package sipserver

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sippPath finds sipp (Debian package sip-tester). It is mandatory in CI,
// where .ci/run installs it; elsewhere a missing sipp skips the test.
func sippPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sipp missing: .ci/run installs the Debian package sip-tester")
		}
		t.Skip("sipp not installed (apt-get install sip-tester)")
	}
	return p
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// runSipp runs sipp for at most limit and returns its output; the test
// fails when sipp reports a failed call.
func runSipp(t *testing.T, limit time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	dir := t.TempDir()
	cmd := execSipp(ctx, t, dir, append(args, "-nostdin", "-trace_err", "-error_file", dir+"/errors.log")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		errs, _ := os.ReadFile(dir + "/errors.log")
		t.Fatalf("sipp %s: %v\n%s\n%s", strings.Join(args, " "), err, tail(string(out), 3000), errs)
	}
	return string(out)
}

// execSipp prepares sipp to run in dir; it is killed when ctx ends.
func execSipp(ctx context.Context, t *testing.T, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, sippPath(t), args...)
	cmd.Dir = dir
	cmd.WaitDelay = time.Second
	return cmd
}

// scenario is the absolute path of a sipp scenario in testdata/sipp (sipp
// runs in a temporary directory, where it leaves its logs).
func scenario(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestSippCall: sipp, as reception's phone, calls extension 608 through
// xc5 with digest authentication (407, MD5); a Go test phone registered as
// sales rings and answers; sipp ACKs and hangs up with BYE.
func TestSippCall(t *testing.T) {
	sippPath(t)
	// sipp answers only the first challenge, and only MD5.
	x := newPBX(t, Config{DigestAlgorithms: []string{"MD5", "SHA-256"}})
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) {
		in.ring()
		in.answer()
	})
	runSipp(t, 30*time.Second, x.srv.addr, "-sf", scenario(t, "uac_auth.xml"), "-s", "608",
		"-au", reception, "-ap", password, "-key", "from_user", "reception", "-key", "from_domain", "acmebrick.x.co.nz",
		"-d", "200", "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)),
		"-m", "1", "-timeout", "20s", "-timeout_error", "-recv_timeout", "10s")
	for _, e := range []string{"INVITE", "ACK", "BYE"} {
		if !sal.saw(e, 2*time.Second) {
			t.Errorf("sales never saw %s", e)
		}
	}
	x.idle()
	if c := x.cdrs(reception, 1)[0]; c["outcome"] != "answered" || c["answered_by"] != sales || c["to"] != "608" {
		t.Errorf("reception's CDR %v", c)
	}
	x.cdrs(sales, 1)
}
