package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"xc5"
	"xc5/ratelimit"
	"xc5/resource"
	"xc5/secret"
)

type meData struct {
	Username, Dest string
	Active         bool
	Seconds        int64
}

// me shows and changes the user's own forwards: cfna_active, cfna_dest,
// cfna_duration (what any user of the company may change of its own).
func (s *Server) me(q *req) {
	acct, err := q.account(q.u.GUID) // its own, never the company's by default
	if err != nil {
		q.fail(err)
		return
	}
	if q.rel == "me/password" {
		s.changePassword(q, acct)
		return
	}
	if q.r.Method == http.MethodPost {
		secs, err := strconv.Atoi(strings.TrimSpace(q.r.PostFormValue("cfna_duration")))
		if err != nil {
			secs = 0 // refused by the description's bounds, with its message
		}
		_, err = q.put(resource.Account, "", acct.GUID, map[string]any{"cfna_active": q.r.PostFormValue("cfna_active") == "on",
			"cfna_dest": strings.TrimSpace(q.r.PostFormValue("cfna_dest")), "cfna_duration": secs}, resource.Patch)
		if err != nil {
			q.fail(err)
			return
		}
		q.back("me")
		return
	}
	d := meData{Username: acct.Values["username"].(string)}
	d.Dest, _ = acct.Values["cfna_dest"].(string)
	d.Active, _ = acct.Values["cfna_active"].(bool)
	d.Seconds, _ = acct.Values["cfna_duration"].(int64)
	q.render("me", "My account", d, "")
}

// changePassword changes the user's own password after checking the
// current one under the login limits (a stolen session cannot guess it
// faster than a login could). The store ends the account's sessions, so
// the user logs in again with the new one.
func (s *Server) changePassword(q *req, acct resource.Record) {
	if !q.post() {
		return
	}
	ctx := q.r.Context()
	now := time.Now()
	slot, err := s.limiter.Reserve(ctx, clientIP(q.r), strings.ToLower(q.u.Username), now)
	if err != nil {
		var ref *ratelimit.Refused
		if errors.As(err, &ref) {
			err = xc5.Errorf(xc5.ERATELIMIT, "too many failed attempts; try again in %d seconds", max(1, int(ref.RetryAfter.Seconds()+0.999)))
		}
		q.fail(err)
		return
	}
	creds, err := s.store.Credentials(ctx, q.u.Username)
	if err != nil {
		slot.Release()
		q.fail(err)
		return
	}
	if !secret.Verify(creds.Hash, q.r.PostFormValue("current")) {
		slot.Fail(ctx, now)
		q.fail(xc5.Errorf(xc5.EFORBIDDEN, "the current password is not right"))
		return
	}
	slot.Succeed()
	pw := q.r.PostFormValue("new")
	if len(pw) < 8 {
		q.fail(xc5.Errorf(xc5.EINVALID, "the new password needs at least 8 characters"))
		return
	}
	if _, err := q.put(resource.Account, "", acct.GUID, map[string]any{"password": pw}, resource.Patch); err != nil {
		q.fail(err)
		return
	}
	q.back("login")
}
