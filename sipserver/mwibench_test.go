package sipserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"xc5"
	"xc5/internal/poll"
	"xc5/resource"
	"xc5/routing"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestMWIFanout measures issue 14's figure for message-waiting: with N
// phones subscribed to message-summary (each a real digest-authenticated
// SUBSCRIBE over UDP), how long a mailbox change takes to reach its phone
// as a NOTIFY. It loads the machine, so it runs only when XC5_MWI_PHONES
// is set:
//
//	XC5_MWI_PHONES=10000 go test ./sipserver -run TestMWIFanout -v -count=1 -timeout 20m
//
// Knobs: XC5_MWI_SOCKETS [200] UDP sockets carrying the subscriptions
// (each a dialog of its own: Call-ID, tags, account); XC5_MWI_CHANGES
// [1000, at most N] messages left, each for a different random account;
// XC5_MWI_RATE [0] changes a second (0: one at a time, each waiting for
// its NOTIFY). The latency of a change runs from the start of the store
// call (LeaveVoicemail) to the arrival of the NOTIFY saying 1/0 at its
// subscriber's socket. At the end every subscription is ended (Expires:
// 0) and the server must hold none. XC5_MWI_POSTGRES=1 (with
// XC5_TEST_POSTGRES) runs it on PostgreSQL as a cluster does: the SIP
// service on one store connection, the messages left through another (as
// a media node leaves them), so each change reaches the SIP service by the
// change feed.
func TestMWIFanout(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("XC5_MWI_PHONES"))
	if n <= 0 {
		t.Skip("set XC5_MWI_PHONES=10000 to measure the message-waiting NOTIFY fan-out")
	}
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v >= 0 {
			return v
		}
		return def
	}
	t.Logf("load average at start: %s", loadavg())
	store, writer := mwiStores(t)
	view, phones := mwiAccounts(t, store, n)
	srv := startServer(t, Config{Now: time.Now, AuthFailures: -1, SourceRate: -1, DigestAlgorithms: []string{"MD5"}}, store)
	if err := srv.EnableCalls(view); err != nil {
		t.Fatal(err)
	}
	socks := mwiSockets(t, env("XC5_MWI_SOCKETS", 200), phones, srv.addr)

	// The SUBSCRIBE wave: 401, SUBSCRIBE with credentials, 200, and the
	// first NOTIFY (0/0) of every phone.
	heap0, gr0 := heapNow()
	start := time.Now()
	lat, failed := mwiWave(phones, 256, (*mwiPhone).subscribe)
	subscribed := time.Since(start)
	last := mwiFirstNotifies(t, phones)
	t.Logf("SUBSCRIBE wave: %d subscriptions in %v (%.0f/s), %d failed; each (401 + 200): %s; all first NOTIFYs by %v",
		n-failed, subscribed.Round(time.Millisecond), float64(n)/subscribed.Seconds(), failed, percentiles(lat),
		last.Sub(start).Round(time.Millisecond))
	heap1, gr1 := heapNow()
	t.Logf("held: heap %+.1f MiB after the wave (%.0f B a subscription, with the nonces of the wave), goroutines %d -> %d",
		float64(heap1-heap0)/(1<<20), float64(heap1-heap0)/float64(n), gr0, gr1)
	if settle := env("XC5_MWI_SETTLE_S", 0); settle > 0 {
		// The wave's transactions linger (Timer J, 32 s on UDP) and its
		// nonces until swept: after them, what the subscriptions hold.
		time.Sleep(time.Duration(settle) * time.Second)
		heap1, gr1 = heapNow()
		t.Logf("held %d s later: heap %+.1f MiB (%.0f B a subscription), goroutines %d", settle,
			float64(heap1-heap0)/(1<<20), float64(heap1-heap0)/float64(n), gr1)
	}
	if got := srv.Subscriptions(); got != n || failed > 0 {
		t.Fatalf("the server holds %d subscriptions, want %d (%d SUBSCRIBEs failed)", got, n, failed)
	}

	// The mailbox changes.
	changes := min(env("XC5_MWI_CHANGES", 1000), n)
	rate := env("XC5_MWI_RATE", 0)
	t.Logf("load average before the changes: %s", loadavg())
	res := mwiChanges(t, writer, phones, changes, rate)
	t.Logf("%d changes (rate %d/s, 0 = one at a time) in %v: store call start to NOTIFY: %s; store call return to NOTIFY: %s; store call: %s; lost: %d",
		changes, rate, res.took.Round(time.Millisecond), percentiles(res.fromStart), percentiles(res.fromReturn), percentiles(res.store), res.lost)
	t.Logf("XC5_RESULT phones=%d changes=%d rate=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f lost=%d subscribe_s=%.2f",
		n, changes, rate, ms(pct(res.fromStart, 0.5)), ms(pct(res.fromStart, 0.99)), ms(pct(res.fromStart, 1)), res.lost, subscribed.Seconds())
	if res.lost > 0 {
		t.Errorf("%d of %d mailbox changes never reached their phone (5 s)", res.lost, changes)
	}
	// Every phone got exactly its own NOTIFYs: none strayed or repeated.
	var extra, stray int64
	for _, p := range phones {
		extra += int64(len(p.notifies))
	}
	for _, s := range socks {
		stray += s.stray.Load()
	}
	if extra > 0 || stray > 0 {
		t.Errorf("%d NOTIFYs beyond the expected ones, %d for unknown dialogs", extra, stray)
	}

	// Ending every subscription leaves none behind.
	start = time.Now()
	lat, failed = mwiWave(phones, 256, (*mwiPhone).unsubscribe)
	t.Logf("unSUBSCRIBE wave: %d in %v, %d failed; each: %s", n, time.Since(start).Round(time.Millisecond), failed, percentiles(lat))
	if got := srv.Subscriptions(); got != 0 || failed > 0 {
		t.Errorf("after ending all: %d subscriptions held, %d unSUBSCRIBEs failed", got, failed)
	}
	t.Logf("load average at the end: %s", loadavg())
}

