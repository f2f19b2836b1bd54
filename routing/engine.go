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
	if a := v.lookupAccount(call.From); a != nil {
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
	t := Translate(dialed, w.v.defaults.CountryCode, w.v.defaults.AreaCode)
	if n := w.v.lookupNumber(t.e164()); n != nil {
		w.deliverNumber(n)
		return
	}
	w.drop(nil, 404, "Not Found")
}

func (w *walker) fromAccount(a *Account, dialed string) {
	chain := w.v.ancestors(a)
	w.step("caller", a, "presented as "+w.v.presented(a, w.call.Presents))
	if !a.Enabled {
		w.drop(a, 403, "Forbidden")
		return
	}
	cc, ac := w.v.inheritedNumbering(chain)
	// 1. early rules on the raw dialed string, unless it is an emergency
	// number as dialed.
	if !w.v.IsEmergency(Translate(dialed, cc, ac)) {
		dialed = w.early(chain, dialed)
	}
	// 2. translation: what the number really is.
	t := Translate(dialed, cc, ac)
	switch {
	case t.Kind == Invalid:
		w.step("translate", a, t.Why)
	case t.Number != "" && t.Number != dialed:
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
	// 3. callrules of the account and its ancestors, in order.
	var idx [maxDepth]int
	for {
		r, owner := nextRule(chain, &idx)
		if r == nil {
			break
		}
		if r.EarlyRule || !w.ruleMatches(r, dialed, t) {
			continue
		}
		if r.RecordEmail != "" {
			w.ruleStep("record", owner, "records the call to "+r.RecordEmail, r.GUID, r.Order)
			w.record(r.RecordEmail)
		}
		if r.Username == "" && !r.HasDest {
			continue
		}
		w.applyCallRule(a, chain, owner, r, dialed, t)
		return
	}
	// 4. no rule decided: the number itself.
	w.dialNumber(a, dialed, t, "leaves over a carrier to ")
}

// early applies the first early rule of the chain (nearest account
// first) matching the raw dialed string, and returns the rewritten string.
func (w *walker) early(chain []*Account, dialed string) string {
	for _, owner := range chain {
		if r := firstEarly(owner, dialed); r != nil {
			rest := dialed[len(r.PrefixRaw):]
			if r.HasDest && r.Destination.Kind == dialplan.KindPattern {
				dialed = r.Destination.Expand(rest)
			} else if r.HasDest {
				dialed = r.Destination.String()
			}
			w.ruleStep("early", owner, "rewrites the dialed string to "+dialed, r.GUID, r.Order)
			break
		}
	}
	return dialed
}

// feature handles star codes: *22… records a prompt of the caller's
// organisation.
func (w *walker) feature(a *Account, chain []*Account, code string) {
	if strings.HasPrefix(code, "*22") {
		p := w.v.lookupPrompt(code)
		if p != nil && w.v.sameOrganisation(a, chain, p.Account) {
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
		rest := dialed
		switch {
		case r.PrefixRaw != "":
			rest = dialed[len(r.PrefixRaw):]
		case r.Prefix != "" && t.IsNumber():
			rest = t.Number[len(r.Prefix):]
		}
		rewritten := d.Expand(rest)
		if strings.HasPrefix(rewritten, "*") {
			w.feature(a, chain, rewritten)
			return
		}
		// No callrules again (rules cannot loop), but the caller's
		// blocks still apply to where the rewrite leads.
		w.dialNumber(a, rewritten, w.translateFor(a, rewritten), "leaves over a carrier to ")
	case dialplan.KindNumber:
		// A speed dial is dialed by the caller: the caller's blocks apply.
		w.forwardNumber(a, d.Value)
	default:
		w.forward(owner, d, "")
	}
}

// ---- the callee's side ----

// deliverNumber delivers a call to the owner of a number, honouring the
// number's call-forward-all.
func (w *walker) deliverNumber(n *Number) {
	a := w.v.accountByGUID(n.Account)
	if a == nil {
		w.drop(nil, 404, "Not Found")
		return
	}
	if n.CFA != "" {
		w.step("cfa", a, n.Number+" forwards all calls to "+n.CFA)
		if w.enter(a) {
			w.forwardNumber(a, n.CFA)
		}
		return
	}
	w.deliver(a, n)
}

// enter counts a hand-over to a and stops loops.
func (w *walker) enter(a *Account) bool {
	for i := 0; i < w.depth; i++ {
		if w.seen[i] == a.GUID {
			w.drop(a, 482, "Loop Detected")
			return false
		}
	}
	if w.depth >= maxDepth {
		w.drop(a, 482, "Loop Detected")
		return false
	}
	w.seen[w.depth] = a.GUID
	w.depth++
	return true
}

// deliver hands the call to an account: its routes apply around the
// implicit order 0, the ring of its phones (and forks).
func (w *walker) deliver(a *Account, via *Number) {
	w.step("deliver", a, "call delivered to "+a.Username)
	if !w.enter(a) {
		return
	}
	if !a.Enabled {
		w.drop(a, 480, "Temporarily Unavailable")
		return
	}
	// Callrules that only record also apply to calls to their account.
	for _, r := range a.CallRules {
		if r.RecordEmail != "" && r.Username == "" && !r.HasDest && !r.EarlyRule && r.PrefixRaw == "" && r.Prefix == "" && r.Location == "" {
			w.ruleStep("record", a, "records calls to "+a.Username+" to "+r.RecordEmail, r.GUID, r.Order)
			w.record(r.RecordEmail)
		}
	}
	alert := ""
	if via != nil {
		alert = via.AlertInfo
	}
	chain := w.v.ancestors(a)
	rang, busy := false, false
	for i := 0; i < len(a.Routes) && !w.done; i++ {
		r := a.Routes[i]
		if r.Order > 0 && !rang {
			rang = true
			if w.orderZero(a, alert, &busy) {
				return
			}
		}
		if r.MenuLevel > 1 {
			continue
		}
		if !r.HuntUser {
			// Terminal routes sharing an order are alternatives: one applies.
			j := i
			for j+1 < len(a.Routes) && a.Routes[j+1].Order == r.Order {
				j++
			}
			best := w.pickTerminal(a, chain, a.Routes[i:j+1], r.MenuLevel)
			for k := i; k <= j; k++ { // hunt members in the group still ring, in order
				if a.Routes[k].HuntUser && a.Routes[k].MenuLevel == r.MenuLevel && w.timeMatches(a, chain, a.Routes[k]) {
					if w.hunt(a, a.Routes[k]) {
						return
					}
				}
			}
			i = j
			if best != nil {
				w.runRoute(a, chain, best)
			}
			continue
		}
		if w.timeMatches(a, chain, r) && w.hunt(a, r) {
			return
		}
	}
	if w.done {
		return
	}
	if !rang && w.orderZero(a, alert, &busy) {
		return
	}
	if a.UmsPin != "" {
		w.step("voicemail", a, "mailbox of "+a.Username)
		w.end(Outcome{Outcome: Voicemail, Mailbox: a.Username})
		return
	}
	if busy {
		w.end(Outcome{Outcome: Busy})
		return
	}
	w.end(Outcome{Outcome: Unanswered})
}

// orderZero is the implicit route 0: ring the account's phones and forks,
// then its call-forward no-answer. It reports whether the call ended, and
// notes in busy whether the phones were busy.
func (w *walker) orderZero(a *Account, alert string, busy *bool) bool {
	if w.ringOwn(a, alert) {
		*busy = true
	}
	return w.done || w.cfna(a)
}

// pickTerminal chooses among the terminal routes of one order and menu
// level: those whose time definition matches, a conditional one before an
// unconditional one, the newest first. This is how the document's second
// order-200 forward on main_entry "improves" the first.
func (w *walker) pickTerminal(a *Account, chain []*Account, group []*Route, level int) *Route {
	var best *Route
	for _, r := range group {
		if r.HuntUser || r.MenuLevel != level || !w.timeMatches(a, chain, r) {
			continue
		}
		if best == nil || (r.HasTime && !best.HasTime) || (r.HasTime == best.HasTime && r.seq > best.seq) {
			best = r
		}
	}
	return best
}

func (w *walker) timeMatches(a *Account, chain []*Account, r *Route) bool {
	if !r.HasTime {
		return true
	}
	loc := w.v.zone(chain)
	ok := r.Time.Matches(w.call.At.In(loc), w.v.timeSet)
	if !ok {
		w.ruleStep("skip", a, "time_definition does not match", r.GUID, r.Order)
	}
	return ok
}

// ringOwn is order 0: ring the account's phones and its forks at once for
// cfna_duration. It reports whether the account was busy.
func (w *walker) ringOwn(a *Account, alert string) bool {
	if w.d.AtLimit(a) {
		w.step("busy", a, "concurrent_limit "+strconv.Itoa(a.ConcurrentLimit)+" reached")
		return true
	}
	targets := make([]Target, 0, 1+len(a.Forks))
	targets = append(targets, Target{Account: a})
	for _, f := range a.Forks {
		if t, ok := w.forkTarget(a, f); ok {
			targets = append(targets, t)
		}
	}
	secs := a.CfnaDuration
	for _, t := range targets[1:] {
		if t.Account != nil {
			w.step("fork", a, "rings "+t.Account.Username)
		} else {
			w.step("fork", a, "rings external "+t.External)
		}
	}
	res := w.d.Ring(Ring{Account: a, Targets: targets, Seconds: secs, AlertInfo: alert})
	return w.ringResult(a, targets, res, "order 0 rings "+a.Username+" for "+strconv.Itoa(secs)+"s")
}

// ringResult records a ring and ends the call when someone answered.
// It reports whether the ring found the callee busy.
func (w *walker) ringResult(a *Account, targets []Target, res RingResult, what string) bool {
	switch res.Status {
	case RingAnswered:
		t := targets[res.Index]
		w.step("ring", a, what+": answered")
		if t.Account != nil {
			w.end(Outcome{Outcome: Answered, By: t.Account.Username})
		} else {
			w.end(Outcome{Outcome: External, Number: t.External})
		}
	case RingBusy:
		w.step("ring", a, what+": busy")
		return true
	case RingNoPhones:
		w.step("ring", a, what+": no registered phones")
	default:
		w.step("ring", a, what+": no answer")
	}
	return false
}

// cfna applies the account's call-forward no-answer after order 0.
func (w *walker) cfna(a *Account) bool {
	if !a.CfnaActive || a.CfnaDest == "" {
		return false
	}
	w.step("cfna", a, "no answer: forwards to "+a.CfnaDest)
	w.forwardNumber(a, a.CfnaDest)
	return true
}

// hunt rings a hunt member's phones without applying its routes. It
// reports whether the call ended.
func (w *walker) hunt(a *Account, r *Route) bool {
	m := w.v.lookupAccount(r.Username)
	if m == nil {
		return false
	}
	secs := r.RingSeconds
	if secs == 0 {
		secs = m.CfnaDuration
	}
	what := "hunts " + m.Username + " for " + strconv.Itoa(secs) + "s"
	if w.d.AtLimit(m) {
		w.ruleStep("hunt", a, what+": busy", r.GUID, r.Order)
		return false
	}
	targets := []Target{{Account: m}}
	res := w.d.Ring(Ring{Account: a, Targets: targets, Seconds: secs, Hunt: true})
	w.t.Steps = append(w.t.Steps, Step{Kind: "hunt", Account: a.Username, GUID: r.GUID, Order: r.Order, HasOrder: true, Text: what})
	w.ringResult(m, targets, res, "rings "+m.Username)
	return w.done
}

// runRoute carries out a terminal route: a menu, a delivery or a forward.
func (w *walker) runRoute(a *Account, chain []*Account, r *Route) {
	switch {
	case r.MenuLevel >= 1 && r.DigitMap.Entries != nil:
		w.menu(a, chain, r)
	case r.Username != "":
		target := w.v.lookupAccount(r.Username)
		if target == nil {
			return
		}
		w.ruleStep("route", a, "delivers to "+target.Username, r.GUID, r.Order)
		w.deliver(target, nil)
	case r.HasDest:
		w.ruleStep("route", a, "forwards to "+r.Destination.String(), r.GUID, r.Order)
		w.forward(a, r.Destination, r.Prompt)
	}
}

// menu plays a menu's prompt, reads a key and acts on the digit map.
func (w *walker) menu(a *Account, chain []*Account, r *Route) {
	digits := w.d.Menu(w.menus, r.Prompt, r.DigitMap)
	w.menus++
	shown := digits
	if shown == "" {
		shown = "no key (timeout)"
	}
	w.ruleStep("menu", a, "menu "+strconv.Itoa(r.MenuLevel)+" plays prompt "+r.Prompt+", caller presses "+shown, r.GUID, r.Order)
	key := digits
	if key == "" {
		key = dialplan.TimeoutKey
	}
	act, ok := r.DigitMap.Lookup(key)
	if !ok && key != dialplan.TimeoutKey {
		act, ok = r.DigitMap.Lookup(dialplan.TimeoutKey) // an invalid key is treated as the timeout
	}
	if !ok {
		w.step("menu", a, "no action for the key; the menu is left")
		return
	}
	if !act.IsMenuJump() {
		w.forward(a, act.Destination, "")
		return
	}
	level := act.MenuLevel
	w.step("menu", a, "jumps to menu "+strconv.Itoa(level))
	for i := 0; i < len(a.Routes) && !w.done; i++ {
		lr := a.Routes[i]
		if lr.MenuLevel != level || !w.timeMatches(a, chain, lr) {
			continue
		}
		if lr.HuntUser {
			if w.hunt(a, lr) {
				return
			}
			continue
		}
		if lr.MenuLevel > 1 && lr.DigitMap.Entries != nil {
			w.menu(a, chain, lr)
		} else {
			w.runRoute(a, chain, lr)
		}
	}
}

// forward sends a call to a destination on behalf of account a.
func (w *walker) forward(a *Account, d dialplan.Destination, prompt string) {
	switch d.Kind {
	case dialplan.KindEmail:
		w.step("email", a, "voicemail to email "+d.Value)
		w.end(Outcome{Outcome: Email, To: d.Value, Prompt: prompt})
	case dialplan.KindConference:
		w.step("conference", a, "joins conference "+d.Value)
		w.end(Outcome{Outcome: Conference, Room: d.Value})
	case dialplan.KindDrop:
		w.drop(a, d.Code, d.Reason)
	case dialplan.KindNumber:
		w.forwardNumber(a, d.Value)
	case dialplan.KindUsername:
		if t := w.v.lookupAccount(d.Value); t != nil {
			w.deliver(t, nil)
			return
		}
		w.drop(a, 404, "Not Found")
	case dialplan.KindExtension:
		if t := w.v.Extension(a, d.Value); t != nil {
			w.deliver(t, nil)
			return
		}
		w.drop(a, 404, "Not Found")
	default:
		w.drop(a, 500, "Invalid Destination")
	}
}

// forwardNumber forwards on behalf of account a to a number or username
// given as text; a number that leaves over a carrier is subject to a's
// callrules as if a had dialed it.
func (w *walker) forwardNumber(a *Account, dest string) {
	t := w.translateDest(a, dest)
	if !w.v.IsEmergency(t) {
		if n := w.v.lookupNumber(dest); n != nil {
			w.deliverNumber(n)
			return
		}
		if t := w.v.lookupAccount(dest); t != nil {
			w.deliver(t, nil)
			return
		}
	}
	w.dialNumber(a, dest, t, "forwards over a carrier to ")
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
