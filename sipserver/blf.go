package sipserver

import (
	"bytes"
	"context"
	"encoding/xml"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/routing"
)

// Busy lamps (RFC 4235, the dialog event package over RFC 6665): a phone
// SUBSCRIBEs to Event: dialog for a colleague's line (its extension or
// username, same company only) and gets application/dialog-info+xml
// NOTIFYs as the line's calls ring (early), are answered (confirmed) and
// end (terminated), so that its BLF key lights and, pressed while it
// blinks, picks the ringing call up. The subscriptions are held by the
// message-summary machinery (mwi.go: dialogs, refresh, expiry, caps, 481
// handling); this file holds the lines' state and its documents.

const (
	dialogEvent = "dialog"
	dialogType  = "application/dialog-info+xml"
	// maxLampsPerPhone bounds the busy-lamp subscriptions of one
	// subscribing account (the oldest is ended beyond it): a desk phone
	// with expansion modules watches up to about 180 lines.
	maxLampsPerPhone = 250
	// lampEndedKept is how long a terminated dialog stays in the line's
	// state, so that a NOTIFY sent after it still reports its end.
	lampEndedKept = 30 * time.Second
	// lampFanout bounds the NOTIFYs one state change has in flight.
	lampFanout = 256
)

// Dialog states and directions of RFC 4235.
const (
	lampTrying     = "trying"
	lampEarly      = "early"
	lampConfirmed  = "confirmed"
	lampTerminated = "terminated"
	lampInitiator  = "initiator"
	lampRecipient  = "recipient"
)

// lampDialog is one call of a line as its watchers see it.
type lampDialog struct {
	id        string // the call's Call-ID: one dialog element a call
	callID    string // the caller's dialog with xc5 (what a Replaces names)
	localTag  string
	remoteTag string
	direction string
	state     string
	local     string // the line, as a SIP URI
	remote    string // the other party, as a SIP URI
	pickup    string // while ringing: the URI that picks the call up (**EXT)
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

// subscribeLamp takes a new SUBSCRIBE to the dialog package from an
// authenticated account: the watched line is named by the To URI's user
// part (an extension of the subscriber's organisation, or a username),
// and must be of the subscriber's company (else 403).
func (b *b2bua) subscribeLamp(req *sip.Request, tx sip.ServerTransaction, subscriber string, expires time.Duration) {
	by := b.view.Account(subscriber)
	if by == nil {
		b.s.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return
	}
	line := b.lampTarget(by, req.To().Address)
	switch {
	case line == nil:
		b.s.respond(tx, req, sip.StatusNotFound, "Unknown Line")
		return
	case !b.view.SameCompany(by, line):
		b.s.respond(tx, req, sip.StatusForbidden, "Not A Line Of Your Company")
		return
	}
	sub := b.newSub(req, line.GUID, line.Username, expires)
	sub.owner, sub.event = by.GUID, dialogEvent
	if !b.acceptSub(req, tx, sub, expires) {
		return
	}
	if expires > 0 {
		if old := b.lamps.add(sub, maxLampsPerPhone); old != nil {
			go b.notifySub(old, true)
		}
	}
	go b.notifySub(sub, expires == 0)
}

// lampTarget resolves the line a SUBSCRIBE names: an extension of the
// subscriber's organisation (the callrules' extension plan), a full
// username (user@host), or a local part in the subscriber's domain.
func (b *b2bua) lampTarget(by *routing.Account, to sip.Uri) *routing.Account {
	user := strings.ToLower(to.User)
	if user == "" {
		return nil
	}
	if a := b.view.Extension(by, user); a != nil {
		return a
	}
	if strings.Contains(user, "@") {
		return b.view.Account(user)
	}
	if a := b.view.Account(user + "@" + strings.ToLower(to.Host)); a != nil {
		return a
	}
	_, domain, _ := strings.Cut(by.Username, "@")
	if domain == "" {
		domain = by.Username
	}
	return b.view.Account(user + "@" + domain)
}

// Lamps reports this node's busy-lamp (dialog) subscriptions.
func (s *Server) Lamps() int {
	s.mu.RLock()
	b := s.b2b
	s.mu.RUnlock()
	if b == nil {
		return 0
	}
	return b.lamps.count()
}

// notifyLamp sends a subscription the state of its line: the full
// dialog-info document as the line is now. A NOTIFY whose state a later
// one already carried is not sent, so that watchers see the changes of
// a line in order even when changes come faster than NOTIFYs.
func (b *b2bua) notifyLamp(s *mwiSub, terminated bool) {
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	s.mu.Lock()
	seq, dialogs := b.board.snapshot(s.acct, s.sent)
	if !terminated && s.version > 0 && seq <= s.sent {
		s.mu.Unlock()
		return
	}
	entity := sip.Uri{Scheme: "sip", User: s.local.User, Host: s.local.Host}
	body := dialogInfo(s.version, entity.String(), dialogs)
	s.version++
	s.sent = max(s.sent, seq)
	gone := b.notifyHeld(ctx, s, terminated, body)
	s.mu.Unlock()
	if gone {
		b.lamps.remove(s) // see notifySub
	}
}

// lampChanged sends a line's new state to its watchers on this node, at
// most lampFanout NOTIFYs at once.
func (b *b2bua) lampChanged(acct string) {
	subs := b.lamps.of(acct)
	if len(subs) == 0 {
		return
	}
	sem := make(chan struct{}, lampFanout)
	for _, s := range subs {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			b.notifyLamp(s, false)
		}()
	}
}