// TestMWIDeadSubscriptionEnds: a subscriber that answers a NOTIFY 481
// no longer has the subscription (it rebooted and forgot the dialog, say,
// and will SUBSCRIBE afresh): RFC 6665 §4.2.2 says the notifier must
// then remove it; one that does not answer at all (the NOTIFY
// transaction times out) should be removed too. Kept, each is held
// and sent every mailbox change until it expires (up to MaxExpires, an
// hour), beside the phone's new subscription.
func TestMWIDeadSubscriptionEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer int32 // -1: no answer
	}{{"481", sip.StatusCallTransactionDoesNotExists}, {"no answer", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			x := newPBX(t, Config{DigestAlgorithms: []string{"MD5"}, RequestTimeout: 2 * time.Second})
			x.patch(reception, `{"ums_pin":"1234"}`)
			p := &mwiPhone{user: reception, guid: x.ids[reception], password: password, notifies: make(chan mwiNotify, 16)}
			sock := mwiSockets(t, 1, []*mwiPhone{p}, x.srv.addr)[0]
			if err := p.subscribe(); err != nil {
				t.Fatal(err)
			}
			if _, ok := p.await("Voice-Message: 0/0", 3*time.Second); !ok {
				t.Fatal("no first NOTIFY")
			}
			sock.answer.Store(tc.answer)
			if err := x.store.LeaveVoicemail(context.Background(), xc5.Voicemail{Account: p.guid, From: "6421555000", To: "6491231234", Duration: time.Second}, nil); err != nil {
				t.Fatal(err)
			}
			if _, ok := p.await("Voice-Message: 1/0", 3*time.Second); !ok {
				t.Fatal("no NOTIFY for the message")
			}
			poll.Until(t, 5*time.Second, "the dead subscription to be removed", func() bool { return x.srv.Subscriptions() == 0 })
		})
	}
}

