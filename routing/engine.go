package routing

import (
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the account time zones must resolve on machines without zoneinfo

	"xc5/dialplan"
)

// maxDepth bounds how many times a call is handed from account to account
// (forwards, deliveries): A→B→A loops end with 482 instead of a hang.
const maxDepth = 10

// walker decides one call.
type walker struct {
	v      *View
	d      Driver
	call   Call
	t      Trace
	menus  int
	depth  int
	seen   [maxDepth]string
	done   bool
	caller *Account
	// inEmergency is set once the call is an emergency call, so that a
	// rule naming <CallRule-Emergency> that rewrites to another emergency
	// number is dialed, not walked again.
	inEmergency bool
}

// Decide walks a call through the provisioning and returns what happened.
// It takes the view's lock only for lookups, never across the driver's
// calls, so a SIP driver may block while phones ring.
func (v *View) Decide(call Call, d Driver) Trace {
	<-v.Ready()
	w := &walker{v: v, d: d, call: call}
	if call.At.IsZero() {
		w.call.At = time.Now()
	}
	w.t.Steps = make([]Step, 0, 8)
	if call.External {
		w.fromExternal(call.From, call.Dialed)
	} else if a := v.lookupAccount(call.From); a != nil {
		w.caller = a
		w.fromAccount(a, call.Dialed)
	} else {
		w.fromExternal(call.From, call.Dialed)
	}
	if !w.done {
		w.end(Outcome{Outcome: Unanswered})
	}
	if len(w.t.Outcome.Record) == 0 {
		w.t.Outcome.Record = nil
	}
	return w.t
}

func (w *walker) step(kind string, a *Account, text string) {
	s := Step{Kind: kind, Text: text}
	if a != nil {
		s.Account = a.Username
	}
	w.t.Steps = append(w.t.Steps, s)
}

func (w *walker) ruleStep(kind string, a *Account, text, guid string, order int) {
	w.t.Steps = append(w.t.Steps, Step{Kind: kind, Account: a.Username, Text: text, GUID: guid, Order: order, HasOrder: true})
}

func (w *walker) end(o Outcome) {
	if w.done {
		return
	}
	o.Record = append(o.Record, w.t.Outcome.Record...)
	w.t.Outcome = o
	w.done = true
}

func (w *walker) record(addr string) {
	for _, r := range w.t.Outcome.Record {
		if r == addr {
			return
		}
	}
	w.t.Outcome.Record = append(w.t.Outcome.Record, addr)
}

func (w *walker) drop(a *Account, code int, reason string) {
	w.step("drop", a, strconv.Itoa(code)+" "+reason)
	w.end(Outcome{Outcome: Dropped, Code: code, Reason: reason})
}

// ---- the caller's side ----

// fromExternal handles a call from a carrier: the called number must be
// one of ours; xc5 does not transit calls between carriers.
func (w *walker) fromExternal(from, dialed string) {
	w.step("caller", nil, "external caller "+from)
	t := w.v.translate(dialed, w.v.defaults.CountryCode, w.v.defaults.AreaCode)
	if n := w.v.lookupNumber(t.e164()); n != nil {
		w.deliverNumber(n)
		return
	}
	w.drop(nil, 404, "Not Found")
}

