package portal

import (
	"strings"

	"xc5/resource"
)

// voicemailOrder and recordOrder are where the document writes a user's
// voicemail destination ("PUT …/reception@…/route {order:200,
// destination:email:reception@…}") and its recording ("PUT …/callrule
// {order:-12, record_email:reception@…}").
const (
	voicemailOrder = 200
	recordOrder    = -12
)

// userFlows is a user's voicemail destination and recording, as the
// user page's forms show them.
type userFlows struct {
	// Voicemail is the address of the account's first e-mail route
	// (destination email:…, no menu), "" for none.
	Voicemail, voicemailRoute string
	// RecordEmail is the address of the account's recording rule (a
	// callrule with record_email and no condition or action: every call
	// the account answers is recorded, docs/media.md), "" when off.
	RecordEmail, recordRule string
	// Mailbox says whether the account has a mailbox (a ums_pin); the
	// PIN itself is never shown.
	Mailbox bool
}

// userPage is the user page's data.
type userPage struct {
	userRow
	userFlows
}

// readUserFlows finds the account's voicemail route and recording rule.
func (s *Server) readUserFlows(q *req, guid string) (userFlows, error) {
	var f userFlows
	ctx := q.r.Context()
	err := s.store.List(ctx, q.scope(), resource.Route, resource.Query{Parent: guid}, func(r resource.Record) error {
		d, _ := r.Values["destination"].(string)
		lvl, _ := r.Values["menu_level"].(int64)
		if addr, ok := strings.CutPrefix(d, "email:"); ok && lvl == 0 && f.voicemailRoute == "" {
			f.Voicemail, f.voicemailRoute = addr, r.GUID
		}
		return nil
	})
	if err != nil {
		return f, err
	}
	err = s.store.List(ctx, q.scope(), resource.CallRule, resource.Query{Parent: guid}, func(r resource.Record) error {
		if isRecordRule(r) && f.recordRule == "" {
			f.RecordEmail, f.recordRule = r.Values["record_email"].(string), r.GUID
		}
		return nil
	})
	return f, err
}

// isRecordRule says whether a callrule only records (the document's
// order -12 rule): record_email and no condition or action.
func isRecordRule(r resource.Record) bool {
	if e, _ := r.Values["record_email"].(string); e == "" {
		return false
	}
	for _, k := range []string{"prefix", "prefix_raw", "location", "username", "destination"} {
		if v, _ := r.Values[k].(string); v != "" {
			return false
		}
	}
	return true
}

// setVoicemail makes addr the account's voicemail e-mail destination:
// its e-mail route changed, created at order 200, or ("") deleted.
func (s *Server) setVoicemail(q *req, guid, addr string) error {
	f, err := s.readUserFlows(q, guid)
	if err != nil {
		return err
	}
	addr = strings.TrimSpace(addr)
	if strings.HasPrefix(strings.ToLower(addr), "email:") {
		addr = strings.TrimSpace(addr[len("email:"):])
	}
	switch {
	case addr == "" && f.voicemailRoute == "":
		return nil
	case addr == "":
		return s.store.Delete(q.r.Context(), q.scope(), resource.Route, guid, f.voicemailRoute)
	case f.voicemailRoute != "":
		_, err = q.put(resource.Route, guid, f.voicemailRoute, map[string]any{"destination": "email:" + addr}, resource.Patch)
	default:
		_, err = q.put(resource.Route, guid, "", map[string]any{"order": voicemailOrder, "destination": "email:" + addr}, resource.Create)
	}
	return err
}

// setRecording turns recording on (mailing to addr, or to the account's
// username when addr is empty, as the document does) or off: the
// account's recording rule changed, created at order -12, or deleted.
func (s *Server) setRecording(q *req, guid, username string, on bool, addr string) error {
	f, err := s.readUserFlows(q, guid)
	if err != nil {
		return err
	}
	addr = strings.TrimSpace(addr)
	if addr == "" {
		addr = username
	}
	switch {
	case !on && f.recordRule == "":
		return nil
	case !on:
		return s.store.Delete(q.r.Context(), q.scope(), resource.CallRule, guid, f.recordRule)
	case f.recordRule != "":
		_, err = q.put(resource.CallRule, guid, f.recordRule, map[string]any{"record_email": addr}, resource.Patch)
	default:
		_, err = q.put(resource.CallRule, guid, "", map[string]any{"order": recordOrder, "record_email": addr}, resource.Create)
	}
	return err
}