// mwiAccounts writes the accounts: seeded in bulk (one password hash for
// all), then each given its ums_pin through the store's Put, as the API
// does, from 32 writers at once (the writer batches their commits).
func mwiAccounts(t *testing.T, store *sqlstore.Store, n int) (*routing.View, []*mwiPhone) {
	ctx := context.Background()
	start := time.Now()
	total := (n + 8) / 9 * 10 // nine users under each company
	if err := store.Seed(ctx, total, 0, "seed-pw"); err != nil {
		t.Fatal(err)
	}
	seeded := time.Since(start)
	var phones []*mwiPhone
	for i := 0; i < total && len(phones) < n; i++ {
		if i%10 != 0 {
			phones = append(phones, &mwiPhone{user: fmt.Sprintf("u%d@seed-%d.test", i%10, i/10), password: "seed-pw", notifies: make(chan mwiNotify, 16)})
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(phones); i = int(next.Add(1)) - 1 {
				rec, _, err := store.Put(ctx, "", resource.Account, "", phones[i].user, resource.Input{"ums_pin": "1234"}, resource.Patch)
				if err != nil {
					errs <- err
					return
				}
				phones[i].guid = rec.GUID
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("ums_pin: %v", err)
	}
	view := routing.NewView(routing.Defaults{CountryCode: "64"})
	view.Follow(store)
	if err := view.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	t.Logf("accounts: %d seeded in %v, %d given ums_pin through Put in %v, view loaded: %v in all",
		total, seeded.Round(time.Millisecond), len(phones), (time.Since(start) - seeded).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return view, phones
}

// mwiStores opens the SIP service's store and the one the messages are
// left through: one SQLite store, or two connections to one PostgreSQL
// schema, each following the change feed.
func mwiStores(t *testing.T) (server, writer *sqlstore.Store) {
	if os.Getenv("XC5_MWI_POSTGRES") == "" {
		s := newStore(t)
		return s, s
	}
	url := storetest.PostgresURL(t)
	if url == "" {
		t.Fatal(storetest.EnvPostgres + " is not set")
	}
	open := func() *sqlstore.Store {
		s, err := sqlstore.OpenPostgres(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Bootstrap(context.Background(), "admin-pw-123"); err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		s.Follow(ctx, url)
		poll.Until(t, 10*time.Second, "the store following the change feed", s.Fresh)
		return s
	}
	return open(), open()
}

// mwiWave runs f for every phone from workers goroutines at once and
// returns the time each took and how many failed (the first few are logged).
func mwiWave(phones []*mwiPhone, workers int, f func(*mwiPhone) error) ([]time.Duration, int) {
	lat := make([]time.Duration, len(phones))
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(phones); i = int(next.Add(1)) - 1 {
				t0 := time.Now()
				if err := f(phones[i]); err != nil {
					if failed.Add(1) <= 5 {
						fmt.Fprintf(os.Stderr, "%s: %v\n", phones[i].user, err)
					}
					continue
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	return slices.DeleteFunc(lat, func(d time.Duration) bool { return d == 0 }), int(failed.Load())
}

// mwiFirstNotifies waits for every phone's first NOTIFY, which must say
// no message waits, and returns when the last arrived.
func mwiFirstNotifies(t *testing.T, phones []*mwiPhone) time.Time {
	var missing, wrong int
	var last time.Time
	for _, p := range phones {
		select {
		case nt := <-p.notifies:
			if !strings.Contains(nt.body, "Voice-Message: 0/0") || !strings.Contains(nt.body, "Messages-Waiting: no") {
				wrong++
			}
			if nt.at.After(last) {
				last = nt.at
			}
		case <-time.After(5 * time.Second):
			missing++
		}
	}
	if missing > 0 || wrong > 0 {
		t.Fatalf("first NOTIFYs: %d missing, %d wrong", missing, wrong)
	}
	return last
}

type mwiResult struct {
	fromStart, fromReturn, store []time.Duration
	lost                         int
	took                         time.Duration
}

// mwiChanges leaves a message for each of changes distinct random phones'
// accounts, one at a time (rate 0) or rate a second, and times each to
// its phone's NOTIFY saying 1/0.
func mwiChanges(t *testing.T, store *sqlstore.Store, phones []*mwiPhone, changes, rate int) mwiResult {
	order := rand.Perm(len(phones))[:changes]
	var mu sync.Mutex
	var res mwiResult
	var wg sync.WaitGroup
	one := func(p *mwiPhone) {
		defer wg.Done()
		t0 := time.Now()
		err := store.LeaveVoicemail(context.Background(), xc5.Voicemail{Account: p.guid, From: "6421555000", To: "6491231234", Duration: 3 * time.Second}, nil)
		t1 := time.Now()
		if err != nil {
			t.Errorf("LeaveVoicemail: %v", err)
			return
		}
		nt, ok := p.await("Voice-Message: 1/0", 5*time.Second)
		mu.Lock()
		defer mu.Unlock()
		res.store = append(res.store, t1.Sub(t0))
		if !ok {
			res.lost++
			return
		}
		res.fromStart = append(res.fromStart, nt.at.Sub(t0))
		res.fromReturn = append(res.fromReturn, nt.at.Sub(t1))
	}
	start := time.Now()
	for k, i := range order {
		wg.Add(1)
		if rate == 0 {
			one(phones[i])
			continue
		}
		go one(phones[i])
		time.Sleep(time.Until(start.Add(time.Duration(k+1) * time.Second / time.Duration(rate))))
	}
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// mwiNotify is a NOTIFY as its phone received it.
type mwiNotify struct {
	at    time.Time
	body  string
	state string
}

// mwiPhone is one subscriber: an account's own dialog on a shared socket.
type mwiPhone struct {
	user, guid string
	password   string
	sock       *mwiSock
	callID     string
	fromTag    string
	toTag      string // xc5's, from its 200
	cseq       uint32
	notifies   chan mwiNotify
	lastNotify uint32 // the CSeq of the last NOTIFY taken (the socket's reader only)
	// event and target, when set, subscribe to another package and
	// entity: the busy lamps' dialog package for a line (blfbench_test.go).
	event, target string
}

// await waits for a NOTIFY whose body holds want.
func (p *mwiPhone) await(want string, within time.Duration) (mwiNotify, bool) {
	deadline := time.After(within)
	for {
		select {
		case nt := <-p.notifies:
			if strings.Contains(nt.body, want) {
				return nt, true
			}
		case <-deadline:
			return mwiNotify{}, false
		}
	}
}

func (p *mwiPhone) request(expires int) *sip.Request {
	local, host, _ := strings.Cut(p.user, "@")
	aor := sip.Uri{Scheme: "sip", User: local, Host: host}
	entity, event, accept := aor, "message-summary", "application/simple-message-summary"
	if p.target != "" {
		l, h, _ := strings.Cut(p.target, "@")
		entity, event, accept = sip.Uri{Scheme: "sip", User: l, Host: h}, p.event, "application/dialog-info+xml"
	}
	req := sip.NewRequest(sip.SUBSCRIBE, entity)
	p.cseq++
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: p.sock.port, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranch())
	req.AppendHeader(via)
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", p.fromTag)
	req.AppendHeader(from)
	to := &sip.ToHeader{Address: entity, Params: sip.NewParams()}
	if p.toTag != "" {
		to.Params.Add("tag", p.toTag)
	}
	req.AppendHeader(to)
	cid := sip.CallIDHeader(p.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: p.cseq, MethodName: sip.SUBSCRIBE})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: local, Host: "127.0.0.1", Port: p.sock.port}})
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Accept", accept))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetBody(nil)
	return req
}

// subscribe subscribes the phone to its own mailbox, answering the
// digest challenge.
func (p *mwiPhone) subscribe() error {
	req := p.request(3600)
	res, err := p.sock.do(req)
	if err != nil {
		return err
	}
	if res.StatusCode == 401 {
		var chal *digest.Challenge
		for _, h := range res.GetHeaders("WWW-Authenticate") {
			if c, err := digest.ParseChallenge(h.Value()); err == nil && c.Algorithm == "MD5" {
				chal = c
			}
		}
		if chal == nil {
			return errors.New("no MD5 challenge")
		}
		cred, err := digest.Digest(chal, digest.Options{Method: "SUBSCRIBE", URI: req.Recipient.String(), Username: p.user, Password: p.password, Count: 1})
		if err != nil {
			return err
		}
		req = p.request(3600)
		req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
		if res, err = p.sock.do(req); err != nil {
			return err
		}
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("SUBSCRIBE: %d %s", res.StatusCode, res.Reason)
	}
	p.toTag, _ = res.To().Params.Get("tag")
	return nil
}

// unsubscribe ends the subscription in its dialog (Expires: 0) and waits
// for the terminated NOTIFY.
func (p *mwiPhone) unsubscribe() error {
	res, err := p.sock.do(p.request(0))
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("unSUBSCRIBE: %d %s", res.StatusCode, res.Reason)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case nt := <-p.notifies:
			if strings.HasPrefix(nt.state, "terminated") {
				return nil
			}
		case <-deadline:
			return errors.New("no terminated NOTIFY")
		}
	}
}

