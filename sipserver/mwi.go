package sipserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"xc5"
	"xc5/resource"
	"xc5/routing"
)

// Message-waiting indication (RFC 3842 over RFC 6665): a phone that
// SUBSCRIBEs to message-summary for its own account gets a NOTIFY with
// Messages-Waiting and the counts now and on every change of the
// mailbox (a message left, heard, saved or deleted, by phone or through
// the API, on any node: the store's change feed brings other nodes'
// writes). Phones that never subscribe, as many desk phones expect, get
// the same NOTIFY unsolicited at their registered contacts
// (Config.NoUnsolicitedMWI turns that off).

const (
	mwiEvent = "message-summary"
	mwiType  = "application/simple-message-summary"
)

// mwiSub is one subscription: a dialog xc5 holds as notifier.
type mwiSub struct {
	key       string // dialog key: Call-ID and xc5's tag
	acct      string // the account's GUID: whose state is sent
	owner     string // the subscriber's account GUID (its cap); acct for MWI
	event     string // dialogEvent for busy lamps (blf.go); "" for message-summary
	username  string
	callID    string
	localTag  string
	remote    sip.Uri // the subscriber's From (its tag in remoteTag)
	remoteTag string
	local     sip.Uri // the subscriber's To (what it subscribed to)
	target    sip.Uri // the subscriber's Contact
	dest      string  // where its SUBSCRIBE came from (NAT)
	transport string

	mu   sync.Mutex // orders the NOTIFYs of one subscription
	cseq uint32
	// expires is when the subscription ends (Unix nanoseconds): atomic,
	// so the sweep never waits on a NOTIFY in flight (mu).
	expires atomic.Int64
	created time.Time
	version int    // dialog-info version (blf.go), under mu
	sent    uint64 // the line's last state sent (blf.go), under mu
}

func (s *mwiSub) ends() time.Time { return time.Unix(0, s.expires.Load()) }

// mwi holds this node's subscriptions.
type mwi struct {
	mu      sync.Mutex
	subs    map[string]*mwiSub
	byAcct  map[string]map[*mwiSub]struct{} // by whose state is sent
	byOwner map[string]map[*mwiSub]struct{} // by subscriber, for the cap
}

func newMWI() *mwi {
	return &mwi{subs: map[string]*mwiSub{}, byAcct: map[string]map[*mwiSub]struct{}{}, byOwner: map[string]map[*mwiSub]struct{}{}}
}

// add keeps s; a subscriber already holding max subscriptions (a phone
// that re-subscribes after each reboot, or a flood) loses its oldest,
// which add returns. max <= 0: no bound.
func (m *mwi) add(s *mwiSub, max int) (dropped *mwiSub) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.owner == "" {
		s.owner = s.acct
	}
	if m.byOwner[s.owner] == nil {
		m.byOwner[s.owner] = map[*mwiSub]struct{}{}
	}
	if max > 0 && len(m.byOwner[s.owner]) >= max {
		for o := range m.byOwner[s.owner] {
			if dropped == nil || o.created.Before(dropped.created) {
				dropped = o
			}
		}
		m.removeLocked(dropped)
	}
	if m.byAcct[s.acct] == nil {
		m.byAcct[s.acct] = map[*mwiSub]struct{}{}
	}
	m.subs[s.key] = s
	m.byAcct[s.acct][s] = struct{}{}
	m.byOwner[s.owner][s] = struct{}{}
	return dropped
}

func (m *mwi) remove(s *mwiSub) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(s)
}

func (m *mwi) removeLocked(s *mwiSub) {
	delete(m.subs, s.key)
	delete(m.byAcct[s.acct], s)
	if len(m.byAcct[s.acct]) == 0 {
		delete(m.byAcct, s.acct)
	}
	delete(m.byOwner[s.owner], s)
	if len(m.byOwner[s.owner]) == 0 {
		delete(m.byOwner, s.owner)
	}
}

// get is the subscription of a dialog key, nil if none.
func (m *mwi) get(key string) *mwiSub {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subs[key]
}

func (m *mwi) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs)
}

func (m *mwi) of(acct string) []*mwiSub {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*mwiSub, 0, len(m.byAcct[acct]))
	for s := range m.byAcct[acct] {
		out = append(out, s)
	}
	return out
}

