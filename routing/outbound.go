package routing

import "xc5/dialplan"

// translateFor translates a dialed string or a rewrite with the inherited
// numbering of account a.
func (w *walker) translateFor(a *Account, dialed string) Translation {
	cc, ac := w.v.inheritedNumbering(w.v.ancestors(a))
	return w.v.translate(dialed, cc, ac)
}

// translateDest translates a destination (a number's cfa, cfna_dest, the
// number of a route, fork, menu key or speed dial) for account a.
// Destinations are E.164 digits (the API refuses any other spelling), so
// 3330099 is +33 30099 wherever it is written, never a local number that
// would mean something else for another account; a short code (111, 105)
// is itself. One stored with a leading 0 before the API refused it
// (0061…, 09…) cannot be E.164 and is read as a's dial. raw is the
// destination as a dialed string for prefix_raw rules, "" for an E.164
// one, which nobody typed.
func (w *walker) translateDest(a *Account, dest string) (t Translation, raw string) {
	cc, ac := w.v.inheritedNumbering(w.v.ancestors(a))
	if allDigits(dest) && dest != "" && dest[0] != '0' && !IsShortCodeShape(dest) {
		return w.v.translate("+"+dest, cc, ""), ""
	}
	return w.v.translate(dest, cc, ac), dest
}

// reject ends a call whose number is not one that can be dialed, saying
// why.
func (w *walker) reject(a *Account, t Translation) {
	if t.Kind == Invalid {
		w.step("translate", a, t.Why)
		w.drop(a, t.Code, t.Reason)
		return
	}
	w.drop(a, 404, "Not Found")
}

// dialNumber sends a call on behalf of account a to a translated number
// (dialed is the string it came from, for prefix_raw rules; "" for none):
// an emergency number becomes a's emergency call; an on-net number is
// delivered to its account; any other leaves over a carrier when a's
// callrules do not block it. Every leg the engine sends to a carrier,
// dialed or forwarded, goes through here or through forkTarget, so that
// no route, forward or blast group escapes its owner's blocks.
func (w *walker) dialNumber(a *Account, dialed string, t Translation, how string) {
	if !t.IsNumber() {
		w.reject(a, t)
		return
	}
	emergency := w.v.IsEmergency(t)
	switch {
	case emergency && !w.inEmergency:
		w.emergencyCall(a, w.v.ancestors(a), dialed, t)
		return
	case emergency:
		w.step("emergency", a, t.Number+" is an emergency number")
	default:
		if n := w.v.lookupNumber(t.Number); n != nil {
			w.deliverNumber(n)
			return
		}
	}
	if b := w.blockedBy(a, dialed, t, emergency); b != nil {
		w.ruleStep("block", b.owner, "blocks "+t.Number+" for "+a.Username+": "+b.why, b.rule.GUID, b.rule.Order)
		w.drop(a, b.code, b.reason)
		return
	}
	w.leave(a, t.Number, emergency, how)
}

// leave ends the call over a carrier.
func (w *walker) leave(a *Account, number string, emergency bool, how string) {
	w.step("external", a, how+number)
	w.end(Outcome{Outcome: External, Number: number, Emergency: emergency})
}

// block is a callrule refusing a call or a leg, with the status it
// answers and what the trace says.
type block struct {
	rule   *CallRule
	owner  *Account
	code   int
	reason string
	why    string
}

// dropBlock is the block of a drop: rule.
func dropBlock(r *CallRule, owner *Account) *block {
	return &block{rule: r, owner: owner, code: r.Destination.Code, reason: r.Destination.Reason, why: r.Destination.String()}
}

// ancestorDrop returns the first drop: rule (in order) of an ancestor of
// chain[0], or a provider-set drop: rule of chain[0] itself, that matches:
// restrictions accumulate downward, as in Kazoo, so a company's block
// screens every call and leg of its accounts whatever their own rules say,
// and a provider's block on an account screens it whatever the company
// adds to that account (its own lower-order rule cannot shadow it). For an
// emergency number only rules naming <CallRule-Emergency> count.
func (w *walker) ancestorDrop(chain []*Account, dialed string, t Translation, emergency bool) *block {
	if len(chain) == 0 {
		return nil
	}
	var idx [maxDepth]int
	for {
		r, owner := nextRule(chain, &idx)
		if r == nil {
			return nil
		}
		if (owner == chain[0] && !r.ProviderSet) || r.EarlyRule || r.Username != "" || !r.HasDest ||
			r.Destination.Kind != dialplan.KindDrop || (emergency && r.Location != EmergencyLocation) ||
			!w.ruleMatches(r, dialed, t) {
			continue
		}
		return dropBlock(r, owner)
	}
}

