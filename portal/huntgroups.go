package portal

import (
	"net/http"
	"sort"
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

// flows is the Call flows page's data.
type flows struct {
	Hunt  []huntGroup
	Blast []blastGroup
	Menus []menuFlow
	// Prompts are the ones a new menu may play: the company's and the
	// shared ones.
	Prompts []promptChoice
	// TimeSets are the defined time sets a menu step may be limited to.
	TimeSets []string
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
	if rest[0] == "menu" && len(rest) == 2 && rest[1] == "new" {
		// A first menu step for an account named in the form.
		rest = []string{strings.TrimSpace(q.r.PostFormValue("account")), "menu"}
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
	case (rest[1] == "up" || rest[1] == "down") && len(rest) == 3:
		err = s.moveMember(q, acct.GUID, rest[2], rest[1] == "up")
	case rest[1] == "seconds" && len(rest) == 3:
		err = s.memberSeconds(q, acct.GUID, rest[2])
	case rest[1] == "menu" && len(rest) <= 3:
		err = s.saveMenuStep(q, acct.GUID, rest[2:])
	case rest[1] == "unmenu" && len(rest) == 3:
		if _, err = s.menuStep(q, acct.GUID, rest[2]); err == nil {
			err = s.store.Delete(q.r.Context(), q.scope(), resource.Route, acct.GUID, rest[2])
		}
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
	// The view keeps members of one order in creation order, as calls ring them.
	sort.SliceStable(g.Members, func(i, j int) bool { return g.Members[i].Order < g.Members[j].Order })
	return g, len(g.Members) > 0
}

// flows reads the company's call flows: hunt groups and blast groups
// (from the routing view, forks' GUIDs from the store) and menus (the
// menu routes as the store holds them).
func (s *Server) flows(q *req) (flows, error) {
	var d flows
	ctx := q.r.Context()
	var err error
	if d.Prompts, err = s.promptChoices(q, q.co.GUID, resource.SharedPrompts); err != nil {
		return d, err
	}
	err = s.store.List(ctx, q.scope(), resource.Account, resource.Query{}, func(rec resource.Record) error {
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
				m, err := s.menu(q, a.GUID, a.Username, d.Prompts)
				if err != nil {
					return err
				}
				d.Menus = append(d.Menus, m)
				break
			}
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	d.TimeSets, err = s.timeSets(q)
	markWritten(d.Menus, d.TimeSets)
	return d, err
}

// moveMember moves a hunt member one place up (rings earlier) or down:
// it takes its neighbour's order and the neighbour takes its own, two
// PATCHes of the routes' order as the API would write them. Members
// that share an order are separated by one.
func (s *Server) moveMember(q *req, group, route string, up bool) error {
	g, _ := s.group(group)
	i := -1
	for k, m := range g.Members {
		if strings.EqualFold(m.Route, route) {
			i = k
		}
	}
	if i < 0 {
		return xc5.Errorf(xc5.ENOTFOUND, "route %s is not a member of %s", route, g.Username)
	}
	j, end := i+1, "last"
	if up {
		j, end = i-1, "first"
	}
	if j < 0 || j >= len(g.Members) {
		return xc5.Errorf(xc5.EINVALID, "%s is already the %s member of %s", g.Members[i].Username, end, g.Username)
	}
	me, other := g.Members[i], g.Members[j]
	mine, theirs := other.Order, me.Order
	if mine == theirs {
		if up {
			mine--
		} else {
			mine++
		}
	}
	if _, err := q.put(resource.Route, group, me.Route, map[string]any{"order": mine}, resource.Patch); err != nil {
		return err
	}
	if theirs == other.Order {
		return nil
	}
	_, err := q.put(resource.Route, group, other.Route, map[string]any{"order": theirs}, resource.Patch)
	return err
}

// memberSeconds sets a hunt member's ring_seconds (the route's
// description checks the value: 0 to 600).
func (s *Server) memberSeconds(q *req, group, route string) error {
	rec, err := s.store.Get(q.r.Context(), q.scope(), resource.Route, group, route)
	if err != nil {
		return err
	}
	if hunt, _ := rec.Values["hunt_user"].(bool); !hunt {
		return xc5.Errorf(xc5.ENOTFOUND, "route %s is not a hunt group member", route)
	}
	v := strings.TrimSpace(q.r.PostFormValue("ring_seconds"))
	secs, err := strconv.Atoi(v)
	if err != nil {
		return xc5.Errorf(xc5.EINVALID, "ring_seconds %q is not a whole number of seconds", v)
	}
	_, err = q.put(resource.Route, group, rec.GUID, map[string]any{"ring_seconds": secs}, resource.Patch)
	return err
}
