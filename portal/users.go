package portal

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/secret"
)

// pageSize is the rows of one page of users or calls.
const pageSize = 50

// userRow is one account as the Overview and Users pages show it.
type userRow struct {
	GUID, Username, Ext string
	Numbers             []string
	Registered          bool
	CallsToday          int
}

// usersData is the Overview's and the Users page's data.
type usersData struct {
	Rows []userRow
	// CompanyNumbers are the numbers of the company's own account (its
	// main numbers); each user's are in its row.
	CompanyNumbers []string
	Next           int64 // the cursor of the next page; 0 for none
	Secret         string
	SecretFor      string
}

// extensions maps usernames (lower-case) to their extension: the
// company's order -2 callrules that send prefix_raw to an account, the
// document's way of numbering extensions ("PUT …/acmebrick.x.co.nz/
// callrule {order:-2, prefix_raw:600, username:reception@…, destination::600}").
func (s *Server) extensions(q *req) map[string]string {
	ext := map[string]string{}
	if co := s.view.Account(q.co.GUID); co != nil {
		for _, c := range co.CallRules {
			if c.Order == -2 && c.Username != "" && c.PrefixRaw != "" && !c.EarlyRule {
				ext[strings.ToLower(c.Username)] = c.PrefixRaw
			}
		}
	}
	return ext
}