// ancestorBlocks ends a call of account a (chain is a and its ancestors)
// refused by an ancestor's drop: rule or a provider-set one of its own,
// and reports whether it did.
func (w *walker) ancestorBlocks(a *Account, chain []*Account, dialed string, t Translation, emergency bool) bool {
	b := w.ancestorDrop(chain, dialed, t, emergency)
	if b == nil {
		return false
	}
	what := t.Number
	if what == "" {
		what = dialed
	}
	whose := " (a restriction of " + b.owner.Username + " applies below it whatever their own rules say): "
	if b.owner == a {
		whose = " (a restriction the provider set on " + a.Username + " applies whatever its own rules say): "
	}
	w.ruleStep("block", b.owner, "blocks "+what+" for "+a.Username+whose+b.why, b.rule.GUID, b.rule.Order)
	w.drop(a, b.code, b.reason)
	return true
}

// blockedBy returns what refuses a number leaving over a carrier for
// account a, as if a had dialed it (dialed is the raw string for
// prefix_raw rules, "" when there is none), or nil: a drop: rule of an
// ancestor; else the first of a's and its ancestors' rules in order that
// matches and decides. A drop: blocks the leg; a rule that would send the
// number somewhere else (deliver to an account, rewrite it) blocks it too,
// with 403: a forward's or rewrite's leg is not routed by rules again (so
// rules cannot loop), and letting it out unchanged would ignore what the
// rule says about that number (International → the operator). Only a rule
// that dials the same number lets it through. For an emergency number only
// rules naming <CallRule-Emergency> count.
func (w *walker) blockedBy(a *Account, dialed string, t Translation, emergency bool) *block {
	chain := w.v.ancestors(a)
	if b := w.ancestorDrop(chain, dialed, t, emergency); b != nil {
		return b
	}
	var idx [maxDepth]int
	for {
		r, owner := nextRule(chain, &idx)
		if r == nil {
			return nil
		}
		if r.EarlyRule || (r.Username == "" && !r.HasDest) || (emergency && r.Location != EmergencyLocation) {
			continue
		}
		if !w.ruleMatches(r, dialed, t) {
			continue
		}
		switch {
		case r.Username == "" && r.Destination.Kind == dialplan.KindDrop:
			return dropBlock(r, owner)
		case w.dialsSame(a, r, dialed, t):
			return nil
		}
		to := r.Username
		if to == "" {
			to = r.Destination.String()
		}
		return &block{rule: r, owner: owner, code: 403, reason: "Forbidden",
			why: "a callrule sends it to " + to + "; a forwarded or rewritten leg is not routed by callrules again, so it is refused"}
	}
}

// dialsSame reports whether callrule r, matching t, dials t itself (a
// number or rewrite that translates to the same number).
func (w *walker) dialsSame(a *Account, r *CallRule, dialed string, t Translation) bool {
	if r.Username != "" {
		return false
	}
	switch d := r.Destination; d.Kind {
	case dialplan.KindNumber:
		n, _ := w.translateDest(a, d.Value)
		return n.IsNumber() && n.Number == t.Number
	case dialplan.KindPattern:
		n := w.translateFor(a, d.Expand(ruleRest(r, dialed, t)))
		return n.IsNumber() && n.Number == t.Number
	}
	return false
}

// ruleRest is what a pattern's % stands for: the dialed string after the
// rule's prefix_raw, or the number after its prefix, or all of it.
func ruleRest(r *CallRule, dialed string, t Translation) string {
	switch {
	case r.PrefixRaw != "" && len(dialed) >= len(r.PrefixRaw):
		return dialed[len(r.PrefixRaw):]
	case r.Prefix != "" && t.IsNumber() && len(t.Number) >= len(r.Prefix):
		return t.Number[len(r.Prefix):]
	}
	return dialed
}

// forkTarget resolves a fork destination of account a: an on-net number
// or username rings that account's phones; any other number is an
// external leg, subject to a's callrules like a number a dialed. An
// emergency number is never a leg (the API refuses it; one stored before
// is skipped): it would dial 111 on every call to a, without Priority,
// and cancel it when a phone answered.
func (w *walker) forkTarget(a *Account, dest string) (Target, bool) {
	t, raw := w.translateDest(a, dest)
	if w.v.IsEmergency(t) {
		w.step("fork", a, "skips "+dest+": an emergency number is never a blast-group leg")
		return Target{}, false
	}
	if o := w.onNet(dest, t); o != nil {
		if o.DND {
			w.step("fork", a, "skips "+o.Username+": do-not-disturb")
			return Target{}, false
		}
		return Target{Account: o}, true
	}
	if !t.IsNumber() {
		if t.Kind == Invalid {
			w.step("fork", a, "skips "+dest+": "+t.Why)
		}
		return Target{}, false
	}
	if b := w.blockedBy(a, raw, t, false); b != nil {
		w.ruleStep("block", b.owner, "blocks fork "+t.Number+" of "+a.Username+": "+b.why, b.rule.GUID, b.rule.Order)
		return Target{}, false
	}
	return Target{External: t.Number}, true
}

// onNet returns the account a destination names: the owner of the number
// as written or translated, or the account of that username.
func (w *walker) onNet(dest string, t Translation) *Account {
	for _, num := range [...]string{dest, t.e164()} {
		if n := w.v.lookupNumber(num); n != nil {
			return w.v.accountByGUID(n.Account)
		}
	}
	return w.v.lookupAccount(dest)
}