func (w *walker) fromAccount(a *Account, dialed string) {
	chain := w.v.ancestors(a)
	w.step("caller", a, "presented as "+w.v.presented(a, w.call.Presents))
	if !w.v.Enabled(a) {
		w.drop(a, 403, "Forbidden")
		return
	}
	cc, ac := w.v.inheritedNumbering(chain)
	// 1. early rules on the raw dialed string, unless it is an emergency
	// number as dialed.
	if !w.v.IsEmergency(w.v.translate(dialed, cc, ac)) {
		dialed = w.early(chain, dialed)
	}
	// 2. translation: what the number really is.
	t := w.v.translate(dialed, cc, ac)
	if t.Number != "" && t.Number != dialed {
		w.step("translate", a, dialed+" is "+t.Number)
	}
	if w.v.IsEmergency(t) {
		w.emergencyCall(a, chain, dialed, t)
		return
	}
	if w.d.AtLimit(a) {
		w.step("limit", a, "concurrent_limit "+strconv.Itoa(a.ConcurrentLimit)+" reached")
		w.end(Outcome{Outcome: Busy})
		return
	}
	if strings.HasPrefix(dialed, "*") || strings.HasPrefix(dialed, "#") {
		w.feature(a, chain, dialed)
		return
	}
	if w.v.isVoicemailNumber(t) && a.UmsPin != "" {
		w.step("feature", a, t.Number+" is the voicemail number: dials in to the mailbox of "+a.Username)
		w.end(Outcome{Outcome: Mailbox, Mailbox: a.Username})
		return
	}
	// 3. callrules of the account and its ancestors, in order; a drop:
	// rule of an ancestor first, whatever the account's own rules say.
	if w.ancestorBlocks(a, chain, dialed, t, false) {
		return
	}
	if w.callRules(a, chain, dialed, t, func(*CallRule) bool { return true }) {
		return
	}
	// 4. no rule decided: the number itself.
	w.dialNumber(a, dialed, t, "leaves over a carrier to ")
}

// callRules walks the chain's callrules that apply (in order, early rules
// aside) and match the call: a rule that only records adds its address
// and the walk goes on; the first that decides is applied. It reports
// whether one decided.
func (w *walker) callRules(a *Account, chain []*Account, dialed string, t Translation, applies func(*CallRule) bool) bool {
	var idx [maxDepth]int
	for {
		r, owner := nextRule(chain, &idx)
		if r == nil {
			return false
		}
		if r.EarlyRule || !applies(r) || !w.ruleMatches(r, dialed, t) {
			continue
		}
		if r.RecordEmail != "" && !r.recordsOnly() { // a rule that only records is for calls to its account
			w.ruleStep("record", owner, "records the call to "+r.RecordEmail, r.GUID, r.Order)
			w.record(r.RecordEmail)
		}
		if r.Username == "" && !r.HasDest {
			continue
		}
		w.applyCallRule(a, chain, owner, r, dialed, t)
		return true
	}
}

// early applies the first early rule of the chain (nearest account
// first) matching the raw dialed string, and returns the rewritten string.
func (w *walker) early(chain []*Account, dialed string) string {
	out, r, owner := earlyRewrite(chain, dialed)
	if r != nil {
		w.ruleStep("early", owner, "rewrites the dialed string to "+out, r.GUID, r.Order)
	}
	return out
}

// earlyRewrite applies the first early rule of the chain matching dialed
// and returns the result with the rule and its owner (nil when none).
func earlyRewrite(chain []*Account, dialed string) (string, *CallRule, *Account) {
	for _, owner := range chain {
		if r := firstEarly(owner, dialed); r != nil {
			rest := dialed[len(r.PrefixRaw):]
			if r.HasDest && r.Destination.Kind == dialplan.KindPattern {
				dialed = r.Destination.Expand(rest)
			} else if r.HasDest {
				dialed = r.Destination.String()
			}
			return dialed, r, owner
		}
	}
	return dialed, nil, nil
}

// EarlyRewrite is what an account's caller dialed once the early rules of
// its chain apply: the document's "14" rule makes 148 the pickup code *8
// for phones that cannot dial a star. The SIP service looks at it before
// the engine for the codes it carries out itself (pickup).
func (v *View) EarlyRewrite(caller *Account, dialed string) string {
	out, _, _ := earlyRewrite(v.ancestors(caller), dialed)
	return out
}

// MailboxCode is the feature code that takes a user to its own mailbox
// (the PIN is still asked, as Kazoo's *97 and Asterisk's VoiceMailMain
// do); the document's 14 early rule makes it 1498 too.
const MailboxCode = "*98"

