package routing

import (
	"strconv"

	"xc5/dialplan"
)

// The callee's side: delivering a call to an account, its routes, the
// ring of its phones and forks, hunts, menus and forwards.

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
	if !w.v.Enabled(a) {
		w.drop(a, 480, "Temporarily Unavailable")
		return
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

// recordAnswer notes the recording of a call answered by a: the
// callrules of a that only record (no prefix, location or destination)
// record every call a answers, whichever way it came (direct, by
// extension or DDI, or as a hunt or blast member).
func (w *walker) recordAnswer(a *Account) {
	for _, r := range a.CallRules {
		if r.recordsOnly() {
			w.ruleStep("record", a, "records the call answered by "+a.Username+" to "+r.RecordEmail, r.GUID, r.Order)
			w.record(r.RecordEmail)
		}
	}
}

// RecordsTo returns the addresses that calls answered by a are recorded
// to: its callrules that only record.
func RecordsTo(a *Account) []string {
	var out []string
	for _, r := range a.CallRules {
		if r.recordsOnly() {
			out = append(out, r.RecordEmail)
		}
	}
	return out
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
	if a.DND { // as busy: cfna_dest, the later routes, voicemail, else 486
		w.step("dnd", a, "do-not-disturb: "+a.Username+"'s phones do not ring")
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
			w.recordAnswer(t.Account)
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
	if m.DND {
		w.ruleStep("hunt", a, what+": do-not-disturb", r.GUID, r.Order)
		return false
	}
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
		o := Outcome{Outcome: Email, To: d.Value, Prompt: prompt}
		if a.UmsPin != "" {
			o.Mailbox = a.Username // kept in its mailbox too
		}
		w.end(o)
	case dialplan.KindConference:
		// A room is the number of the account that owns it, in the
		// company of the account whose route names it; checked when the
		// route is written and again now: a number returned to the pool
		// and given to another company takes its room with it.
		if n := w.v.lookupNumber(d.Value); n == nil || !w.v.sameOrganisation(a, n.Account) {
			w.step("conference", a, "conference room "+d.Value+" is no number of this company")
			w.drop(a, 404, "Not Found")
			return
		}
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
// callrules as if a had dialed it. A forward to an emergency number is
// refused (403; the API refuses to store one): it would call 111 on
// behalf of whoever rang a, without them knowing, as a PBX operator would
// never want.
func (w *walker) forwardNumber(a *Account, dest string) {
	t, raw := w.translateDest(a, dest)
	if w.v.isVoicemailNumber(t) {
		if a.UmsPin != "" {
			w.step("voicemail", a, t.Number+" is the voicemail number: mailbox of "+a.Username)
			w.end(Outcome{Outcome: Voicemail, Mailbox: a.Username})
		} else {
			w.step("voicemail", a, t.Number+" is the voicemail number, and "+a.Username+" has no mailbox")
			w.end(Outcome{Outcome: Unanswered})
		}
		return
	}
	if w.v.IsEmergency(t) {
		w.step("forward", a, "refuses to forward to "+t.Number+": calls are never forwarded to an emergency number")
		w.drop(a, 403, "Forbidden")
		return
	}
	if w.deliverDest(dest) {
		return
	}
	w.dialNumber(a, raw, t, "forwards over a carrier to ")
}

// dialDest dials a destination for account a as a dials it (a speed dial):
// an emergency number is a's own emergency call.
func (w *walker) dialDest(a *Account, dest string) {
	t, raw := w.translateDest(a, dest)
	if !w.v.IsEmergency(t) && w.deliverDest(dest) {
		return
	}
	w.dialNumber(a, raw, t, "leaves over a carrier to ")
}

// deliverDest delivers to the owner of a number or to an account a
// destination names as written, and reports whether it did.
func (w *walker) deliverDest(dest string) bool {
	if n := w.v.lookupNumber(dest); n != nil {
		w.deliverNumber(n)
		return true
	}
	if t := w.v.lookupAccount(dest); t != nil {
		w.deliver(t, nil)
		return true
	}
	return false
}
