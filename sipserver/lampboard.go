package sipserver

import (
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/routing"
)

// The lamp board: the busy-lamp state of every line with a call on this
// node, and what a call sets on it as it rings, is answered and ends
// (blf.go: the subscriptions and their documents).

// lampDialog is one call of a line as its watchers see it.
type lampDialog struct {
	id        string // the call's Call-ID: one dialog element a call
	direction string
	state     string
	local     string // the line, as a SIP URI
	remote    string // the other party, as a SIP URI
	pickup    string // while ringing: the URI that picks the call up (**EXT)
	seq       uint64 // the change that set it (the most recent shown first)
	ended     uint64 // the change that terminated it; 0 while it lasts
	endedAt   time.Time
}

// lampLine is the state of one account's line.
type lampLine struct {
	seq     uint64 // its last change
	dialogs map[string]*lampDialog
}

// lampBoard is the state of every line with a call on this node.
type lampBoard struct {
	mu    sync.Mutex
	seq   uint64                         // changes so far, all lines
	lines map[string]*lampLine           // account GUID -> line
	calls map[string]map[string]struct{} // call id -> accounts it shows on
}

func newLampBoard() *lampBoard {
	return &lampBoard{lines: map[string]*lampLine{}, calls: map[string]map[string]struct{}{}}
}

// set records d on acct's line and reports whether the line changed.
func (lb *lampBoard) set(acct string, d lampDialog, now time.Time) bool {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	line := lb.lines[acct]
	var cur *lampDialog
	if line != nil {
		cur = line.dialogs[d.id]
	}
	live := cur != nil && cur.ended == 0
	switch {
	case d.state == lampTerminated && !live:
		return false // nothing to end
	case live && cur.state == d.state:
		return false
	}
	if line == nil {
		line = &lampLine{dialogs: map[string]*lampDialog{}}
		lb.lines[acct] = line
	}
	lb.seq++
	line.seq = lb.seq
	if d.state == lampTerminated {
		ended := *cur
		ended.state, ended.ended, ended.endedAt = lampTerminated, lb.seq, now
		line.dialogs[d.id] = &ended
		delete(lb.calls[d.id], acct)
		if len(lb.calls[d.id]) == 0 {
			delete(lb.calls, d.id)
		}
	} else {
		d.seq = lb.seq
		line.dialogs[d.id] = &d
		if lb.calls[d.id] == nil {
			lb.calls[d.id] = map[string]struct{}{}
		}
		lb.calls[d.id][acct] = struct{}{}
	}
	for id, x := range line.dialogs { // ends reported long enough ago
		if x.ended != 0 && now.Sub(x.endedAt) > lampEndedKept {
			delete(line.dialogs, id)
		}
	}
	if len(lb.lines) >= 1024 { // forget lines idle that long, a few a change
		n := 0
		for acct, l := range lb.lines {
			if n++; n > 8 {
				break
			}
			if l != line && lb.idle(l, now) {
				delete(lb.lines, acct)
			}
		}
	}
	return true
}

// idle reports a line whose dialogs all ended lampEndedKept ago.
func (lb *lampBoard) idle(l *lampLine, now time.Time) bool {
	for _, d := range l.dialogs {
		if d.ended == 0 || now.Sub(d.endedAt) <= lampEndedKept {
			return false
		}
	}
	return true
}

// showing is the accounts a call shows on.
func (lb *lampBoard) showing(id string) []string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	out := make([]string, 0, len(lb.calls[id]))
	for a := range lb.calls[id] {
		out = append(out, a)
	}
	return out
}

// snapshot is acct's line now: its last change and its dialogs, those
// that ended after change `after` included.
func (lb *lampBoard) snapshot(acct string, after uint64) (uint64, []lampDialog) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	line := lb.lines[acct]
	if line == nil {
		return 0, nil
	}
	out := make([]lampDialog, 0, len(line.dialogs))
	for _, d := range line.dialogs {
		if d.ended == 0 || d.ended > after {
			out = append(out, *d)
		}
	}
	return line.seq, out
}