// Subscriptions reports this node's message-summary subscriptions.
func (s *Server) Subscriptions() int {
	s.mu.Lock()
	b := s.b2b
	s.mu.Unlock()
	if b == nil {
		return 0
	}
	b.mwi.mu.Lock()
	defer b.mwi.mu.Unlock()
	return len(b.mwi.subs)
}

// onSubscribe takes a SUBSCRIBE: a new message-summary subscription of
// an account to its own mailbox (authenticated like a REGISTER), or the
// refresh (or end, Expires: 0) of one.
func (b *b2bua) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	event := ""
	if ev := req.GetHeader("Event"); ev != nil {
		event = strings.ToLower(strings.TrimSpace(strings.Split(ev.Value(), ";")[0]))
	}
	if event != mwiEvent && event != dialogEvent {
		b.s.respond(tx, req, 489, "Bad Event", sip.NewHeader("Allow-Events", mwiEvent+", "+dialogEvent))
		return
	}
	expires := b.s.cfg.MaxExpires
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			b.s.respond(tx, req, sip.StatusBadRequest, "Bad Expires")
			return
		}
		// Capped before it is made a Duration, which a huge Expires
		// (RFC 3261 allows up to 2^32-1, parsers more) would overflow.
		if err != nil || n > uint64(b.s.cfg.MaxExpires/time.Second) {
			expires = b.s.cfg.MaxExpires
		} else {
			expires = time.Duration(n) * time.Second
		}
	}
	if expires > 0 && expires < b.s.cfg.MinExpires {
		b.s.respond(tx, req, sip.StatusIntervalToBrief, "Interval Too Brief", sip.NewHeader("Min-Expires", seconds(b.s.cfg.MinExpires)))
		return
	}
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		b.refreshSubscription(req, tx, expires)
		return
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	creds, ok := b.s.authenticate(ctx, req, tx, false)
	if !ok {
		return
	}
	if event == dialogEvent {
		b.subscribeLamp(req, tx, creds.GUID, expires)
		return
	}
	a := b.view.Account(creds.GUID)
	if a == nil || !subscribesOwn(req.To().Address, a) {
		b.s.respond(tx, req, sip.StatusForbidden, "Only Your Own Mailbox")
		return
	}
	sub := b.newSub(req, a.GUID, a.Username, expires)
	if !b.acceptSub(req, tx, sub, expires) {
		return
	}
	if expires > 0 {
		if old := b.mwi.add(sub, b.s.cfg.MaxContacts); old != nil {
			go b.notifySub(old, true) // the account's oldest, over the cap: ended
		}
	}
	go b.notifySub(sub, expires == 0)
}

// newSub is the subscription a new SUBSCRIBE opens, xc5's tag drawn.
func (b *b2bua) newSub(req *sip.Request, acct, username string, expires time.Duration) *mwiSub {
	sub := &mwiSub{key: dialogKey(req.CallID().Value(), sip.GenerateTagN(16)), acct: acct, username: username,
		callID: req.CallID().Value(), remote: req.From().Address, local: req.To().Address,
		dest: req.Source(), transport: req.Transport()}
	sub.localTag = strings.TrimPrefix(sub.key, sub.callID+"\x00")
	sub.remoteTag, _ = req.From().Params.Get("tag")
	sub.target = req.Recipient
	if ct := req.Contact(); ct != nil {
		sub.target = ct.Address
	}
	sub.expires.Store(b.s.cfg.Now().Add(expires).UnixNano())
	sub.created = b.s.cfg.Now()
	return sub
}

// acceptSub answers a new SUBSCRIBE 200 in sub's dialog; false when the
// answer could not be sent.
func (b *b2bua) acceptSub(req *sip.Request, tx sip.ServerTransaction, sub *mwiSub, expires time.Duration) bool {
	res := b.s.response(req, sip.StatusOK, "OK", sip.NewHeader("Expires", seconds(expires)))
	res.To().Params.Add("tag", sub.localTag)
	ct := b.contact(req.Transport())
	res.AppendHeader(&ct)
	return tx.Respond(res) == nil
}

// subscribesOwn reports a SUBSCRIBE whose To names the subscriber's own
// account: its username, or its local part at any host.
func subscribesOwn(to sip.Uri, a *routing.Account) bool {
	want := strings.ToLower(a.Username)
	local, _, _ := strings.Cut(want, "@")
	user := strings.ToLower(to.User)
	return user == local || user+"@"+strings.ToLower(to.Host) == want || strings.ToLower(to.Host) == want && user == ""
}

