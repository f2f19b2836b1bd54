package portal

import (
	"net/http"
	"strconv"
	"strings"

	"xc5/resource"
)

type meData struct {
	Username, Dest string
	Active         bool
	Seconds        int64
}

// me shows and changes the user's own forwards: cfna_active, cfna_dest,
// cfna_duration (what any user of the company may change of its own).
func (s *Server) me(q *req) {
	acct, err := q.account("")
	if err != nil {
		q.fail(err)
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
	q.render("me", "My forwards", d, "")
}