// feature handles star codes: *22… records a prompt of the caller's
// organisation, *98 dials in to the caller's own mailbox.
func (w *walker) feature(a *Account, chain []*Account, code string) {
	if o, ok := w.settingCode(a, chain, code); ok { // featurecodes.go
		w.end(o)
		return
	}
	if code == MailboxCode && a.UmsPin != "" {
		w.step("feature", a, code+" dials in to the mailbox of "+a.Username)
		w.end(Outcome{Outcome: Mailbox, Mailbox: a.Username})
		return
	}
	if strings.HasPrefix(code, "*22") {
		p := w.v.lookupPrompt(code)
		if p != nil && w.v.sameOrganisation(a, p.Account) {
			w.step("feature", a, code+" records prompt "+p.GUID)
			w.end(Outcome{Outcome: RecordPrompt, Prompt: p.GUID})
			return
		}
	}
	w.drop(a, 404, "Not Found")
}

// ruleMatches reports whether every condition of a callrule holds:
// prefix_raw on the dialed string, prefix and location on what the number
// really is (an E.164 number by prefix, a short code only as a whole).
func (w *walker) ruleMatches(r *CallRule, dialed string, t Translation) bool {
	if r.PrefixRaw != "" && !strings.HasPrefix(dialed, r.PrefixRaw) {
		return false
	}
	if r.Prefix != "" && !(&Location{Prefixes: []string{r.Prefix}}).Matches(t) {
		return false
	}
	if r.Location != "" {
		l := w.v.lookupLocation(r.Location)
		if l == nil || !l.Matches(t) {
			return false
		}
	}
	return true
}

func (w *walker) applyCallRule(a *Account, chain []*Account, owner *Account, r *CallRule, dialed string, t Translation) {
	if r.Username != "" {
		target := w.v.lookupAccount(r.Username)
		if target == nil {
			w.drop(a, 404, "Not Found")
			return
		}
		w.ruleStep("callrule", owner, "delivers to "+target.Username, r.GUID, r.Order)
		w.deliver(target, nil)
		return
	}
	d := r.Destination
	w.ruleStep("callrule", owner, "destination "+d.String(), r.GUID, r.Order)
	switch d.Kind {
	case dialplan.KindPattern:
		rewritten := d.Expand(ruleRest(r, dialed, t))
		if strings.HasPrefix(rewritten, "*") {
			w.feature(a, chain, rewritten)
			return
		}
		// No callrules again (rules cannot loop), but the caller's
		// blocks still apply to where the rewrite leads.
		w.dialNumber(a, rewritten, w.translateFor(a, rewritten), "leaves over a carrier to ")
	case dialplan.KindNumber:
		// A speed dial is dialed by the caller: the caller's blocks apply.
		w.dialDest(a, d.Value)
	default:
		w.forward(owner, d, "")
	}
}

// ---- helpers over the view ----

// firstEarly returns the first early rule of an account matching dialed.
func firstEarly(a *Account, dialed string) *CallRule {
	for _, r := range a.CallRules {
		if r.EarlyRule && r.PrefixRaw != "" && strings.HasPrefix(dialed, r.PrefixRaw) {
			return r
		}
	}
	return nil
}

// nextRule merges the callrules of an account chain by order; at equal
// order the account's own rules come before inherited ones.
func nextRule(chain []*Account, idx *[maxDepth]int) (*CallRule, *Account) {
	best := -1
	for d, a := range chain {
		if d >= maxDepth || idx[d] >= len(a.CallRules) {
			continue
		}
		if best < 0 || a.CallRules[idx[d]].Order < chain[best].CallRules[idx[best]].Order {
			best = d
		}
	}
	if best < 0 {
		return nil, nil
	}
	r := chain[best].CallRules[idx[best]]
	idx[best]++
	return r, chain[best]
}