// listUsers reads a page of the company's accounts (those the user may
// see), after the cursor after, with each one's extension, numbers,
// registration and calls today.
func (s *Server) listUsers(q *req, after int64) (usersData, error) {
	ctx := q.r.Context()
	var page []resource.Record
	var d usersData
	if q.u.Admin {
		err := s.store.List(ctx, q.scope(), resource.Account, resource.Query{After: after, Limit: pageSize + 1}, func(rec resource.Record) error {
			page = append(page, rec)
			return nil
		})
		if err != nil {
			return usersData{}, err
		}
		if len(page) > pageSize {
			page = page[:pageSize]
			d.Next = page[pageSize-1].Seq
		}
	} else {
		rec, err := q.account("")
		if err != nil {
			return usersData{}, err
		}
		page = []resource.Record{rec}
	}
	if a := s.view.Account(q.co.GUID); a != nil {
		for _, n := range a.Numbers {
			d.CompanyNumbers = append(d.CompanyNumbers, n.Number)
		}
	}
	ext := s.extensions(q)
	loc := s.view.Zone(q.co)
	now := time.Now().In(loc)
	guids := make([]string, len(page))
	for i, rec := range page {
		guids[i] = rec.GUID
	}
	reg, calls, err := s.summaries(q, guids, time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc))
	if err != nil {
		return d, err
	}
	for _, rec := range page {
		name, _ := rec.Values["username"].(string)
		row := userRow{GUID: rec.GUID, Username: name, Ext: ext[strings.ToLower(name)],
			Registered: reg[rec.GUID], CallsToday: calls[rec.GUID]}
		if a := s.view.Account(rec.GUID); a != nil {
			for _, n := range a.Numbers {
				row.Numbers = append(row.Numbers, n.Number)
			}
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// cursor is the page cursor of ?after=.
func cursor(q *req) int64 {
	n, _ := strconv.ParseInt(q.r.URL.Query().Get("after"), 10, 64)
	return n
}

// overview is the home page.
func (s *Server) overview(q *req) {
	d, err := s.listUsers(q, cursor(q))
	if err != nil {
		q.fail(err)
		return
	}
	q.render("overview", "Overview", d, "")
}

// users serves the Users page and its changes (administrators only).
func (s *Server) users(q *req, rest []string) {
	if !q.admin() {
		return
	}
	if len(rest) == 0 || rest[0] == "" {
		switch q.r.Method {
		case http.MethodGet:
			s.showUsers(q, "", "", "")
		case http.MethodPost:
			s.createUser(q)
		default:
			http.Error(q.w, "use GET or POST", http.StatusMethodNotAllowed)
		}
		return
	}
	acct, err := q.account(rest[0])
	if err != nil {
		q.fail(err)
		return
	}
	if len(rest) == 1 && q.r.Method == http.MethodGet {
		s.showUser(q, acct)
		return
	}
	if len(rest) != 2 || !q.post() {
		if len(rest) != 2 {
			http.NotFound(q.w, q.r)
		}
		return
	}
	s.userAction(q, acct, rest[1])
}

// showUser answers a user's page: its call flows and mailbox.
func (s *Server) showUser(q *req, acct resource.Record) {
	f, err := s.readUserFlows(q, acct.GUID)
	if err != nil {
		q.fail(err)
		return
	}
	pin, _ := acct.Values["ums_pin"].(string)
	f.Mailbox = pin != ""
	q.render("user", "User", userPage{userRow{GUID: acct.GUID, Username: acct.Values["username"].(string)}, f}, "")
}

// userAction does what a form posted to …/users/{guid}/{action} asks.
func (s *Server) userAction(q *req, acct resource.Record, action string) {
	var err error
	name, _ := acct.Values["username"].(string)
	switch action {
	case "rename":
		// A new username needs a new password (the SIP digest secret is
		// made of both), shown once like a reset.
		pw, to := secret.Generate(), strings.ToLower(strings.TrimSpace(q.r.PostFormValue("username")))
		if err = s.renameUser(q, acct.GUID, name, to, pw); err == nil {
			s.showUsers(q, "Renamed "+name+" to "+to, pw, to)
			return
		}
	case "password":
		pw := secret.Generate()
		if _, err = q.put(resource.Account, "", acct.GUID, map[string]any{"password": pw}, resource.Patch); err == nil {
			s.showUsers(q, "New password set", pw, name)
			return
		}
	case "delete":
		if acct.GUID == q.u.GUID || acct.GUID == q.co.GUID {
			err = xc5.Errorf(xc5.EFORBIDDEN, "you cannot delete your own account or the company's")
		} else {
			err = s.deleteUser(q, acct.GUID, name)
		}
	case "extension":
		err = s.setExtension(q, name, strings.TrimSpace(q.r.PostFormValue("ext")))
	case "voicemail":
		if err = s.setVoicemail(q, acct.GUID, q.r.PostFormValue("email")); err == nil {
			q.back("users/" + acct.GUID)
			return
		}
	case "mailbox", "nomailbox":
		// The document's ums_pin: setting it makes the mailbox, emptying
		// it takes the mailbox and its messages.
		pin := strings.TrimSpace(q.r.PostFormValue("ums_pin"))
		if action == "nomailbox" {
			pin = ""
		} else if pin == "" {
			err = xc5.Errorf(xc5.EINVALID, "ums_pin: give the mailbox's PIN (4 to 12 digits)")
			break
		}
		if _, err = q.put(resource.Account, "", acct.GUID, map[string]any{"ums_pin": pin}, resource.Patch); err == nil {
			q.back("users/" + acct.GUID)
			return
		}
	case "recording":
		if err = s.setRecording(q, acct.GUID, name, q.r.PostFormValue("record") == "on", q.r.PostFormValue("record_email")); err == nil {
			q.back("users/" + acct.GUID)
			return
		}
	default:
		http.NotFound(q.w, q.r)
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	q.back("users")
}

func (s *Server) showUsers(q *req, flash, secret, secretFor string) {
	d, err := s.listUsers(q, cursor(q))
	if err != nil {
		q.fail(err)
		return
	}
	d.Secret, d.SecretFor = secret, secretFor
	q.render("users", "Users", d, flash)
}

// createUser creates an account under the company, with the password
// given or a new one shown once.
func (s *Server) createUser(q *req) {
	name := strings.TrimSpace(q.r.PostFormValue("username"))
	if name != "" && !strings.Contains(name, "@") {
		name += "@" + resource.PartitionDomain(q.co.Username)
	}
	pw := q.r.PostFormValue("password")
	shown := ""
	if pw == "" {
		pw = secret.Generate()
		shown = pw
	}
	rec, err := q.put(resource.Child, q.co.GUID, "", map[string]any{"username": name, "password": pw}, resource.Create)
	if err != nil {
		q.fail(err)
		return
	}
	if ext := strings.TrimSpace(q.r.PostFormValue("ext")); ext != "" {
		if err := s.setExtension(q, rec.Values["username"].(string), ext); err != nil {
			q.fail(err)
			return
		}
	}
	if shown == "" {
		q.back("users")
		return
	}
	s.showUsers(q, "User "+name+" created", shown, name)
}

// setExtension makes ext the extension of the account named username:
// the company's order -2 callrule for it is changed, created, or (ext
// "") deleted.
func (s *Server) setExtension(q *req, username, ext string) error {
	ctx := q.r.Context()
	var rule *resource.Record
	err := s.store.List(ctx, q.scope(), resource.CallRule, resource.Query{Parent: q.co.GUID}, func(rec resource.Record) error {
		u, _ := rec.Values["username"].(string)
		if o, _ := rec.Values["order"].(int64); o == -2 && strings.EqualFold(u, username) && rule == nil {
			r := rec
			rule = &r
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case ext == "" && rule == nil:
		return nil
	case ext == "":
		return s.store.Delete(ctx, q.scope(), resource.CallRule, q.co.GUID, rule.GUID)
	case rule != nil:
		_, err = q.put(resource.CallRule, q.co.GUID, rule.GUID, map[string]any{"prefix_raw": ext, "destination": ":" + ext}, resource.Patch)
	default:
		_, err = q.put(resource.CallRule, q.co.GUID, "", map[string]any{"order": -2, "prefix_raw": ext, "username": username, "destination": ":" + ext}, resource.Create)
	}
	return err
}

// deleteUser deletes an account and its extension: the company's rule
// naming it goes first (the store refuses to delete an account a rule
// names), and comes back if the account cannot be deleted.
func (s *Server) deleteUser(q *req, guid, name string) error {
	ext := s.extensions(q)[strings.ToLower(name)]
	if err := s.setExtension(q, name, ""); err != nil {
		return err
	}
	err := s.store.Delete(q.r.Context(), q.scope(), resource.Account, "", guid)
	if err != nil && ext != "" {
		if err2 := s.setExtension(q, name, ext); err2 != nil {
			s.log.Error("portal: extension not restored after a refused delete", "account", name, "ext", ext, "err", err2)
		}
	}
	return err
}

// renameUser renames an account with a new password, and moves its
// extension to the new name: the rule naming the old one goes first
// (the store refuses to rename an account a rule names) and is written
// again for the new name, or for the old one if the rename is refused.
func (s *Server) renameUser(q *req, guid, from, to, pw string) error {
	ext := s.extensions(q)[strings.ToLower(from)]
	if err := s.setExtension(q, from, ""); err != nil {
		return err
	}
	_, err := q.put(resource.Account, "", guid, map[string]any{"username": to, "password": pw}, resource.Patch)
	name := to
	if err != nil {
		name = from
	}
	if ext != "" {
		if err2 := s.setExtension(q, name, ext); err2 != nil {
			s.log.Error("portal: extension not written again after a rename", "account", name, "ext", ext, "err", err2)
			if err == nil {
				err = err2
			}
		}
	}
	return err
}

// summaries answers which of the accounts are registered now and how
// many calls each has had since since: in one query each when the store
// can (xc5.AccountSummaries), else account by account.
func (s *Server) summaries(q *req, guids []string, since time.Time) (map[string]bool, map[string]int, error) {
	ctx := q.r.Context()
	if sum, ok := s.store.(xc5.AccountSummaries); ok {
		reg, err := sum.LiveRegistrations(ctx, guids, time.Now())
		if err != nil {
			return nil, nil, err
		}
		calls, err := sum.CDRCounts(ctx, guids, since)
		return reg, calls, err
	}
	reg, calls := map[string]bool{}, map[string]int{}
	from := since.UTC().Format(time.RFC3339)
	for _, g := range guids {
		reg[g] = resource.RegisteredNow(ctx, s.store, g)
		err := s.store.List(ctx, q.scope(), resource.CDR, resource.Query{Parent: g, Since: from}, func(resource.Record) error {
			calls[g]++
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return reg, calls, nil
}