// refreshSubscription renews (or ends) a subscription in its dialog.
func (b *b2bua) refreshSubscription(req *sip.Request, tx sip.ServerTransaction, expires time.Duration) {
	m := b.mwi
	sub := m.get(requestKey(req))
	if sub == nil {
		m = b.lamps
		sub = m.get(requestKey(req))
	}
	if sub == nil {
		b.s.respond(statelessTx{tx}, req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist")
		return
	}
	sub.expires.Store(b.s.cfg.Now().Add(expires).UnixNano())
	b.s.respond(tx, req, sip.StatusOK, "OK", sip.NewHeader("Expires", seconds(expires)))
	if expires == 0 {
		m.remove(sub)
	}
	go b.notifySub(sub, expires == 0)
}

// mailboxChanged sends the new state of an account's mailbox to its
// subscriptions on this node and, for a change written on this node
// (local) when it holds none, to the account's registered phones: one
// node sends the unsolicited NOTIFY, not every node that hears the feed.
func (b *b2bua) mailboxChanged(acct string, local bool) {
	subs := b.mwi.of(acct)
	for _, s := range subs {
		b.notifySub(s, false)
	}
	if len(subs) > 0 || !local || b.s.cfg.NoUnsolicitedMWI {
		return
	}
	a := b.view.Account(acct)
	if a == nil || a.UmsPin == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	bs, err := b.s.reg.ContactsOf(ctx, acct, b.s.cfg.Now())
	if err != nil {
		return
	}
	body, err := b.summary(ctx, a.GUID, a.Username)
	if err != nil {
		return
	}
	for _, bnd := range bs {
		b.notifyContact(ctx, a.Username, bnd, body)
	}
}

// summary is the message-summary body of an account's mailbox.
func (b *b2bua) summary(ctx context.Context, acct, username string) ([]byte, error) {
	var fresh, old int
	err := b.store.ListVoicemail(ctx, acct, func(v xc5.Voicemail) error {
		if v.Status == xc5.VoicemailNew {
			fresh++
		} else {
			old++
		}
		return nil
	})
	if err != nil && xc5.ErrorCode(err) != xc5.ENOTFOUND {
		return nil, err
	}
	waiting := "no"
	if fresh > 0 {
		waiting = "yes"
	}
	u := aorURI(username, b.host)
	return []byte(fmt.Sprintf("Messages-Waiting: %s\r\nMessage-Account: %s\r\nVoice-Message: %d/%d (0/0)\r\n", waiting, u.String(), fresh, old)), nil
}

// notifySub sends a subscription its NOTIFY: the state now, or its end.
func (b *b2bua) notifySub(s *mwiSub, terminated bool) {
	if s.event == dialogEvent {
		b.notifyLamp(s, terminated, true)
		return
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	body, err := b.summary(ctx, s.acct, s.username)
	if err != nil {
		b.s.log.Debug("message summary not read", "account", s.username, "err", err)
		return
	}
	if gone := b.notifyLocked(ctx, s, terminated, body); gone {
		// The subscriber is gone (481: it forgot the dialog, a reboot;
		// no answer at all): the subscription ends now, not at its
		// expiry (RFC 6665 §4.2.2), and no longer costs every change.
		b.mwi.remove(s)
	}
}

// notifyLocked sends one NOTIFY of s, its NOTIFYs in order, and reports
// a subscriber that is gone.
func (b *b2bua) notifyLocked(ctx context.Context, s *mwiSub, terminated bool, body []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return b.notifyHeld(ctx, s, terminated, body)
}

// notifyHeld sends one NOTIFY of s, s.mu held.
func (b *b2bua) notifyHeld(ctx context.Context, s *mwiSub, terminated bool, body []byte) bool {
	state := "active;expires=" + strconv.Itoa(int(s.ends().Sub(b.s.cfg.Now())/time.Second))
	if terminated || !b.s.cfg.Now().Before(s.ends()) {
		state = "terminated;reason=timeout"
	}
	s.cseq++
	req := sip.NewRequest(sip.NOTIFY, s.target)
	from := &sip.FromHeader{Address: s.local, Params: sip.NewParams()}
	from.Params.Add("tag", s.localTag)
	to := &sip.ToHeader{Address: s.remote, Params: sip.NewParams()}
	if s.remoteTag != "" {
		to.Params.Add("tag", s.remoteTag)
	}
	cid := sip.CallIDHeader(s.callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: s.cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	event, ctype := mwiEvent, mwiType
	if s.event == dialogEvent {
		event, ctype = dialogEvent, dialogType
	}
	res, err := b.sendEventNotify(ctx, req, s.transport, s.dest, event, ctype, body)
	return subscriberGone(res, err)
}

// subscriberGone reports a NOTIFY's outcome that ends its subscription
// (RFC 6665 §4.2.2): a 481 (the subscriber forgot the dialog) or no
// answer at all in time. A NOTIFY that could not be sent here (too large
// for UDP, a connection to open) says nothing of the subscriber: the
// subscription stays, the next change may go through.
func subscriberGone(res *sip.Response, err error) bool {
	if err != nil {
		return errors.Is(err, sip.ErrTransactionTimeout) || errors.Is(err, context.DeadlineExceeded)
	}
	return res.StatusCode == sip.StatusCallTransactionDoesNotExists
}

// notifyContact sends an unsolicited NOTIFY (outside any subscription)
// to one registered contact of an account.
func (b *b2bua) notifyContact(ctx context.Context, username string, bnd xc5.Binding, body []byte) {
	var target sip.Uri
	if err := sip.ParseUri(strings.Trim(bnd.Contact, "<>"), &target); err != nil {
		return
	}
	transport, dest := "UDP", ""
	if tp, addr, ok := strings.Cut(bnd.Source, ":"); ok {
		transport, dest = strings.ToUpper(tp), addr
	}
	req := sip.NewRequest(sip.NOTIFY, target)
	u := aorURI(username, b.host)
	from := &sip.FromHeader{Address: u, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: u})
	cid := sip.CallIDHeader(uuid.NewString())
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.NOTIFY})
	req.AppendHeader(sip.NewHeader("Subscription-State", "active"))
	b.sendNotify(ctx, req, transport, dest, body)
}

