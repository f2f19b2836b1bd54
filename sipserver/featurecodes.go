package sipserver

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/media"
	"xc5/media/prompts"
	"xc5/resource"
	"xc5/routing"
)

// Feature codes that change the caller's own settings by phone (the
// routing engine's Setting outcome, routing/featurecodes.go):
// do-not-disturb, call forward all (cfa of the caller's own numbers) and
// forward on no answer (cfna_dest, cfna_active). Each change is written
// through the store exactly as the API writes it (the JSON decoded and
// checked against the resource description, then Put as a PATCH), so the
// API shows what the phone set and a bad number is refused as the API
// would refuse it. The write is made at the caller's company scope, as
// the caller's own PATCH through the API would be (so a forward to
// another company's account is refused: its username does not exist
// there), and carries an origin (the phone's username, its source
// address, "PATCH", "sip feature " and the code dialed) so that the
// audit trail records it. The caller then hears the confirmation (or the
// refusal) from a media node; without one the answer's status says it.

// settingsStore is the store as the API writes resources: *sqlstore.Store.
type settingsStore interface {
	Get(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string) (resource.Record, error)
	Put(ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error)
}

// settingWrite is where a feature code's writes go: the store, at the
// caller's company scope, with the origin its audit entries show.
type settingWrite struct {
	st    settingsStore
	scope resource.Scope
}

// settingPrompts is the system prompt that confirms each setting.
var settingPrompts = map[string]string{
	routing.SettingDNDOn:   prompts.FeatureDNDOn,
	routing.SettingDNDOff:  prompts.FeatureDNDOff,
	routing.SettingCFAOn:   prompts.FeatureCFAOn,
	routing.SettingCFAOff:  prompts.FeatureCFAOff,
	routing.SettingCFNAOn:  prompts.FeatureCFNAOn,
	routing.SettingCFNAOff: prompts.FeatureCFNAOff,
}

// errNoNumber refuses *72/*73 for an account without a number of its own.
var errNoNumber = xc5.Errorf(xc5.EINVALID, "the account has no number of its own to forward")

// carryOutSetting applies a settings feature code and plays its
// confirmation (or refusal) on a media node, the call then over: code 0.
// Without a media node it returns the final answer run sends: 480 with
// the confirmation as the reason phrase, or the refusal's 4xx.
func (c *call) carryOutSetting(o routing.Outcome) (code int, reason string) {
	src := strings.ToLower(c.req.Transport()) + ":" + c.req.Source()
	err := c.b.applySetting(c.who.acct, o, src, c.dialed)
	prompt := settingPrompts[o.Setting]
	if err != nil {
		c.log.Info("feature code refused", "setting", o.Setting, "number", o.Number, "err", err)
		prompt = prompts.FeatureRefused
	}
	c.mu.Lock()
	c.mediaOutcome = routing.Setting
	c.mu.Unlock()
	req := media.Request{App: media.AppPlay, Prompt: prompts.ByName(prompt).GUID, From: c.presented(), To: c.dialed}
	if _, ok := c.runMedia(req); ok {
		c.hangup(nil)
		return 0, ""
	}
	switch {
	case err == nil:
		return sip.StatusTemporarilyUnavailable, "Done: " + o.Setting
	case xc5.ErrorCode(err) == xc5.EUNAVAILABLE:
		return errorStatus(xc5.EUNAVAILABLE)
	}
	return sip.StatusForbidden, "Refused: " + reasonText(err.Error())
}

// applySetting writes a setting of account a, dialed (the feature code
// as dialed) from source (transport:address).
func (b *b2bua) applySetting(a *routing.Account, o routing.Outcome, source, dialed string) error {
	if a == nil {
		return xc5.Errorf(xc5.EFORBIDDEN, "feature codes are for accounts")
	}
	st, ok := b.store.(settingsStore)
	if !ok {
		return xc5.Errorf(xc5.EUNAVAILABLE, "the store takes no settings")
	}
	if x := b.view.Account(o.Number); x != nil && !b.view.SameCompany(a, x) {
		return xc5.Errorf(xc5.EFORBIDDEN, "%s is not an account of your company", o.Number)
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	ctx = xc5.WithOrigin(ctx, xc5.Origin{Account: a.Username, Source: source, Method: "PATCH", Path: "sip feature " + dialed})
	co, err := st.Get(ctx, "", resource.Account, "", b.view.Company(a).GUID)
	if err != nil {
		return err
	}
	w := settingWrite{st: st, scope: resource.Scope(co.Path)}
	switch o.Setting {
	case routing.SettingDNDOn, routing.SettingDNDOff:
		return w.patch(ctx, resource.Account, "", a.GUID, map[string]any{"dnd": o.Setting == routing.SettingDNDOn})
	case routing.SettingCFNAOn:
		in := map[string]any{"cfna_active": true}
		switch {
		case o.Number != "":
			in["cfna_dest"] = o.Number
		case a.CfnaDest == "":
			return xc5.Errorf(xc5.EINVALID, "no cfna_dest to forward to: dial *52 and the number")
		}
		return w.patch(ctx, resource.Account, "", a.GUID, in)
	case routing.SettingCFNAOff:
		return w.patch(ctx, resource.Account, "", a.GUID, map[string]any{"cfna_active": false})
	case routing.SettingCFAOn, routing.SettingCFAOff:
		if o.Setting == routing.SettingCFAOn && o.Number == "" {
			return xc5.Errorf(xc5.EINVALID, "no number to forward to: dial *72 and the number")
		}
		return w.setCFA(ctx, a, o.Number)
	}
	return xc5.Errorf(xc5.EINVALID, "unknown setting %q", o.Setting)
}

// setCFA sets (or, dest "", clears) the cfa of each of the account's own
// numbers: the ones calls to it arrive on. "a:" numbers, which it may only
// present, are not its to forward. All or nothing: the store writes one
// record a transaction, so a refusal puts the numbers already written
// back as they were (a write that fails in between, the store gone,
// may leave them changed; the audit trail shows which).
func (w settingWrite) setCFA(ctx context.Context, a *routing.Account, dest string) error {
	var own []*routing.Number
	for _, n := range a.Numbers {
		if !strings.HasPrefix(n.Number, "a:") {
			own = append(own, n)
		}
	}
	if len(own) == 0 {
		return errNoNumber
	}
	for i, n := range own {
		if err := w.patch(ctx, resource.Number, a.GUID, n.GUID, map[string]any{"cfa": dest}); err != nil {
			for _, back := range own[:i] {
				w.patch(ctx, resource.Number, a.GUID, back.GUID, map[string]any{"cfa": back.CFA})
			}
			return err
		}
	}
	return nil
}

// patch writes fields of a record as the API's PATCH does: the body
// decoded and checked against the resource's description, then Put.
func (w settingWrite) patch(ctx context.Context, r *resource.Resource, parent, id string, fields map[string]any) error {
	body, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	in, err := resource.Decode(r, body)
	if err != nil {
		return err
	}
	_, _, err = w.st.Put(ctx, w.scope, r, parent, id, in, resource.Patch)
	return err
}

// reasonText is an error's text fit for a reason phrase.
func reasonText(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}
