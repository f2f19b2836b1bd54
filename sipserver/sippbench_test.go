package sipserver

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/routing"
	"xc5/sqlstore"
)

// TestSippLoad measures xc5's SIP service with sipp on loopback: complete
// digest registrations, then call set-up through the routing engine
// between two sipp endpoints. It runs only when XC5_SIPP_LOAD is set, since
// it loads the machine for a minute or more:
//
//	XC5_SIPP_LOAD=1 go test ./sipserver -run TestSippLoad -v -timeout 30m
//
// Knobs (environment, defaults in brackets): XC5_LOAD_ACCOUNTS [50000]
// accounts in the store; XC5_LOAD_REG_RATE [5000] registrations per second
// offered, XC5_LOAD_REGS [50000] registrations; XC5_LOAD_CALL_RATE [500]
// calls per second offered, XC5_LOAD_CALLS [10000] calls, XC5_LOAD_HOLD_MS
// [1000] how long each call lasts, XC5_LOAD_CALL_LIMIT [10000] calls open
// at once; XC5_LOAD_SKIP_CALLS=1 measures registrations only (what
// bench/kamailio/run.sh compares with Kamailio); XC5_LOAD_CPUPROFILE=DIR
// writes a CPU profile of each phase (register.pprof, calls.pprof) there,
// and allocation profiles before and after it (NAME_allocs_before.pprof,
// NAME_allocs.pprof: compare with pprof -base); XC5_LOAD_TIMING=1 reports
// the latencies of the registrar's store calls;
// XC5_LOAD_REGISTER_WAIT_MS is Config.MaxRegisterWait and
// XC5_LOAD_QUEUE_WAIT_MS Config.MaxQueueWait (negative: off; unset:
// Config's defaults, DefaultMaxRegisterWait and DefaultMaxQueueWait),
// XC5_LOAD_MAX_PENDING Config.MaxPendingRegisters (unset: its default);
// XC5_LOAD_TRACE=1 prints, four times a second of the REGISTER phase, what
// the overload rules see (loadtrace_test.go).
// Each phase logs the load average and the test process's CPU time per
// successful registration or call (sipp runs in its own process, so this
// is the server's cost, which varies less than the rate on a shared
// machine), and a line "XC5_RESULT phase=… per_s=… failed=… cpu_us=…" for
// scripts. Each sipp run is bounded by -m, -timeout and a context
// deadline, and is killed if it overstays.
func TestSippLoad(t *testing.T) {
	if os.Getenv("XC5_SIPP_LOAD") == "" {
		t.Skip("set XC5_SIPP_LOAD=1 to run the sipp load measurements")
	}
	sippPath(t)
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	accounts := env("XC5_LOAD_ACCOUNTS", 50000)
	ctx := context.Background()
	store := newStore(t)
	start := time.Now()
	if err := store.Seed(ctx, accounts, accounts, "seed-pw"); err != nil {
		t.Fatal(err)
	}
	view := routing.NewView(routing.Defaults{CountryCode: "64"})
	view.Follow(store)
	if err := view.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d accounts with a DDI each in %v", accounts, time.Since(start).Round(time.Millisecond))
	var reg Store = store
	var timed *timedStore
	if os.Getenv("XC5_LOAD_TIMING") != "" {
		timed = &timedStore{Store: store}
		reg = timed
	}
	// Config's defaults unless set (startServer would turn a zero off).
	wait, queue := DefaultMaxRegisterWait, DefaultMaxQueueWait
	if ms, err := strconv.Atoi(os.Getenv("XC5_LOAD_REGISTER_WAIT_MS")); err == nil {
		wait = time.Duration(ms) * time.Millisecond
	}
	if ms, err := strconv.Atoi(os.Getenv("XC5_LOAD_QUEUE_WAIT_MS")); err == nil {
		queue = time.Duration(ms) * time.Millisecond
	}
	pending, _ := strconv.Atoi(os.Getenv("XC5_LOAD_MAX_PENDING"))
	srv := startServer(t, Config{Now: time.Now, AuthFailures: -1, SourceRate: -1, MaxRegisterWait: wait, MaxQueueWait: queue, MaxPendingRegisters: pending, DigestAlgorithms: []string{"MD5"}}, reg)
	if err := srv.EnableCalls(view); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// 1. REGISTER with digest, every user account in turn.
	users := filepath.Join(dir, "users.csv")
	f, _ := os.Create(users)
	w := csv.NewWriter(f)
	w.Comma = ';'
	f.WriteString("SEQUENTIAL\n")
	for i := 0; i < accounts; i++ {
		if i%10 != 0 {
			w.Write([]string{fmt.Sprintf("u%d", i%10), fmt.Sprintf("seed-%d.test", i/10), "seed-pw", fmt.Sprintf("u%d@seed-%d.test", i%10, i/10)})
		}
	}
	w.Flush()
	f.Close()
	regs, regRate := env("XC5_LOAD_REGS", 50000), env("XC5_LOAD_REG_RATE", 5000)
	select { // warmed: the storm meets a server at work, as after an outage of the network
	case <-srv.Serving():
	case <-time.After(time.Minute):
		t.Fatal("the server did not start serving")
	}
	ph := startPhase(t, "register")
	stopTrace := traceOverload(srv.Server)
	st := sippLoad(t, dir, "register", srv.addr, "-sf", scenario(t, "register_auth.xml"), "-inf", users, "-au", "[field3]", "-ap", "[field2]",
		"-r", strconv.Itoa(regRate), "-rp", "1000", "-m", strconv.Itoa(regs), "-l", "20000")
	ph.end(st)
	stopTrace()
	t.Logf("REGISTER with digest (401 + 200, binding written): offered %d/s: %s", regRate, st)
	t.Logf("overload: %d REGISTERs refused 503, %d stale requests dropped unread", srv.ShedRegisters(), srv.StaleDropped())
	if timed != nil {
		t.Logf("store during REGISTER: %s", timed.report())
	}
	if os.Getenv("XC5_LOAD_SKIP_CALLS") != "" {
		return
	}

	// 2. Calls: a carrier (sipp UAC from the trunk address) dials the DDIs
	// of 1000 accounts whose phone is a sipp UAS; xc5 decides each call
	// with the routing engine, rings the UAS (180, 200), relays ACK and
	// BYE.
	if _, _, err := store.Put(ctx, "", resource.Trunk, "", "", resource.Input{"name": "load", "address": "127.0.0.1", "port": int64(0)}, resource.Create); err != nil {
		t.Fatal(err)
	}
	uasPort := freeUDPPort(t)
	ddis := filepath.Join(dir, "ddis.csv")
	f, _ = os.Create(ddis)
	f.WriteString("SEQUENTIAL\n")
	callees := 0
	for i := 1; i < accounts && callees < 1000; i++ {
		if i%10 == 0 {
			continue
		}
		user := fmt.Sprintf("u%d@seed-%d.test", i%10, i/10)
		c, err := store.SIPCredentials(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		contact := fmt.Sprintf("sip:u%d@127.0.0.1:%d", i%10, uasPort)
		if _, err := store.PutRegistration(ctx, c.GUID, contact, time.Now().Add(time.Hour), "sipp", fmt.Sprintf("udp:127.0.0.1:%d", uasPort), xc5.ContactCap{}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "%d\n", 6480000000+i)
		callees++
	}
	f.Close()
	calls, callRate, hold := env("XC5_LOAD_CALLS", 10000), env("XC5_LOAD_CALL_RATE", 500), env("XC5_LOAD_HOLD_MS", 1000)
	limit := env("XC5_LOAD_CALL_LIMIT", 10000)
	uasCtx, stopUAS := context.WithCancel(ctx)
	defer stopUAS()
	uasDone := make(chan string, 1)
	go func() {
		uasDone <- sippRun(uasCtx, t, dir, "uas", 10*time.Minute, "-sn", "uas", "-i", "127.0.0.1", "-p", strconv.Itoa(uasPort),
			"-timeout", "600s", "-max_socket", "65000")
	}()
	time.Sleep(500 * time.Millisecond)
	ph = startPhase(t, "calls")
	st = sippLoad(t, dir, "calls", srv.addr, "-sf", scenario(t, "uac_carrier.xml"), "-inf", ddis,
		"-r", strconv.Itoa(callRate), "-rp", "1000", "-m", strconv.Itoa(calls), "-l", strconv.Itoa(limit), "-d", strconv.Itoa(hold))
	ph.end(st)
	t.Logf("calls INVITE→180→200→ACK→BYE through xc5, %d ms each: offered %d/s: %s", hold, callRate, st)
	t.Logf("overload: %d INVITEs refused 503, %d stale requests dropped unread", srv.Shed(), srv.StaleDropped())
	stopUAS()
	<-uasDone
}

// sippStats sums up sipp's -trace_stat file.
type sippStats struct {
	elapsed         time.Duration // first call to the last statistics line
	created         float64       // calls started per second (sipp's CallRate(C))
	success, failed int
	peak            int // most calls open at once, sampled every second
	retransmissions int
	responseTime    time.Duration // mean time to the rtd-marked response
	failures        string        // sipp's non-zero Failed…(C) counters
}

func (s sippStats) String() string {
	rate := 0.0
	if s.elapsed > 0 {
		rate = float64(s.success) / s.elapsed.Seconds()
	}
	f := ""
	if s.failures != "" {
		f = " (" + s.failures + ")"
	}
	return fmt.Sprintf("%d successful, %d failed%s in %v (%.0f successful/s, %.0f started/s); at most %d open at once; %d retransmissions; mean response time %v",
		s.success, s.failed, f, s.elapsed.Round(time.Millisecond), rate, s.created, s.peak, s.retransmissions, s.responseTime)
}

// sippLoad runs one bounded sipp load and returns its statistics.
func sippLoad(t *testing.T, dir, name, target string, args ...string) sippStats {
	t.Helper()
	stat := filepath.Join(dir, name+"_stat.csv")
	args = append([]string{target}, args...)
	args = append(args, "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)), "-timeout", "300s", "-timeout_error",
		"-trace_stat", "-stf", stat, "-fd", "1", "-max_socket", "65000",
		// sipp's default 64 KiB socket buffer overflows when sipp loses
		// the CPU for a few milliseconds at thousands of messages a second,
		// and the drops come back as retransmissions that measure sipp,
		// not the server.
		"-buff_size", "4194304")
	if os.Getenv("XC5_SIPP_TRACE") != "" {
		args = append(args, "-trace_msg", "-message_file", filepath.Join(os.Getenv("XC5_SIPP_TRACE"), name+"_messages.log"))
	}
	out := sippRun(context.Background(), t, dir, name, 6*time.Minute, args...)
	b, err := os.ReadFile(stat)
	if err != nil {
		t.Fatalf("%s: no statistics: %v\n%s", name, err, tail(out, 2000))
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		t.Fatalf("%s: statistics %q", name, b)
	}
	head := strings.Split(lines[0], ";")
	row := func(l string) map[string]string {
		m := map[string]string{}
		for i, v := range strings.Split(l, ";") {
			if i < len(head) {
				m[head[i]] = v
			}
		}
		return m
	}
	last := row(lines[len(lines)-1])
	epoch := func(v string) float64 { // "2026-11-28\t07:36:29.949307\t1795851389.949307"
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0
		}
		x, _ := strconv.ParseFloat(f[len(f)-1], 64)
		return x
	}
	clock := func(v string) time.Duration { // "HH:MM:SS:usec"
		p := strings.Split(v, ":")
		if len(p) != 4 {
			return 0
		}
		n := make([]int, 4)
		for i := range p {
			n[i], _ = strconv.Atoi(p[i])
		}
		return time.Duration((n[0]*60+n[1])*60+n[2])*time.Second + time.Duration(n[3])*time.Microsecond
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	var st sippStats
	st.elapsed = time.Duration((epoch(last["CurrentTime"]) - epoch(last["StartTime"])) * float64(time.Second))
	st.created, _ = strconv.ParseFloat(last["CallRate(C)"], 64)
	st.success, st.failed = atoi(last["SuccessfulCall(C)"]), atoi(last["FailedCall(C)"])
	st.retransmissions = atoi(last["Retransmissions(C)"])
	st.responseTime = clock(last["ResponseTime1(C)"])
	for _, k := range head {
		if strings.HasPrefix(k, "Failed") && k != "FailedCall(C)" && strings.HasSuffix(k, "(C)") && atoi(last[k]) > 0 {
			st.failures += fmt.Sprintf(" %s=%s", strings.TrimSuffix(strings.TrimPrefix(k, "Failed"), "(C)"), last[k])
		}
	}
	st.failures = strings.TrimSpace(st.failures)
	for _, l := range lines[1:] {
		st.peak = max(st.peak, atoi(row(l)["CurrentCall"]))
	}
	return st
}

// sippRun runs sipp with a hard deadline and returns its output.
func sippRun(ctx context.Context, t *testing.T, dir, name string, limit time.Duration, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := execSipp(ctx, t, dir, append(args, "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, name+"_errors.log"))...)
	out, err := cmd.CombinedOutput()
	if err != nil && ctx.Err() == nil {
		errs, _ := os.ReadFile(filepath.Join(dir, name+"_errors.log"))
		t.Logf("sipp %s: %v\n%s\n%s", name, err, tail(string(out), 1500), tail(string(errs), 1500))
	}
	return string(out)
}

// phase measures the test process (the server) during one sipp load: CPU
// time from getrusage, the load average, and optionally a CPU profile.
type phase struct {
	t     *testing.T
	name  string
	cpu   time.Duration
	prof  *os.File
	start time.Time
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func startPhase(t *testing.T, name string) *phase {
	p := &phase{t: t, name: name, start: time.Now()}
	if dir := os.Getenv("XC5_LOAD_CPUPROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		p.prof = f
		writeAllocs(t, filepath.Join(dir, name+"_allocs_before.pprof"))
	}
	t.Logf("%s: load average before: %s", name, loadavg())
	p.cpu = processCPU()
	return p
}

func (p *phase) end(st sippStats) {
	cpu := processCPU() - p.cpu
	if p.prof != nil {
		pprof.StopCPUProfile()
		p.prof.Close()
		// go tool pprof -sample_index=alloc_space -base NAME_allocs_before.pprof NAME_allocs.pprof
		writeAllocs(p.t, filepath.Join(filepath.Dir(p.prof.Name()), p.name+"_allocs.pprof"))
	}
	per := 0.0
	if st.success > 0 {
		per = float64(cpu.Microseconds()) / float64(st.success)
	}
	rate := 0.0
	if st.elapsed > 0 {
		rate = float64(st.success) / st.elapsed.Seconds()
	}
	p.t.Logf("%s: load average after: %s; server CPU %v, %.0f µs per success", p.name, loadavg(), cpu.Round(time.Millisecond), per)
	fmt.Printf("XC5_RESULT phase=%s per_s=%.0f success=%d failed=%d retrans=%d cpu_us=%.0f loadavg=%q\n",
		p.name, rate, st.success, st.failed, st.retransmissions, per, loadavg())
}

// timedStore measures how long the registrar's store calls take
// (XC5_LOAD_TIMING=1): where a REGISTER's latency goes.
type timedStore struct {
	*sqlstore.Store
	mu          sync.Mutex
	put, lookup []time.Duration
}

func (s *timedStore) PutRegistration(ctx context.Context, account, contact string, expires time.Time, ua, source string, limit xc5.ContactCap) ([]xc5.Binding, error) {
	start := time.Now()
	bs, err := s.Store.PutRegistration(ctx, account, contact, expires, ua, source, limit)
	s.mu.Lock()
	s.put = append(s.put, time.Since(start))
	s.mu.Unlock()
	return bs, err
}

func (s *timedStore) ContactsOf(ctx context.Context, account string, now time.Time) ([]xc5.Binding, error) {
	start := time.Now()
	bs, err := s.Store.ContactsOf(ctx, account, now)
	s.mu.Lock()
	s.lookup = append(s.lookup, time.Since(start))
	s.mu.Unlock()
	return bs, err
}

func (s *timedStore) report() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := func(d []time.Duration) string {
		if len(d) == 0 {
			return "none"
		}
		slices.Sort(d)
		p := func(f float64) time.Duration { return d[int(f*float64(len(d)-1))].Round(10 * time.Microsecond) }
		return fmt.Sprintf("%d, p50 %v p90 %v p99 %v max %v", len(d), p(0.5), p(0.9), p(0.99), d[len(d)-1].Round(time.Millisecond))
	}
	return "PutRegistration " + q(s.put) + "; ContactsOf " + q(s.lookup) + "; goroutine run-queue wait " + schedLatency()
}

// schedLatency sums up how long goroutines waited to run, since start:
// when the process is short of CPU, the store's one writer waits behind
// every request's goroutine.
func schedLatency() string {
	m := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(m)
	h := m[0].Value.Float64Histogram()
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	q := func(f float64) string {
		var n uint64
		for i, c := range h.Counts {
			if n += c; float64(n) >= f*float64(total) {
				return time.Duration(h.Buckets[i+1] * float64(time.Second)).String()
			}
		}
		return "?"
	}
	return fmt.Sprintf("p50 %s p99 %s p99.9 %s", q(0.5), q(0.99), q(0.999))
}

func writeAllocs(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
}