// setLamp records a dialog on a line and tells its watchers.
func (b *b2bua) setLamp(a *routing.Account, d lampDialog) {
	if a == nil {
		return
	}
	d.local = "sip:" + a.Username
	if b.board.set(a.GUID, d, b.s.cfg.Now()) {
		go b.lampChanged(a.GUID)
	}
}

// lampDialogOf is the dialog element of call c on a line.
func (c *call) lampDialogOf(direction, state string) lampDialog {
	xc5Tag := strings.TrimPrefix(c.caller.key, c.id+"\x00")
	callerTag, _ := c.req.From().Params.Get("tag")
	host := c.b.host
	d := lampDialog{id: c.id, callID: c.id, direction: direction, state: state}
	if direction == lampInitiator {
		d.localTag, d.remoteTag = callerTag, xc5Tag
		d.remote = "sip:" + c.dialed + "@" + host
	} else {
		d.localTag, d.remoteTag = xc5Tag, callerTag
		d.remote = "sip:" + c.presented() + "@" + host
	}
	return d
}

// lampCalling shows a new call on its caller's line.
func (c *call) lampCalling() {
	if c.who.acct != nil {
		c.b.setLamp(c.who.acct, c.lampDialogOf(lampInitiator, lampTrying))
	}
}

// lampRinging shows a ring on the lines whose phones it alerts, with the
// directed pickup code (**EXT) as the target a BLF key's press dials.
func (c *call) lampRinging(rg *ringing) {
	for _, a := range rg.accounts {
		d := c.lampDialogOf(lampRecipient, lampEarly)
		if ext := c.b.view.ExtensionOf(a); ext != "" {
			d.pickup = "sip:**" + ext + "@" + c.b.host
		}
		c.b.setLamp(a, d)
	}
	if c.who.acct != nil {
		c.b.setLamp(c.who.acct, c.lampDialogOf(lampInitiator, lampEarly))
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
		c.b.setLamp(win.acct, c.lampDialogOf(lampRecipient, lampConfirmed))
	}
	if c.who.acct != nil {
		c.b.setLamp(c.who.acct, c.lampDialogOf(lampInitiator, lampConfirmed))
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

// dialogInfo is the RFC 4235 document of a line: state full, its
// dialogs with the Call-ID and tags phones use to pick a ringing call up,
// the other party, and while ringing the URI that picks it up.
func dialogInfo(version int, entity string, dialogs []lampDialog) []byte {
	var w bytes.Buffer
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.WriteString(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="` + strconv.Itoa(version) +
		`" state="full" entity="` + esc(entity) + `">` + "\n")
	for _, d := range dialogs {
		w.WriteString(`<dialog id="` + esc(d.id) + `" call-id="` + esc(d.callID) + `" local-tag="` + esc(d.localTag) +
			`" remote-tag="` + esc(d.remoteTag) + `" direction="` + d.direction + `">`)
		w.WriteString(`<state>` + d.state + `</state>`)
		w.WriteString(`<local><identity>` + esc(d.local) + `</identity>`)
		if d.pickup != "" && d.ended == 0 {
			w.WriteString(`<target uri="` + esc(d.pickup) + `"/>`)
		}
		w.WriteString(`</local>`)
		w.WriteString(`<remote><identity>` + esc(d.remote) + `</identity><target uri="` + esc(d.remote) + `"/></remote>`)
		w.WriteString("</dialog>\n")
	}
	w.WriteString("</dialog-info>\n")
	return w.Bytes()
}

// esc escapes text for XML attribute values and content.
func esc(s string) string {
	var w strings.Builder
	xml.EscapeText(&w, []byte(s))
	return w.String()
}