// setLamp records a dialog on a line and tells its watchers.
func (b *b2bua) setLamp(a *routing.Account, d lampDialog) {
	if a == nil {
		return
	}
	d.local = partyURI(a.Username, b.host)
	if b.board.set(a.GUID, d, b.s.cfg.Now()) {
		go b.lampChanged(a.GUID)
	}
}

// lampDialogOf is the dialog element of call c on a line: for the
// caller's line the party it dialed, for a called line the caller as
// presented, or anonymous when the caller is an account of another
// company (whose usernames the line's company does not see: as
// resource.Outsiders hides them from the API). The dialog's Call-ID and
// tags are not shown: a pickup dials the target (**EXT), and the IDs
// would only help a watcher act in a call that is not its own.
func (c *call) lampDialogOf(line *routing.Account, direction, state string) lampDialog {
	d := lampDialog{id: c.id, direction: direction, state: state}
	if direction == lampInitiator {
		d.remote = partyURI(c.dialed, c.b.host)
		return d
	}
	who := c.presented()
	if c.who.acct != nil && line != nil && !c.b.view.SameCompany(c.who.acct, line) {
		who = "anonymous"
	}
	d.remote = partyURI(who, c.b.host)
	return d
}

// partyURI is a party as a SIP URI: a username (user@domain) as it is,
// a number or extension at xc5's host; anonymous as RFC 3323 writes it.
func partyURI(who, host string) string {
	switch {
	case who == "" || who == "anonymous":
		return "sip:anonymous@anonymous.invalid"
	case strings.Contains(who, "@"):
		user, domain, _ := strings.Cut(who, "@")
		return (&sip.Uri{Scheme: "sip", User: user, Host: domain}).String()
	}
	return (&sip.Uri{Scheme: "sip", User: who, Host: host}).String()
}

// lampCalling shows a new call on its caller's line.
func (c *call) lampCalling() {
	if c.who.acct != nil {
		c.b.setLamp(c.who.acct, c.lampDialogOf(c.who.acct, lampInitiator, lampTrying))
	}
}

// lampRinging shows a ring on the lines whose phones it alerts, with the
// directed pickup code (**EXT) as the target a BLF key's press dials.
func (c *call) lampRinging(rg *ringing) {
	for _, a := range rg.accounts {
		d := c.lampDialogOf(a, lampRecipient, lampEarly)
		if ext := c.b.view.ExtensionOf(a); ext != "" {
			d.pickup = "sip:**" + ext + "@" + c.b.host
		}
		c.b.setLamp(a, d)
	}
	if c.who.acct != nil {
		c.b.setLamp(c.who.acct, c.lampDialogOf(c.who.acct, lampInitiator, lampEarly))
	}
}

// lampRingOver ends the ring on the lines that did not answer.
func (c *call) lampRingOver(rg *ringing) {
	c.mu.Lock()
	other := c.other
	c.mu.Unlock()
	for _, a := range rg.accounts {
		if other != nil && other.acct != nil && other.acct.GUID == a.GUID {
			continue
		}
		c.b.setLamp(a, lampDialog{id: c.id, state: lampTerminated})
	}
}

// lampAnswered shows the answer on the answering line and the caller's.
func (c *call) lampAnswered(win *end) {
	if win != nil && win.acct != nil {
		c.b.setLamp(win.acct, c.lampDialogOf(win.acct, lampRecipient, lampConfirmed))
	}
	if c.who.acct != nil {
		c.b.setLamp(c.who.acct, c.lampDialogOf(c.who.acct, lampInitiator, lampConfirmed))
	}
}

// lampEnded ends the call on every line it shows on.
func (b *b2bua) lampEnded(id string) {
	for _, g := range b.board.showing(id) {
		if b.board.set(g, lampDialog{id: id, state: lampTerminated}, b.s.cfg.Now()) {
			go b.lampChanged(g)
		}
	}
}
