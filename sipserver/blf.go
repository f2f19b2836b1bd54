package sipserver

import (
	"bytes"
	"context"
	"encoding/xml"
	"sort"
	"strconv"
	"strings"
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
// handling); this file takes the SUBSCRIBEs and sends the documents, and
// lampboard.go holds the lines' state.

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
	// maxLampDialogs bounds the dialogs one document shows (ringing ones
	// first, then the most recent): a main line with hundreds of calls
	// would otherwise make a NOTIFY too large for UDP (64 KiB), and a
	// lamp has only a few states to show anyway.
	maxLampDialogs = 32
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
	if !accepts(req, dialogType) {
		b.s.respond(tx, req, sip.StatusNotAcceptable, "Not Acceptable", sip.NewHeader("Accept", dialogType))
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

// accepts reports whether a request's Accept headers (none: the event
// package's default, RFC 6665 §4.2.1.1) allow body type ctype.
func accepts(req *sip.Request, ctype string) bool {
	major, _, _ := strings.Cut(ctype, "/")
	found := false
	for _, h := range req.GetHeaders("Accept") {
		found = true
		for _, t := range strings.Split(h.Value(), ",") {
			t, _, _ = strings.Cut(t, ";")
			switch t = strings.ToLower(strings.TrimSpace(t)); t {
			case ctype, "*/*", major + "/*":
				return true
			}
		}
	}
	return !found
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

// lampAllowed reports whether a subscription's subscriber may still
// watch its line: both accounts exist, in the same company. An account
// deleted or moved to another company (an employee who left) stops
// learning the line's calls at once, not when its subscription expires.
func (b *b2bua) lampAllowed(s *mwiSub) bool {
	by, line := b.view.Account(s.owner), b.view.Account(s.acct)
	return by != nil && line != nil && b.view.SameCompany(by, line)
}

// lampAccountsChanged ends, after a change of accounts (the view already
// applied it: it hears the store's changes first), the busy-lamp
// subscriptions whose subscriber may no longer watch their line.
func (b *b2bua) lampAccountsChanged() {
	b.lamps.mu.Lock()
	var gone []*mwiSub
	for _, s := range b.lamps.subs {
		if !b.lampAllowed(s) {
			gone = append(gone, s)
		}
	}
	b.lamps.mu.Unlock()
	for _, s := range gone {
		b.lamps.remove(s)
		b.notifyLamp(s, true, true)
	}
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
//
// force sends it even so: the first NOTIFY, and the one RFC 6665
// §4.2.1.2 requires on every refresh. A subscription whose subscriber
// may no longer watch the line (see lampAllowed) is ended instead, with
// no dialogs in its last document.
func (b *b2bua) notifyLamp(s *mwiSub, terminated, force bool) {
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	s.mu.Lock()
	seq, dialogs := b.board.snapshot(s.acct, s.sent)
	if !b.lampAllowed(s) {
		b.lamps.remove(s)
		terminated, dialogs = true, nil
	}
	if !terminated && !force && s.version > 0 && seq <= s.sent {
		s.mu.Unlock()
		return
	}
	entity := sip.Uri{Scheme: "sip", User: s.local.User, Host: s.local.Host}
	body := dialogInfo(s.version, entity.String(), dialogs, b.lampBudget(s))
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
			b.notifyLamp(s, false, false)
		}()
	}
}

// dialogInfo is the RFC 4235 document of a line: state full, its
// dialogs with the other party and, while ringing, the URI that picks
// the call up. The dialog elements carry no call-id or tags (optional
// in RFC 4235): see lampDialogOf. It shows at most maxLampDialogs, and
// with budget > 0 only what fits in budget bytes: ringing ones first,
// then the most recent (lampShown).
func dialogInfo(version int, entity string, dialogs []lampDialog, budget int) []byte {
	const end = "</dialog-info>\n"
	var w bytes.Buffer
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.WriteString(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="` + strconv.Itoa(version) +
		`" state="full" entity="` + esc(entity) + `">` + "\n")
	var el bytes.Buffer // one dialog element, onto w if it fits
	for _, d := range lampShown(dialogs) {
		el.Reset()
		el.WriteString(`<dialog id="` + esc(d.id) + `" direction="` + d.direction + `">`)
		el.WriteString(`<state>` + d.state + `</state>`)
		el.WriteString(`<local><identity>` + esc(d.local) + `</identity>`)
		if d.pickup != "" && d.ended == 0 {
			el.WriteString(`<target uri="` + esc(d.pickup) + `"/>`)
		}
		el.WriteString(`</local>`)
		el.WriteString(`<remote><identity>` + esc(d.remote) + `</identity><target uri="` + esc(d.remote) + `"/></remote>`)
		el.WriteString("</dialog>\n")
		if budget > 0 && w.Len()+el.Len()+len(end) > budget {
			break
		}
		w.Write(el.Bytes())
	}
	w.WriteString(end)
	return w.Bytes()
}

// lampShown is the dialogs a document may show, in the order it adds
// them: the ringing ones first (what a BLF key picks up), then the most
// recent change first; at most maxLampDialogs.
func lampShown(dialogs []lampDialog) []lampDialog {
	sort.SliceStable(dialogs, func(i, j int) bool {
		ei, ej := dialogs[i].state == lampEarly && dialogs[i].ended == 0, dialogs[j].state == lampEarly && dialogs[j].ended == 0
		if ei != ej {
			return ei
		}
		return dialogs[i].seq > dialogs[j].seq
	})
	return dialogs[:min(len(dialogs), maxLampDialogs)]
}

// lampBudget is the size a subscription's dialog-info document may
// have: over UDP what leaves its NOTIFY in one datagram (sipgo refuses
// UDP messages above sip.UDPMTUSize-200, the 1300 bytes of RFC 3261
// §18.1.1), its headers estimated from their variable parts; no bound
// (0) over TCP and TLS.
func (b *b2bua) lampBudget(s *mwiSub) int {
	if !strings.EqualFold(s.transport, "udp") {
		return 0
	}
	const fixed = 520 // header names, Via, CSeq, Event, Contact, lengths...
	vary := len(s.local.String()) + len(s.remote.String()) + len(s.target.String()) + len(s.callID) +
		len(s.localTag) + len(s.remoteTag) + len(b.host)
	return max(sip.UDPMTUSize-200-fixed-vary, 300)
}

// esc escapes text for XML attribute values and content.
func esc(s string) string {
	var w strings.Builder
	xml.EscapeText(&w, []byte(s))
	return w.String()
}
