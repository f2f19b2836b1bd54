package portal

import (
	"errors"
	"html/template"
	"strconv"
	"strings"
	"time"

	"xc5"
	"xc5/resource"
)

// cdrColumns are the CDR fields the Calls page and its CSV show, in order.
var cdrColumns = []string{"started", "direction", "from", "to", "outcome", "duration", "answered_by", "code"}

// callsData is the Calls page's filters and rows.
type callsData struct {
	Account, Since, Until, To string
	Columns                   []string
	Rows                      [][]string
	Next                      int64 // the cursor of the next page; 0 for none
	Query                     template.URL
}

var errPageFull = errors.New("page full")

// calls lists an account's CDRs (an administrator's choice of account,
// else the user's own), filtered by day and dialed text, a page at a
// time; calls.csv gives every matching one as CSV.
func (s *Server) calls(q *req) {
	v := q.r.URL.Query()
	acct, err := q.account(strings.TrimSpace(v.Get("account")))
	if err != nil {
		q.fail(err)
		return
	}
	loc := s.view.Zone(q.co)
	d := callsData{Account: acct.Values["username"].(string), Since: v.Get("since"), Until: v.Get("until"),
		To: strings.TrimSpace(v.Get("to")), Columns: cdrColumns}
	query := resource.Query{Parent: acct.GUID}
	if query.Since, err = day(d.Since, loc, 0); err == nil {
		query.Until, err = day(d.Until, loc, 1)
	}
	if err != nil {
		q.fail(err)
		return
	}
	if len(d.To) > 64 {
		q.fail(xc5.Errorf(xc5.EINVALID, "the number filter is longer than 64 characters"))
		return
	}
	csv := q.rel == "calls.csv"
	limit := pageSize
	if csv {
		limit = 0
	} else {
		query.After, _ = strconv.ParseInt(v.Get("after"), 10, 64)
		if d.To == "" {
			query.Limit = limit + 1 // the store reads no more than the page (and one to know there is a next)
		}
	}
	// Redacted first, filtered after, as the API filters a user-level
	// CDR list: the filter matches what the company reads.
	o := resource.NewOutsiders(q.r.Context(), s.store, q.scope())
	var cw *csvWriter
	if csv {
		q.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		q.w.Header().Set("Content-Disposition", `attachment; filename="calls.csv"`)
		q.w.Header().Set("Cache-Control", "private, no-store") // as the audio: kept by no cache after logout
		cw = newCSVWriter(q.w)
		cw.row(cdrColumns)
	}
	to := strings.ToLower(d.To)
	err = s.store.List(q.r.Context(), q.scope(), resource.CDR, query, func(rec resource.Record) error {
		rec = o.RedactCDR(rec)
		if t, _ := rec.Values["to"].(string); to != "" && !strings.Contains(strings.ToLower(t), to) {
			return nil
		}
		row := cdrRow(rec)
		if csv {
			cw.row(row)
			return cw.err
		}
		if len(d.Rows) == limit {
			d.Next = query.After
			return errPageFull
		}
		d.Rows = append(d.Rows, row)
		query.After = rec.Seq
		return q.r.Context().Err()
	})
	if csv {
		if err != nil {
			s.log.Warn("portal: calls.csv ended early", "err", err)
		}
		cw.flush()
		return
	}
	if err != nil && err != errPageFull {
		q.fail(err)
		return
	}
	d.Query = template.URL("account=" + urlq(acct.GUID) + "&since=" + urlq(d.Since) + "&until=" + urlq(d.Until) + "&to=" + urlq(d.To))
	q.render("calls", "Calls", d, "")
}

// cdrRow is a CDR's cells, as cdrColumns names them.
func cdrRow(rec resource.Record) []string {
	row := make([]string, len(cdrColumns))
	for i, c := range cdrColumns {
		switch x := rec.Values[c].(type) {
		case string:
			row[i] = x
		case int64:
			row[i] = strconv.FormatInt(x, 10)
		case bool:
			row[i] = strconv.FormatBool(x)
		}
	}
	return row
}

// day turns a date (YYYY-MM-DD, in the company's zone) into an RFC 3339
// bound: its start, or with plus 1 the next day's start (an inclusive
// "until" day).
func day(v string, loc *time.Location, plus int) (string, error) {
	if v == "" {
		return "", nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		return "", xc5.Errorf(xc5.EINVALID, "date %q is not YYYY-MM-DD", v)
	}
	return t.AddDate(0, 0, plus).UTC().Format(time.RFC3339), nil
}