// mwiSock is one UDP socket of the test phones: it sends their
// SUBSCRIBEs (retransmitting as a UDP client does), matches responses
// by branch, answers NOTIFYs 200 and hands each to its dialog's phone.
type mwiSock struct {
	conn    *net.UDPConn
	port    int
	server  *net.UDPAddr
	mu      sync.Mutex
	waiting map[string]chan *sip.Response // by Via branch
	phones  map[string]*mwiPhone          // by Call-ID
	stray   atomic.Int64                  // NOTIFYs of no known dialog
	answer  atomic.Int32                  // the status NOTIFYs are answered with (0: 200, -1: none)
}

// mwiSockets opens the sockets and shares the phones out among them.
func mwiSockets(t *testing.T, n int, phones []*mwiPhone, server string) []*mwiSock {
	addr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	socks := make([]*mwiSock, n)
	for i := range socks {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		conn.SetReadBuffer(4 << 20)
		t.Cleanup(func() { conn.Close() })
		s := &mwiSock{conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port, server: addr,
			waiting: map[string]chan *sip.Response{}, phones: map[string]*mwiPhone{}}
		socks[i] = s
	}
	for i, p := range phones {
		p.sock = socks[i%n]
		p.callID = fmt.Sprintf("mwi-%d-%s", i, sip.GenerateTagN(8))
		p.fromTag = sip.GenerateTagN(10)
		p.sock.phones[p.callID] = p
	}
	for _, s := range socks {
		go s.read()
	}
	return socks
}

