package sipserver

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/media/relay"
)

// TestTransferLoad is the figure of docs/benchmarks.md "Transfers": a
// carrier's calls to reception's DDI at XC5_TRANSFER_RATE a second (200)
// for XC5_TRANSFER_SECONDS (10); reception answers each and transfers it
// blind to 608, sales answers and hangs up after XC5_TRANSFER_HOLD_MS
// (200). Every call must be transferred (REFER 202, sales answered, the
// caller hung up by xc5) with no failure. Go test phones over loopback;
// the caller's media is anchored on the transfer (a relay of 10,000
// ports). Run with XC5_TRANSFER_LOAD=1.
func TestTransferLoad(t *testing.T) {
	if os.Getenv("XC5_TRANSFER_LOAD") == "" {
		t.Skip("set XC5_TRANSFER_LOAD=1 for the transfer figure")
	}
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	rate, secs, holdMS := env("XC5_TRANSFER_RATE", 200), env("XC5_TRANSFER_SECONDS", 10), env("XC5_TRANSFER_HOLD_MS", 200)
	pool, err := relay.NewPool(relay.Config{Bind: netip.MustParseAddr("127.0.0.1"), PortMin: 50000, PortMax: 59999})
	if err != nil {
		t.Fatal(err)
	}
	x := newPBX(t, Config{Relay: pool, SourceRate: -1, MaxCallSetups: 4096})
	x.trunk("", "", "")
	var refused, referred, salesAnswered, byes atomic.Int64
	rec := x.phone(reception, password, "UDP")
	rec.behave(func(in *inbound) {
		if err := in.answer(); err != nil {
			refused.Add(1)
			return
		}
		req := sip.NewRequest(sip.REFER, in.dlg.InviteRequest.Contact().Address)
		req.AppendHeader(sip.NewHeader("Refer-To", "<sip:608@"+x.srv.addr+">"))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := in.dlg.Do(ctx, req)
		if err != nil || res.StatusCode != sip.StatusAccepted {
			refused.Add(1)
			return
		}
		referred.Add(1)
	})
	sal := x.phone(sales, salesPassword, "UDP")
	sal.behave(func(in *inbound) {
		if err := in.answer(); err != nil {
			t.Logf("sales' answer: %v", err)
			return
		}
		salesAnswered.Add(1)
		time.Sleep(time.Duration(holdMS) * time.Millisecond)
		in.hangup()
	})
	car := x.carrier("6421555000")
	go func() { // the carrier answers xc5's re-INVITEs itself; drain the record of them
		for range car.reinvites {
		}
	}()
	total := rate * secs
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; i < total; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval))) // paced by the clock: a late call does not drop a tick
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := car.dial("6491231234")
			select {
			case <-out.done:
			case <-time.After(30 * time.Second):
			}
			if out.err != nil || out.res == nil || out.res.StatusCode != 200 {
				failed.Add(1)
				return
			}
			select {
			case <-out.dlg.Context().Done(): // xc5's BYE once sales hung up
				byes.Add(1)
			case <-time.After(30 * time.Second):
				failed.Add(1)
			}
		}()
	}
	sent := time.Since(start)
	wg.Wait()
	elapsed := time.Since(start)
	x.idle()
	t.Logf("%d calls offered at %d/s over %v (done in %v): %d REFERs accepted, %d refused, %d answered by sales, %d callers hung up by xc5, %d failed",
		total, rate, sent.Round(time.Millisecond), elapsed.Round(time.Millisecond), referred.Load(), refused.Load(), salesAnswered.Load(), byes.Load(), failed.Load())
	if referred.Load() != int64(total) || salesAnswered.Load() != int64(total) || byes.Load() != int64(total) || failed.Load() != 0 {
		t.Errorf("not every call was transferred")
	}
}
