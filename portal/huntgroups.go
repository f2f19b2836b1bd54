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

// huntGroups lists the company's hunt groups (accounts with hunt_user
// routes, the document's main_entry) and adds or removes members: each
// member is a route {order, username, hunt_user:true, ring_seconds}.
func (s *Server) huntGroups(q *req, rest []string) {
	if !q.admin() {
		return
	}
	if len(rest) == 0 || rest[0] == "" {
		var groups []huntGroup
		err := s.store.List(q.r.Context(), q.scope(), resource.Account, resource.Query{}, func(rec resource.Record) error {
			if g, ok := s.group(rec.GUID); ok {
				groups = append(groups, g)
			}
			return nil
		})
		if err != nil {
			q.fail(err)
			return
		}
		q.render("huntgroups", "Hunt groups", groups, "")
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
