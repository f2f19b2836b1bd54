package service

import (
	"sync"
	"time"
)

// pinGuard locks a mailbox against PIN guessing across calls: three
// tries a call would let a caller who dials again and again (or many
// times at once) find a 4-digit PIN in minutes, the classic way into
// voicemail for toll fraud. After pinFailures wrong PINs within
// pinWindow every PIN is refused for the rest of the window, the right
// one too, sounding exactly like a wrong one. Per media node: with
// several nodes a guesser gets pinFailures on each.
type pinGuard struct {
	mu    sync.Mutex
	fails map[string][]time.Time // mailbox -> recent failures
}

const (
	pinFailures = 10
	pinWindow   = time.Hour
)

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
