package portal

import (
	"sort"
	"strconv"
	"strings"

	"xc5"
	"xc5/resource"
)

// menuStep is one menu route (menu_level > 0), as the API holds it.
type menuStep struct {
	GUID                                string
	Order, Level                        int64
	Time, DigitMap, Prompt, Destination string
	Username                            string
	// Written is Time when it is not just a defined set's name (the
	// document's "nz_holidays,!Mon-Thur 08:30-17:00"), shown written out;
	// PromptOther is Prompt when it is none of the account's choices.
	Written, PromptOther string
}

// GoesTo is the step's destination as one field: the account it
// delivers to, else its forward destination.
func (m menuStep) GoesTo() string {
	if m.Username != "" {
		return m.Username
	}
	return m.Destination
}

// promptChoice is a prompt a menu of the account may play.
type promptChoice struct{ GUID, Label string }

type menuFlow struct {
	GUID, Username string
	Steps          []menuStep
	// Prompts are the ones the store lets this account's routes name:
	// its own, the company's and the shared ones.
	Prompts []promptChoice
}

// menuOrder is where new menu routes go: the document's "we will
// standardize our menus at order -8".
const menuOrder = -8

// menu reads an account's menu routes and the prompts they may play:
// its own and common (the company's and the shared ones, read once for
// the page).
func (s *Server) menu(q *req, guid, name string, common []promptChoice) (menuFlow, error) {
	m := menuFlow{GUID: guid, Username: name}
	err := s.store.List(q.r.Context(), q.scope(), resource.Route, resource.Query{Parent: guid}, func(r resource.Record) error {
		if st, ok := stepOf(r); ok {
			m.Steps = append(m.Steps, st)
		}
		return nil
	})
	if err != nil {
		return m, err
	}
	sort.SliceStable(m.Steps, func(i, j int) bool {
		a, b := m.Steps[i], m.Steps[j]
		return a.Order < b.Order || a.Order == b.Order && a.Level < b.Level
	})
	if guid != q.co.GUID {
		m.Prompts, err = s.promptChoices(q, guid)
	}
	m.Prompts = append(m.Prompts, common...)
	for i, st := range m.Steps {
		m.Steps[i].PromptOther = st.Prompt
		for _, p := range m.Prompts {
			if strings.EqualFold(p.GUID, st.Prompt) {
				m.Steps[i].PromptOther = ""
			}
		}
	}
	return m, err
}

// markWritten sets each step's Written: its time definition unless it
// is one of the defined sets (then the list shows it chosen).
func markWritten(menus []menuFlow, sets []string) {
	for _, m := range menus {
		for i, st := range m.Steps {
			m.Steps[i].Written = st.Time
			for _, n := range sets {
				if st.Time == n {
					m.Steps[i].Written = ""
				}
			}
		}
	}
}

// stepOf reads a route as a menu step; ok is false for other routes.
func stepOf(r resource.Record) (menuStep, bool) {
	lvl, _ := r.Values["menu_level"].(int64)
	if lvl == 0 {
		return menuStep{}, false
	}
	st := menuStep{GUID: r.GUID, Level: lvl}
	st.Order, _ = r.Values["order"].(int64)
	st.Time, _ = r.Values["time_definition"].(string)
	st.DigitMap, _ = r.Values["digit_map"].(string)
	st.Prompt, _ = r.Values["promptguid"].(string)
	st.Destination, _ = r.Values["destination"].(string)
	st.Username, _ = r.Values["username"].(string)
	return st, true
}

// promptChoices lists the prompts of the owners (account GUIDs or
// usernames), shared ones marked. A route may name its account's own
// prompts, its company's and the shared ones (the store's rule).
func (s *Server) promptChoices(q *req, owners ...string) ([]promptChoice, error) {
	var out []promptChoice
	seen := map[string]bool{}
	for _, owner := range owners {
		err := s.store.List(q.r.Context(), q.scope(), resource.Prompt, resource.Query{Parent: owner}, func(r resource.Record) error {
			if seen[r.GUID] {
				return nil
			}
			seen[r.GUID] = true
			d, _ := r.Values["description"].(string)
			if d == "" {
				d = r.GUID
			}
			if owner == resource.SharedPrompts {
				d += " (shared)"
			}
			out = append(out, promptChoice{GUID: r.GUID, Label: d})
			return nil
		})
		if err != nil && (owner != resource.SharedPrompts || status(err) >= 500) {
			return nil, err
		}
	}
	return out, nil
}

// timeSets lists the names of the defined time sets (GET
// /api-sys/timedefinition, readable by all).
func (s *Server) timeSets(q *req) ([]string, error) {
	var out []string
	err := s.store.List(q.r.Context(), q.scope(), resource.TimeDefinition, resource.Query{}, func(r resource.Record) error {
		n, _ := r.Values["name"].(string)
		out = append(out, n)
		return nil
	})
	return out, err
}

// menuStep reads a menu route of the account; 404 for any other route.
func (s *Server) menuStep(q *req, acct, route string) (menuStep, error) {
	rec, err := s.store.Get(q.r.Context(), q.scope(), resource.Route, acct, route)
	if err != nil {
		return menuStep{}, err
	}
	st, ok := stepOf(rec)
	if !ok {
		return st, xc5.Errorf(xc5.ENOTFOUND, "route %s is not a menu step", route)
	}
	return st, nil
}

// saveMenuStep adds a menu step to the account (rest empty) or changes
// one (rest[0], its route): the form's level, time definition (a
// defined set chosen, or one written out), key map, destination and
// prompt become the route's fields, checked by the store as the API's.
// A destination with "@" and no "email:" is an account: the route's
// username (the document's menu #2), else its destination.
func (s *Server) saveMenuStep(q *req, acct string, rest []string) error {
	f := q.r.PostFormValue
	lv := strings.TrimSpace(f("menu_level"))
	level, err := strconv.Atoi(lv)
	if err != nil || level < 1 {
		return xc5.Errorf(xc5.EINVALID, "menu_level %q must be a menu level from 1", lv)
	}
	td := strings.TrimSpace(f("time_written"))
	if td == "" {
		td = strings.TrimSpace(f("time_definition"))
	}
	vals := map[string]any{"menu_level": level, "time_definition": td,
		"digit_map": strings.TrimSpace(f("digit_map")), "promptguid": strings.TrimSpace(f("promptguid")),
		"username": "", "destination": ""}
	to := strings.TrimSpace(f("goes_to"))
	if strings.Contains(to, "@") && !strings.HasPrefix(strings.ToLower(to), "email:") {
		vals["username"] = to
	} else {
		vals["destination"] = to
	}
	if len(rest) == 0 {
		vals["order"] = menuOrder
		_, err = q.put(resource.Route, acct, "", vals, resource.Create)
		return err
	}
	st, err := s.menuStep(q, acct, rest[0])
	if err != nil {
		return err
	}
	_, err = q.put(resource.Route, acct, st.GUID, vals, resource.Patch)
	return err
}

// menuFields is what the template of a menu step's fields needs: ids
// unique in the page, the step (zero for a new one) and the choices.
type menuFields struct {
	ID      string
	Step    menuStep
	Sets    []string
	Prompts []promptChoice
}

func menuForm(id string, step any, sets []string, prompts []promptChoice) menuFields {
	st, _ := step.(menuStep)
	return menuFields{ID: id, Step: st, Sets: sets, Prompts: prompts}
}
