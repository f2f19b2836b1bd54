package portal

import (
	"net/http"
	"strings"

	"xc5"
	"xc5/resource"
)

// numberRow is one number of an account, or of the pool.
type numberRow struct {
	GUID, Number, CFA, AlertInfo string
}

type numbersData struct {
	Account, AccountGUID, Filter string
	Numbers, Pool                []numberRow
	Searched                     bool
}

// maxPool bounds the free numbers one search shows.
const maxPool = 20

// numbers shows an account's numbers (administrators only) and changes
// them as the API would for the company: allocate one from the pool
// (PUT …/number/{pool guid}, within number_limit), return one (DELETE),
// set cfa and alert-info (PATCH).
func (s *Server) numbers(q *req, rest []string) {
	acct, ok := q.adminAccount(rest)
	if !ok {
		return
	}
	var err error
	if q.r.Method == http.MethodPost {
		if len(rest) != 3 {
			http.NotFound(q.w, q.r)
			return
		}
		num := rest[1]
		switch rest[2] {
		case "take":
			_, err = q.put(resource.Number, acct.GUID, num, map[string]any{}, resource.Upsert)
		case "return":
			err = s.store.Delete(q.r.Context(), q.scope(), resource.Number, acct.GUID, num)
		case "set":
			_, err = q.put(resource.Number, acct.GUID, num, map[string]any{"cfa": strings.TrimSpace(q.r.PostFormValue("cfa")),
				"alert-info": strings.TrimSpace(q.r.PostFormValue("alert-info"))}, resource.Patch)
		default:
			err = xc5.Errorf(xc5.ENOTFOUND, "no such action")
		}
		if err != nil {
			q.fail(err)
			return
		}
		q.back("numbers?account=" + urlq(acct.GUID))
		return
	}
	d := numbersData{Account: acct.Values["username"].(string), AccountGUID: acct.GUID, Filter: strings.TrimSpace(q.r.URL.Query().Get("filter"))}
	row := func(rec resource.Record) numberRow {
		r := numberRow{GUID: rec.GUID}
		r.Number, _ = rec.Values["number"].(string)
		r.CFA, _ = rec.Values["cfa"].(string)
		r.AlertInfo, _ = rec.Values["alert-info"].(string)
		return r
	}
	ctx := q.r.Context()
	err = s.store.List(ctx, q.scope(), resource.Number, resource.Query{Parent: acct.GUID}, func(rec resource.Record) error {
		d.Numbers = append(d.Numbers, row(rec))
		return nil
	})
	if err == nil && d.Filter != "" {
		if len(d.Filter) > 32 {
			err = xc5.Errorf(xc5.EINVALID, "the number filter is longer than 32 characters")
		} else {
			d.Searched = true
			err = s.store.List(ctx, q.scope(), resource.NumberAllocate, resource.Query{Parent: acct.GUID, Filter: d.Filter, Limit: maxPool},
				func(rec resource.Record) error {
					d.Pool = append(d.Pool, row(rec))
					return nil
				})
		}
	}
	if err != nil {
		q.fail(err)
		return
	}
	q.render("numbers", "Numbers", d, "")
}
