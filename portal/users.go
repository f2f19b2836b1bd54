package portal

import (
	"net/http"
	"sort"
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
	Rows           []userRow
	CompanyNumbers []string
	Total          int
	Prev, Next     int // page offsets; -1 for none
	Secret         string
	SecretFor      string
}

// extensions maps usernames (lower-case) to their extension: the
// company's order -2 callrules that send prefix_raw to an account, the
// document's way of numbering extensions ("PUT …/acmebrick.x.co.nz/
// callrule {order:-2, prefix_raw:600, username:reception@…, destination::600}").
func (s *Server) extensions(q *req) map[string]string {
	ext := map[string]string{}
	for _, c := range q.co.CallRules {
		if c.Order == -2 && c.Username != "" && c.PrefixRaw != "" && !c.EarlyRule {
			ext[strings.ToLower(c.Username)] = c.PrefixRaw
		}
	}
	return ext
}

// listUsers reads the company's accounts (those the user may see) and
// fills the rows of the page at offset off.
func (s *Server) listUsers(q *req, off int) (usersData, error) {
	ctx := q.r.Context()
	var all []resource.Record
	if q.u.Admin {
		err := s.store.List(ctx, q.scope(), resource.Account, resource.Query{}, func(rec resource.Record) error {
			all = append(all, rec)
			return nil
		})
		if err != nil {
			return usersData{}, err
		}
	} else {
		rec, err := q.account("")
		if err != nil {
			return usersData{}, err
		}
		all = []resource.Record{rec}
	}
	d := usersData{Total: len(all), Prev: -1, Next: -1}
	for _, rec := range all {
		if a := s.view.Account(rec.GUID); a != nil {
			for _, n := range a.Numbers {
				d.CompanyNumbers = append(d.CompanyNumbers, n.Number)
			}
		}
	}
	sort.Strings(d.CompanyNumbers)
	off = min(max(off, 0), len(all))
	end := min(off+pageSize, len(all))
	if off > 0 {
		d.Prev = max(off-pageSize, 0)
	}
	if end < len(all) {
		d.Next = end
	}
	ext := s.extensions(q)
	loc := s.view.Zone(q.co)
	now := time.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).UTC().Format(time.RFC3339)
	for _, rec := range all[off:end] {
		name, _ := rec.Values["username"].(string)
		row := userRow{GUID: rec.GUID, Username: name, Ext: ext[strings.ToLower(name)]}
		if a := s.view.Account(rec.GUID); a != nil {
			for _, n := range a.Numbers {
				row.Numbers = append(row.Numbers, n.Number)
			}
		}
		row.Registered = resource.RegisteredNow(ctx, s.store, rec.GUID)
		err := s.store.List(ctx, q.scope(), resource.CDR, resource.Query{Parent: rec.GUID, Since: midnight}, func(resource.Record) error {
			row.CallsToday++
			return nil
		})
		if err != nil {
			return d, err
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

func offset(q *req) int {
	n, _ := strconv.Atoi(q.r.URL.Query().Get("offset"))
	return n
}

// overview is the home page.
func (s *Server) overview(q *req) {
	d, err := s.listUsers(q, offset(q))
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
	if len(rest) != 2 || !q.post() {
		if len(rest) != 2 {
			http.NotFound(q.w, q.r)
		}
		return
	}
	acct, err := q.account(rest[0])
	if err != nil {
		q.fail(err)
		return
	}
	name, _ := acct.Values["username"].(string)
	switch rest[1] {
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
	default:
		http.NotFound(q.w, q.r)
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	q.back("users?offset=" + strconv.Itoa(offset(q)))
}

func (s *Server) showUsers(q *req, flash, secret, secretFor string) {
	d, err := s.listUsers(q, offset(q))
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
