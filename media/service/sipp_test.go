package service

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"xc5/media"
)

const dtmfPcap = "/usr/share/sip-tester/dtmf_2833_1.pcap"

// TestSippDTMFPcap plays sipp's own RFC 4733 capture of the key 1 (its
// first packet has duration 0, which diago v0.42.1's reader drops) into a
// menu; the BYE must carry key=1.
func TestSippDTMFPcap(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err == nil {
		_, err = os.Stat(dtmfPcap)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("sipp or its pcap missing in CI: %v", err)
		}
		t.Skipf("sipp or %s missing (apt-get install -y sip-tester)", dtmfPcap)
	}
	s := startService(t, newMemStore(), Timeouts{FirstDigit: 10 * time.Second})
	dir := t.TempDir()
	inj := filepath.Join(dir, "args.csv")
	args := media.Request{Keys: []string{"1", "2"}}.Encode()
	if err := os.WriteFile(inj, []byte("SEQUENTIAL\n"+args+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, s.Addr(), "-sf", "testdata/menu_dtmf_pcap.xml",
		"-inf", inj, "-m", "1", "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(freeUDPPort(t)&^1), "-timeout", "30s", "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(dir, "err.log"), "-nostdin")
	cmd.Dir, _ = os.Getwd()
	out, err := cmd.CombinedOutput()
	if err != nil {
		errLog, _ := os.ReadFile(filepath.Join(dir, "err.log"))
		t.Fatalf("sipp: %v\n%s\n%s", err, out, errLog)
	}
	waitLegs(t, s)
}
