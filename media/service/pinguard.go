package service

import (
	"context"
	"sync"
	"time"
)

// pinGuard locks a mailbox against PIN guessing across calls: three
// tries a call would let a caller who dials again and again (or many
// times at once) find a 4-digit PIN in minutes, the classic way into
// voicemail for toll fraud. After pinFailures wrong PINs within
// pinWindow every PIN is refused for the rest of the window, the right
// one too, sounding exactly like a wrong one. That count is per media
// node; a store that keeps failure counts for every node (the SQL store's
// auth_failures, as API and SIP logins use) also bounds the guesses of
// all nodes together: pinPerMinute a minute.
type pinGuard struct {
	mu    sync.Mutex
	fails map[string][]time.Time // mailbox -> recent failures
}

const (
	pinFailures  = 10
	pinWindow    = time.Hour
	pinPerMinute = 10
)

// failureCounter is the store's shared count of failures (sqlstore's
// AddFailures and Failures): every node sees the others'.
type failureCounter interface {
	AddFailures(ctx context.Context, keys []string, now time.Time) error
	Failures(ctx context.Context, keys []string, now time.Time) ([]int, error)
}

func pinKey(mailbox string) string { return "pin:" + mailbox }

// lockedShared reports a mailbox with pinPerMinute wrong PINs this minute
// on all nodes; a count that cannot be read locks (fail closed).
func lockedShared(ctx context.Context, fc failureCounter, mailbox string, now time.Time) bool {
	if fc == nil {
		return false
	}
	n, err := fc.Failures(ctx, []string{pinKey(mailbox)}, now)
	return err != nil || len(n) != 1 || n[0] >= pinPerMinute
}

// failedShared counts a wrong PIN where every node sees it.
func failedShared(ctx context.Context, fc failureCounter, mailbox string, now time.Time) {
	if fc != nil {
		fc.AddFailures(ctx, []string{pinKey(mailbox)}, now)
	}
}

// locked reports a mailbox whose PIN is not checked any more for now.
func (g *pinGuard) locked(mailbox string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.recent(mailbox, now)) >= pinFailures
}

// failed counts a wrong PIN for mailbox.
func (g *pinGuard) failed(mailbox string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fails == nil {
		g.fails = map[string][]time.Time{}
	}
	g.fails[mailbox] = append(g.recent(mailbox, now), now)
}

// recent drops the failures older than the window; g.mu is held.
func (g *pinGuard) recent(mailbox string, now time.Time) []time.Time {
	f := g.fails[mailbox]
	i := 0
	for i < len(f) && now.Sub(f[i]) > pinWindow {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(g.fails, mailbox)
		return nil
	}
	g.fails[mailbox] = f
	return f
}