func (b *b2bua) sendNotify(ctx context.Context, req *sip.Request, transport, dest string, body []byte) (*sip.Response, error) {
	return b.sendEventNotify(ctx, req, transport, dest, mwiEvent, mwiType, body)
}

// sendEventNotify sends a NOTIFY of an event package with its body.
func (b *b2bua) sendEventNotify(ctx context.Context, req *sip.Request, transport, dest, event, ctype string, body []byte) (*sip.Response, error) {
	req.SetTransport(strings.ToUpper(transport))
	if strings.EqualFold(transport, "udp") {
		if la, ok := b.s.udpAddr(); ok {
			req.Laddr = la
		}
	}
	if _, _, err := net.SplitHostPort(dest); err == nil {
		req.SetDestination(dest)
	}
	req.AppendHeader(sip.NewHeader("Event", event))
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	ct := b.contact(transport)
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Content-Type", ctype))
	req.SetBody(body)
	client := b.client
	if strings.EqualFold(transport, "tls") {
		client = b.tls
	}
	res, err := client.Do(ctx, req)
	if err != nil {
		b.s.log.Debug("NOTIFY failed", "to", req.Recipient.String(), "err", err)
	}
	return res, err
}

// sweepSubscriptions ends the subscriptions that were not refreshed in
// time, with a last NOTIFY (reason=timeout).
func (b *b2bua) sweepSubscriptions() {
	for _, m := range []*mwi{b.mwi, b.lamps} {
		now := b.s.cfg.Now()
		m.mu.Lock()
		var gone []*mwiSub
		for _, s := range m.subs {
			if !now.Before(s.ends()) {
				gone = append(gone, s)
			}
		}
		m.mu.Unlock()
		for _, s := range gone {
			m.remove(s)
			go b.notifySub(s, true)
		}
	}
}

// watchMailboxes sends NOTIFYs on mailbox changes and sweeps expired
// subscriptions until the server stops.
func (b *b2bua) watchMailboxes(store resource.Notifier) {
	store.OnChange(func(c resource.Change) {
		if c.Resource == resource.Voicemail && c.Account != "" {
			go b.mailboxChanged(c.Account, !c.Remote)
		}
		if c.Resource == nil || c.Resource.Tree || c.Resource.View { // an account, through any path
			go b.lampAccountsChanged() // blf.go
		}
	})
	b.s.wg.Add(1)
	go func() {
		defer b.s.wg.Done()
		t := time.NewTicker(b.s.cfg.SweepInterval)
		defer t.Stop()
		for {
			select {
			case <-b.s.ctx.Done():
				return
			case <-t.C:
				b.sweepSubscriptions()
			}
		}
	}()
}
