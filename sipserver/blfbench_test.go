package sipserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"xc5/resource"
	"xc5/routing"
)

// TestLampFanout measures issue 17's figure for busy lamps: with N
// dialog-package subscriptions (each a real digest-authenticated
// SUBSCRIBE over UDP, mwibench_test.go's sockets and phones), how long a
// line's state change takes to reach every watcher of the line as a
// NOTIFY. It loads the machine, so it runs only when XC5_LAMP_SUBS is
// set:
//
//	XC5_LAMP_SUBS=10000 go test ./sipserver -run TestLampFanout -v -count=1 -timeout 20m
//
// Knobs: XC5_LAMP_PER_LINE [40] watchers of each line (N/PER_LINE lines;
// PER_LINE=N: every subscription watches one line), XC5_LAMP_CHANGES
// [200] changes, each a new call ringing a random line (early), one at a
// time, each waiting for all its watchers' NOTIFYs before the next (its
// end, terminated, is sent and waited for untimed). The subscribers are
// the users of one company (the lines are among them), each holding up
// to 250 subscriptions (the per-phone cap). A change's latency runs from
// the call's state change (setLamp, as a ring calls it) to the arrival
// of the NOTIFY at a watcher's socket; the figure is over every watcher
// of every change.
func TestLampFanout(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("XC5_LAMP_SUBS"))
	if n <= 0 {
		t.Skip("set XC5_LAMP_SUBS=10000 to measure the busy-lamp NOTIFY fan-out")
	}
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	perLine := min(env("XC5_LAMP_PER_LINE", 40), n)
	lines := n / perLine
	n = lines * perLine
	t.Logf("load average at start: %s", loadavg())
	store := newStore(t)
	users := lampUsers(t, store, max(lines, (n+maxLampsPerPhone-1)/maxLampsPerPhone, 40))
	view := routing.NewView(routing.Defaults{CountryCode: "64"})
	view.Follow(store)
	if err := view.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Config{Now: time.Now, AuthFailures: -1, SourceRate: -1, DigestAlgorithms: []string{"MD5"}}, store)
	if err := srv.EnableCalls(view); err != nil {
		t.Fatal(err)
	}
	// Subscription k: subscriber users[k%len], line users[k%lines]; a
	// line's watchers are every lines-th subscription.
	phones := make([]*mwiPhone, n)
	for k := range phones {
		phones[k] = &mwiPhone{user: users[k%len(users)], password: "Lamp-pw-123", event: "dialog",
			target: users[k%lines], notifies: make(chan mwiNotify, 16)}
	}
	mwiSockets(t, env("XC5_LAMP_SOCKETS", 200), phones, srv.addr)
	start := time.Now()
	lat, failed := mwiWave(phones, 256, (*mwiPhone).subscribe)
	t.Logf("SUBSCRIBE wave: %d subscriptions in %v, %d failed; each (401 + 200): %s",
		n-failed, time.Since(start).Round(time.Millisecond), failed, percentiles(lat))
	for _, p := range phones {
		if _, ok := p.await("dialog-info", 10*time.Second); !ok {
			t.Fatalf("%s: no first NOTIFY for %s", p.user, p.target)
		}
	}
	if got := srv.Lamps(); got != n || failed > 0 {
		t.Fatalf("the server holds %d lamp subscriptions, want %d", got, n)
	}

	b := srv.b2b
	changes := env("XC5_LAMP_CHANGES", 200)
	var all, last []time.Duration
	lost := 0
	for c := range changes {
		line := rand.IntN(lines)
		a := view.Account(users[line])
		id := fmt.Sprintf("bench-%d", c)
		t0 := time.Now()
		b.setLamp(a, lampDialog{id: id, direction: lampRecipient, state: lampEarly, remote: "sip:6421555000@x"})
		var worst time.Duration
		for k := line; k < n; k += lines {
			nt, ok := phones[k].await(`id="`+id+`"`, 5*time.Second)
			if !ok {
				lost++
				continue
			}
			d := nt.at.Sub(t0)
			all = append(all, d)
			worst = max(worst, d)
		}
		last = append(last, worst)
		b.setLamp(a, lampDialog{id: id, state: lampTerminated})
		for k := line; k < n; k += lines {
			if _, ok := phones[k].await("<state>terminated</state>", 5*time.Second); !ok {
				lost++
			}
		}
	}
	t.Logf("%d changes, %d watchers each: state change to NOTIFY, every watcher: %s; the last watcher of each change: %s; lost: %d",
		changes, perLine, percentiles(all), percentiles(last), lost)
	t.Logf("XC5_RESULT subs=%d per_line=%d changes=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f last_p99_ms=%.1f lost=%d",
		n, perLine, changes, ms(pct(all, 0.5)), ms(pct(all, 0.99)), ms(pct(all, 1)), ms(pct(last, 0.99)), lost)
	if lost > 0 {
		t.Errorf("%d NOTIFYs never reached their watcher (5 s)", lost)
	}
	t.Logf("load average at the end: %s", loadavg())
}

// lampUsers creates one company with k users (one password), through
// the store's Put as the API does, from 16 writers at once.
func lampUsers(t *testing.T, store interface {
	Put(context.Context, resource.Scope, *resource.Resource, string, string, resource.Input, resource.PutMode) (resource.Record, bool, error)
}, k int) []string {
	ctx := context.Background()
	if _, _, err := store.Put(ctx, "", resource.Account, "", "", resource.Input{"username": "lamps.test"}, resource.Create); err != nil {
		t.Fatal(err)
	}
	users := make([]string, k)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < k; i = int(next.Add(1)) - 1 {
				users[i] = "u" + strconv.Itoa(i) + "@lamps.test"
				in := resource.Input{"username": users[i], "parent": "lamps.test", "password": "Lamp-pw-123"}
				if _, _, err := store.Put(ctx, "", resource.Account, "", "", in, resource.Create); err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, err)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d accounts not created", failed.Load())
	}
	return users
}
