package portal

import (
	"net/http"
	"strconv"
	"strings"

	"xc5"
	"xc5/resource"
)

// huntMember is one hunt_user route of a group.
type huntMember struct {
	Route, Username string
	Order, Seconds  int
}

type huntGroup struct {
	GUID, Username string
	Members        []huntMember
}

// blastGroup is an account with forks: every destination rings at once.
type blastGroup struct {
	GUID, Username string
	Forks          []resource.Record
}

// menuStep is one menu route (menu_level > 0), shown as the API holds it.
type menuStep struct {
	Level                               int64
	Time, DigitMap, Prompt, Destination string
	Username                            string
}

type menuFlow struct {
	Username string
	Steps    []menuStep
}

// flows is the Call flows page's data.
type flows struct {
	Hunt  []huntGroup
	Blast []blastGroup
	Menus []menuFlow
}

// huntGroups lists the company's hunt groups (accounts with hunt_user
// routes, the document's main_entry) and adds or removes members: each
// member is a route {order, username, hunt_user:true, ring_seconds}.
func (s *Server) huntGroups(q *req, rest []string) {
	if !q.admin() {
		return
	}
	if len(rest) == 0 || rest[0] == "" {
		d, err := s.flows(q)
		if err != nil {
			q.fail(err)
			return
		}
		q.render("huntgroups", "Call flows", d, "")
		return
	}
	if len(rest) < 2 || !q.post() {
		if len(rest) < 2 {
			http.NotFound(q.w, q.r)
		}
		return
	}
	acct, err := q.account(rest[0])
	if err != nil {
		q.fail(err)
		return
	}
	switch {
	case rest[1] == "add" && len(rest) == 2:
		secs, _ := strconv.Atoi(q.r.PostFormValue("ring_seconds"))
		if secs == 0 {
			secs = 10
		}
		g, _ := s.group(acct.GUID)
		order := 100
		for _, m := range g.Members {
			order = max(order, m.Order+1)
		}
		_, err = q.put(resource.Route, acct.GUID, "", map[string]any{"order": order,
			"username": strings.TrimSpace(q.r.PostFormValue("username")), "hunt_user": true, "ring_seconds": secs}, resource.Create)
	case rest[1] == "remove" && len(rest) == 3:
		err = s.store.Delete(q.r.Context(), q.scope(), resource.Route, acct.GUID, rest[2])
	case rest[1] == "fork" && len(rest) == 2:
		_, err = q.put(resource.Fork, acct.GUID, "", map[string]any{"destination": strings.TrimSpace(q.r.PostFormValue("destination"))}, resource.Create)
	case rest[1] == "unfork" && len(rest) == 3:
		err = s.store.Delete(q.r.Context(), q.scope(), resource.Fork, acct.GUID, rest[2])
	default:
		err = xc5.Errorf(xc5.ENOTFOUND, "no such action")
	}
	if err != nil {
		q.fail(err)
		return
	}
	q.back("huntgroups")
}

// group reads an account's hunt group from the routing view.
func (s *Server) group(guid string) (huntGroup, bool) {
	a := s.view.Account(guid)
	if a == nil {
		return huntGroup{}, false
	}
	g := huntGroup{GUID: a.GUID, Username: a.Username}
	for _, r := range a.Routes {
		if r.HuntUser {
			g.Members = append(g.Members, huntMember{Route: r.GUID, Username: r.Username, Order: r.Order, Seconds: r.RingSeconds})
		}
	}
	return g, len(g.Members) > 0
}

// flows reads the company's call flows: hunt groups and blast groups
// (from the routing view, forks' GUIDs from the store) and menus (the
// menu routes as the store holds them).
func (s *Server) flows(q *req) (flows, error) {
	var d flows
	ctx := q.r.Context()
	err := s.store.List(ctx, q.scope(), resource.Account, resource.Query{}, func(rec resource.Record) error {
		if g, ok := s.group(rec.GUID); ok {
			d.Hunt = append(d.Hunt, g)
		}
		a := s.view.Account(rec.GUID)
		if a == nil {
			return nil
		}
		if len(a.Forks) > 0 {
			b := blastGroup{GUID: a.GUID, Username: a.Username}
			if err := s.store.List(ctx, q.scope(), resource.Fork, resource.Query{Parent: a.GUID}, func(f resource.Record) error {
				b.Forks = append(b.Forks, f)
				return nil
			}); err != nil {
				return err
			}
			d.Blast = append(d.Blast, b)
		}
		for _, r := range a.Routes {
			if r.MenuLevel > 0 {
				m, err := s.menu(q, a.GUID, a.Username)
				if err != nil {
					return err
				}
				d.Menus = append(d.Menus, m)
				break
			}
		}
		return nil
	})
	return d, err
}

// menu reads an account's menu routes.
func (s *Server) menu(q *req, guid, name string) (menuFlow, error) {
	m := menuFlow{Username: name}
	err := s.store.List(q.r.Context(), q.scope(), resource.Route, resource.Query{Parent: guid}, func(r resource.Record) error {
		lvl, _ := r.Values["menu_level"].(int64)
		if lvl == 0 {
			return nil
		}
		st := menuStep{Level: lvl}
		st.Time, _ = r.Values["time_definition"].(string)
		st.DigitMap, _ = r.Values["digit_map"].(string)
		st.Prompt, _ = r.Values["promptguid"].(string)
		st.Destination, _ = r.Values["destination"].(string)
		st.Username, _ = r.Values["username"].(string)
		m.Steps = append(m.Steps, st)
		return nil
	})
	return m, err
}
