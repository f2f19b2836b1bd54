package routing

import "xc5/dialplan"

// translateFor translates a dialed string or a forward's destination with
// the inherited numbering of account a.
func (w *walker) translateFor(a *Account, dialed string) Translation {
	cc, ac := w.v.inheritedNumbering(w.v.ancestors(a))
	return Translate(dialed, cc, ac)
}

// translateDest translates a forward's destination (a number's cfa,
// cfna_dest, the number of a route, fork, menu key or speed dial) for
// account a. The API writes them as E.164 digits (61299998888), which are
// taken as E.164; one written as dialed (0061…, 09…) or a 1xx short code
// is translated like a dialed string. raw is the destination as a dialed
// string for prefix_raw rules, "" for an E.164 one, which nobody typed.
func (w *walker) translateDest(a *Account, dest string) (t Translation, raw string) {
	if allDigits(dest) && dest != "" && dest[0] != '0' && !(len(dest) == 3 && dest[0] == '1') {
		return Translate("+"+dest, "", ""), ""
	}
	return w.translateFor(a, dest), dest
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
// an on-net number is delivered to its account; any other leaves over a
// carrier when a's callrules do not block it. Every leg the engine sends to a
// carrier, dialed or forwarded, goes through here or through forkTarget,
// so that no route, forward or blast group escapes its owner's blocks.
func (w *walker) dialNumber(a *Account, dialed string, t Translation, how string) {
	if !t.IsNumber() {
		w.reject(a, t)
		return
	}
	emergency := w.v.IsEmergency(t)
	if emergency {
		w.step("emergency", a, t.Number+" is an emergency number")
	} else if n := w.v.lookupNumber(t.Number); n != nil {
		w.deliverNumber(n)
		return
	}
	if r, owner := w.blockedBy(a, dialed, t, emergency); r != nil {
		w.ruleStep("block", owner, "blocks "+t.Number+" for "+a.Username+": "+r.Destination.String(), r.GUID, r.Order)
		w.drop(a, r.Destination.Code, r.Destination.Reason)
		return
	}
	w.leave(a, t.Number, emergency, how)
}

// leave ends the call over a carrier.
func (w *walker) leave(a *Account, number string, emergency bool, how string) {
	w.step("external", a, how+number)
	w.end(Outcome{Outcome: External, Number: number, Emergency: emergency})
}

// blockedBy returns the callrule of account a (or an ancestor) that
// refuses a number leaving over a carrier, as if a had dialed it (dialed
// is the raw string for prefix_raw rules, "" when there is none): the
// first rule in order that matches and decides, when its destination is
// drop:. A rule that decides otherwise (delivers, rewrites) lets the
// number through as it is: a forward's destination is already where its
// owner chose to send it. For an emergency number only rules naming
// <CallRule-Emergency> count.
func (w *walker) blockedBy(a *Account, dialed string, t Translation, emergency bool) (*CallRule, *Account) {
	chain := w.v.ancestors(a)
	var idx [maxDepth]int
	for {
		r, owner := nextRule(chain, &idx)
		if r == nil {
			return nil, nil
		}
		if r.EarlyRule || (r.Username == "" && !r.HasDest) || (emergency && r.Location != EmergencyLocation) {
			continue
		}
		if !w.ruleMatches(r, dialed, t) {
			continue
		}
		if r.Username == "" && r.Destination.Kind == dialplan.KindDrop {
			return r, owner
		}
		return nil, nil
	}
}

// forkTarget resolves a fork destination of account a: an on-net number
// or username rings that account's phones; any other number is an
// external leg, subject to a's callrules like a number a dialed.
func (w *walker) forkTarget(a *Account, dest string) (Target, bool) {
	t, raw := w.translateDest(a, dest)
	emergency := w.v.IsEmergency(t)
	if !emergency {
		if o := w.onNet(dest, t); o != nil {
			return Target{Account: o}, true
		}
	}
	if !t.IsNumber() {
		if t.Kind == Invalid {
			w.step("fork", a, "skips "+dest+": "+t.Why)
		}
		return Target{}, false
	}
	if r, owner := w.blockedBy(a, raw, t, emergency); r != nil {
		w.ruleStep("block", owner, "blocks fork "+t.Number+" of "+a.Username+": "+r.Destination.String(), r.GUID, r.Order)
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
