package main_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the xc5 binary built once for the process tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xc5-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "xc5")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	// The media tests mostly wait for real-time audio: run four at once
	// rather than GOMAXPROCS, unless -parallel says otherwise.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "4")
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is an `xc5 serve` process.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs xc5 serve on dir and waits until it answers.
func start(t *testing.T, dir string, env ...string) *server {
	t.Helper()
	return startServe(t, []string{"--data", dir, "--sip", "127.0.0.1:0"}, env...)
}

// startServe runs xc5 serve with args (and a free --http port) and waits
// until it answers.
func startServe(t testing.TB, args []string, env ...string) *server {
	t.Helper()
	addr := freePort(t)
	s := &server{url: "http://" + addr, stderr: &syncBuffer{}}
	s.cmd = exec.Command(binary, append([]string{"serve", "--http", addr}, args...)...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url + "/api-sys/")
		if err == nil {
			resp.Body.Close()
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("xc5 serve did not start; stderr:\n%s", s.stderr)
	return nil
}

func (s *server) do(t *testing.T, method, path, user, pass, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var passwordLine = regexp.MustCompile(`created the system account admin with password (\S+)`)

func TestFirstStartGeneratesAdminPasswordOnce(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	m := passwordLine.FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no generated password on stderr:\n%s", s.stderr)
	}
	if len(m[1]) < 16 {
		t.Errorf("generated password %q is too short", m[1])
	}
	if code, body := s.do(t, "GET", "/api-sys/account/admin", "admin", m[1], ""); code != 200 {
		t.Fatalf("admin login with generated password: %d %s", code, body)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("SIGTERM: exit %v, want a clean exit", err)
	}

	// A restart neither prints nor changes the password, even with the
	// variable set now.
	s2 := start(t, dir, "XC5_ADMIN_PASSWORD=another-one")
	if passwordLine.MatchString(s2.stderr.String()) {
		t.Errorf("restart printed a password again:\n%s", s2.stderr)
	}
	if code, _ := s2.do(t, "GET", "/api-sys/", "admin", m[1], ""); code != 200 {
		t.Errorf("old password after restart: %d, want 200", code)
	}
	if code, _ := s2.do(t, "GET", "/api-sys/", "admin", "another-one", ""); code != 401 {
		t.Errorf("XC5_ADMIN_PASSWORD on restart changed the password: %d, want 401", code)
	}
}

func TestAdminPasswordFromEnvironmentAndRequestLog(t *testing.T) {
	s := start(t, t.TempDir(), "XC5_ADMIN_PASSWORD=pa55-word-env")
	if passwordLine.MatchString(s.stderr.String()) {
		t.Errorf("password printed although it came from the environment")
	}
	if code, body := s.do(t, "GET", "/api-sys/account/admin", "admin", "pa55-word-env", ""); code != 200 {
		t.Fatalf("GET with env password: %d %s", code, body)
	}
	// One structured line per request: method, path, status, duration, account.
	var line string
	for i := 0; i < 50 && line == ""; i++ {
		for _, l := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(l, "path=/api-sys/account/admin") {
				line = l
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"method=GET", "status=200", "duration=", "account=admin"} {
		if !strings.Contains(line, want) {
			t.Errorf("request log line %q lacks %q", line, want)
		}
	}
}

// TestKillNineLosesNoAcknowledgedWrite creates numbers from many clients,
// kills the server with SIGKILL in the middle, restarts it and checks that
// every write that was answered 201 is there.
func TestKillNineLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dir := t.TempDir()
	const pw = "kill-nine-test"
	s := start(t, dir, "XC5_ADMIN_PASSWORD="+pw)
	if code, body := s.do(t, "PUT", "/api-sys/account/", "admin", pw, `{"username":"durable.test"}`); code != 201 {
		t.Fatalf("create account: %d %s", code, body)
	}
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				number := fmt.Sprintf("64%02d%06d", w+10, i)
				req, _ := http.NewRequest("PUT", s.url+"/api-sys/account/durable.test/number", strings.NewReader(`{"number":"`+number+`"}`))
				req.SetBasicAuth("admin", pw)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					mu.Lock()
					acked = append(acked, number)
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d writes acknowledged before the kill; the test proves nothing", len(acked))
	}

	s2 := start(t, dir)
	code, body := s2.do(t, "GET", "/api-sys/account/durable.test/number", "admin", pw, "")
	if code != 200 {
		t.Fatalf("list after restart: %d %s", code, body)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("list after restart: %v", err)
	}
	have := map[string]bool{}
	for _, n := range got {
		have[n["number"].(string)] = true
	}
	missing := 0
	for _, n := range acked {
		if !have[n] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged numbers lost after SIGKILL", missing, len(acked))
	}
	t.Logf("%d acknowledged writes, %d stored, none lost", len(acked), len(got))
}
