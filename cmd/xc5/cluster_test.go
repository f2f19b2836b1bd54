package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5/storetest"
)

// startNode runs xc5 serve on a PostgreSQL database.
func startNode(t testing.TB, db string, env ...string) *server {
	t.Helper()
	return startServe(t, []string{"--db", db, "--sip", "127.0.0.1:0"}, env...)
}

var sipAddrRE = regexp.MustCompile(`xc5 sip serving"? addr=(\S+)`)

func (s *server) sipAddr(t *testing.T) string {
	t.Helper()
	for i := 0; i < 100; i++ {
		if m := sipAddrRE.FindStringSubmatch(s.stderr.String()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no SIP address in the log:\n%s", s.stderr)
	return ""
}

// TestTwoNodesOnePostgres runs two xc5 serve processes on one PostgreSQL
// database: writes through one are visible through the other at once, a
// phone registered through one is called through the other, uniqueness
// holds across them, and killing one under load loses no acknowledged
// write while the other keeps serving.
func TestTwoNodesOnePostgres(t *testing.T) {
	// In CI's postgres pass only (XC5_TEST_STORE=postgres): it ran in both passes.
	db := storetest.PostgresOnly(t)
	const pw = "cluster-admin-pw"
	var a, b *server
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = startNode(t, db, "XC5_ADMIN_PASSWORD="+pw) }()
	go func() { defer wg.Done(); b = startNode(t, db, "XC5_ADMIN_PASSWORD="+pw) }()
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}

	// A write through A is readable through B at once.
	if code, body := a.do(t, "PUT", "/api-sys/account/", "admin", pw, `{"username":"cl.test","password":"cl-phone-pw"}`); code != 201 {
		t.Fatalf("create through A: %d %s", code, body)
	}
	if code, body := b.do(t, "GET", "/api-sys/account/cl.test", "admin", pw, ""); code != 200 {
		t.Fatalf("read through B: %d %s", code, body)
	}
	// For three seconds, by when both nodes answer account reads from
	// their views (the read fence, docs/cluster.md), every write through
	// one node is what the other reads next, and a password changed
	// through one is refused by the other at once.
	for i, start := 0, time.Now(); time.Since(start) < 3*time.Second; i++ {
		w, r := a, b
		if i%2 == 1 {
			w, r = b, a
		}
		if code, body := w.do(t, "PATCH", "/api-sys/account/cl.test", "admin", pw, fmt.Sprintf(`{"concurrent_limit":%d}`, i+1)); code != 200 {
			t.Fatalf("patch %d: %d %s", i, code, body)
		}
		if code, body := r.do(t, "GET", "/api-sys/account/cl.test", "admin", pw, ""); code != 200 || !strings.Contains(body, fmt.Sprintf(`"concurrent_limit":%d,`, i+1)) {
			t.Fatalf("read %d through the other node: %d %s", i, code, body)
		}
		if i >= 5 {
			continue // failed logins are rate-limited (10 a minute per user)
		}
		old, new := fmt.Sprintf("cl-api-pw-%d", i), fmt.Sprintf("cl-api-pw-%d", i+1)
		if i == 0 {
			if code, body := w.do(t, "PATCH", "/api-sys/account/cl.test", "admin", pw, `{"password":"`+old+`"}`); code != 200 {
				t.Fatalf("password: %d %s", code, body)
			}
			if code, body := w.do(t, "PUT", "/api-sys/account/cl.test/accountresource", "admin", pw, `{"name":"api_access","value":"user"}`); code != 201 {
				t.Fatalf("api_access: %d %s", code, body)
			}
		}
		if code, _ := r.do(t, "GET", "/api-sys/account/cl.test", "cl.test", old, ""); code != 200 {
			t.Fatalf("round %d: the current password is refused: %d", i, code)
		}
		if code, body := w.do(t, "PATCH", "/api-sys/account/cl.test", "admin", pw, `{"password":"`+new+`"}`); code != 200 {
			t.Fatalf("password change %d: %d %s", i, code, body)
		}
		if code, _ := r.do(t, "GET", "/api-sys/account/cl.test", "cl.test", old, ""); code != 401 {
			t.Fatalf("round %d: the other node still accepts the old password: %d", i, code)
		}
	}
	if code, body := a.do(t, "PATCH", "/api-sys/account/cl.test", "admin", pw, `{"password":"cl-phone-pw"}`); code != 200 {
		t.Fatalf("password back: %d %s", code, body)
	}
	if code, body := a.do(t, "PUT", "/api-sys/account/cl.test/number", "admin", pw, `{"number":"6495550001"}`); code != 201 {
		t.Fatalf("number through A: %d %s", code, body)
	}
	// ...and reaches B's routing view within a second.
	trace := func(s *server, q string) map[string]any {
		_, body := s.do(t, "GET", "/api-sys/calltrace?"+q, "admin", pw, "")
		var steps []map[string]any
		json.Unmarshal([]byte(body), &steps)
		if len(steps) == 0 {
			return nil
		}
		return steps[len(steps)-1]
	}
	deadline := time.Now().Add(time.Second)
	for {
		if o := trace(b, "from=6421000000&dial=6495550001&registered=cl.test"); o["by"] == "cl.test" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's routing view did not see A's number within a second: %v", trace(b, "from=6421000000&dial=6495550001&registered=cl.test"))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A phone registered through A is called through B.
	register(t, a.sipAddr(t), "cl.test", "cl-phone-pw")
	if o := trace(b, "from=6421000000&dial=6495550001"); o["by"] != "cl.test" {
		t.Errorf("B does not see the registration made through A: %v", o)
	}

	// Concurrent PUTs of one number through both nodes: one 2xx, one 409.
	for i := 0; i < 10; i++ {
		number := fmt.Sprintf(`{"number":"64955520%02d"}`, i)
		codes := make([]int, 2)
		var start sync.WaitGroup
		start.Add(1)
		var done sync.WaitGroup
		for j, s := range []*server{a, b} {
			done.Add(1)
			go func(j int, s *server) {
				defer done.Done()
				start.Wait()
				codes[j], _ = s.do(t, "PUT", "/api-sys/account/cl.test/number", "admin", pw, number)
			}(j, s)
		}
		start.Done()
		done.Wait()
		if !(codes[0] == 201 && codes[1] == 409 || codes[0] == 409 && codes[1] == 201) {
			t.Errorf("round %d: statuses %v, want one 201 and one 409", i, codes)
		}
	}

	// Kill A under load: every acknowledged write survives, B keeps serving.
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var writers sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 8; w++ {
		writers.Add(1)
		go func(w int) {
			defer writers.Done()
			node := []*server{a, b}[w%2]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n := fmt.Sprintf("6496%02d%04d", w, i)
				req, _ := http.NewRequest("PUT", node.url+"/api-sys/account/cl.test/number", strings.NewReader(`{"number":"`+n+`"}`))
				req.SetBasicAuth("admin", pw)
				resp, err := client.Do(req)
				if err != nil {
					continue // A is gone; keep going against it until stopped
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					mu.Lock()
					acked = append(acked, n)
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(time.Second)
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.cmd.Wait()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	writers.Wait()
	code, body := b.do(t, "GET", "/api-sys/account/cl.test/number", "admin", pw, "")
	if code != 200 {
		t.Fatalf("B after A died: %d %s", code, body)
	}
	var nums []map[string]any
	json.Unmarshal([]byte(body), &nums)
	have := map[string]bool{}
	for _, n := range nums {
		have[n["number"].(string)] = true
	}
	lost := 0
	for _, n := range acked {
		if !have[n] {
			lost++
		}
	}
	if lost > 0 || len(acked) < 20 {
		t.Fatalf("%d of %d acknowledged writes lost (or too few writes)", lost, len(acked))
	}
	if code, _ := b.do(t, "PUT", "/api-sys/account/cl.test/number", "admin", pw, `{"number":"6495559999"}`); code != 201 {
		t.Errorf("B does not take writes after A died: %d", code)
	}
}

// register makes a real SIP REGISTER with digest authentication.
func register(t *testing.T, addr, user, password string) {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("xc5-cluster-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	var uri sip.Uri
	if err := sip.ParseUri("sip:"+user+"@"+addr, &uri); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.REGISTER, uri)
	req.AppendHeader(sip.NewHeader("Contact", "<sip:"+user+"@127.0.0.1:5999>"))
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatalf("REGISTER: %v", err)
	}
	if res.StatusCode == 401 {
		res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
		if err != nil {
			t.Fatalf("REGISTER with digest: %v", err)
		}
	}
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d %s", res.StatusCode, res.Reason)
	}
}

// BenchmarkCrossNodeVisibility measures how long a write acknowledged by
// node A takes to reach node B's routing decisions: it adds a number
// through A, then asks B's call trace until the number routes, and reports
// the 50th and 99th percentiles.
func BenchmarkCrossNodeVisibility(b *testing.B) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		b.Skip(storetest.EnvPostgres + " not set")
	}
	db := storetest.PostgresURL(b)
	const pw = "bench-admin-pw"
	a := startNode(b, db, "XC5_ADMIN_PASSWORD="+pw)
	n2 := startNode(b, db, "XC5_ADMIN_PASSWORD="+pw)
	doB := func(s *server, method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
		req.SetBasicAuth("admin", pw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if code, body := doB(a, "PUT", "/api-sys/account/", `{"username":"vis.test"}`); code != 201 {
		b.Fatalf("%d %s", code, body)
	}
	// Steady state: both nodes have joined the read fence (about 1 s after
	// start), so B has applied a write before A acknowledges it.
	time.Sleep(2 * time.Second)
	var lat, put []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := fmt.Sprintf("6497%06d", i)
		sent := time.Now()
		if code, body := doB(a, "PUT", "/api-sys/account/vis.test/number", `{"number":"`+n+`"}`); code != 201 {
			b.Fatalf("%d %s", code, body)
		}
		acked := time.Now()
		put = append(put, acked.Sub(sent))
		for {
			_, body := doB(n2, "GET", "/api-sys/calltrace?from=6421000000&registered=*&dial="+n, "")
			if strings.Contains(body, `"by":"vis.test"`) {
				break
			}
			if time.Since(acked) > 5*time.Second {
				b.Fatalf("number %s never reached node B", n)
			}
		}
		lat = append(lat, time.Since(acked))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	// What the read fence costs the writer: the PUT waits for node B.
	sort.Slice(put, func(i, j int) bool { return put[i] < put[j] })
	b.ReportMetric(float64(put[len(put)/2].Microseconds()), "put-p50-µs")
	b.ReportMetric(float64(put[len(put)*99/100].Microseconds()), "put-p99-µs")
}