// do sends req and returns its final response, retransmitting at 500 ms
// intervals for up to 8 s.
func (s *mwiSock) do(req *sip.Request) (*sip.Response, error) {
	branch, _ := req.Via().Params.Get("branch")
	ch := make(chan *sip.Response, 4)
	s.mu.Lock()
	s.waiting[branch] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, branch)
		s.mu.Unlock()
	}()
	data := []byte(req.String())
	for range 16 {
		if _, err := s.conn.WriteToUDP(data, s.server); err != nil {
			return nil, err
		}
		timer := time.NewTimer(500 * time.Millisecond)
	wait:
		for {
			select {
			case res := <-ch:
				if res.StatusCode >= 200 {
					timer.Stop()
					return res, nil
				}
			case <-timer.C:
				break wait
			}
		}
	}
	return nil, fmt.Errorf("no answer to %s %s", req.Method, req.CallID().Value())
}

func (s *mwiSock) read() {
	buf := make([]byte, 65535)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		at := time.Now()
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		switch m := msg.(type) {
		case *sip.Response:
			branch, _ := m.Via().Params.Get("branch")
			s.mu.Lock()
			ch := s.waiting[branch]
			s.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default:
				}
			}
		case *sip.Request:
			s.notify(m, from, at)
		}
	}
}

// notify answers a NOTIFY and passes it to its phone once (a
// retransmission, its CSeq already seen, is only answered).
func (s *mwiSock) notify(req *sip.Request, from *net.UDPAddr, at time.Time) {
	code, reason := sip.StatusOK, "OK"
	switch c := s.answer.Load(); {
	case c < 0:
		code = 0
	case c > 0:
		code, reason = int(c), "As Told"
	}
	if code != 0 {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		s.conn.WriteToUDP([]byte(res.String()), from)
	}
	if req.Method != sip.NOTIFY {
		return
	}
	p := s.phones[req.CallID().Value()]
	if p == nil {
		s.stray.Add(1)
		return
	}
	if seq := req.CSeq().SeqNo; seq > p.lastNotify {
		p.lastNotify = seq
		state := ""
		if h := req.GetHeader("Subscription-State"); h != nil {
			state = h.Value()
		}
		select {
		case p.notifies <- mwiNotify{at: at, body: string(req.Body()), state: state}:
		default:
		}
	}
}

// percentiles formats p50/p90/p99/max of ds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	return fmt.Sprintf("p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)",
		ms(pct(ds, 0.5)), ms(pct(ds, 0.9)), ms(pct(ds, 0.99)), ms(pct(ds, 1)), len(ds))
}

// pct is the q-quantile of ds by nearest rank.
func pct(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// heapNow is the live heap after a collection, and the goroutines.
func heapNow() (int64, int) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc), runtime.NumGoroutine()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
