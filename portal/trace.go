package portal

import (
	"strings"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/routing"
)

// traceData is the Call trace page's form and answer.
type traceData struct {
	Number, From, At, DTMF string
	Zone                   string
	Done                   bool
	Steps                  []routing.Step
	Outcome                string // the outcome in words
}

// trace answers "what happens when someone calls this number now, at
// this time, pressing these keys": the routing engine's decision, as
// GET /api-sys/calltrace gives it to the company's user-level access
// (redacted the same way: routing.Redact, resource.Outsiders).
func (s *Server) trace(q *req) {
	v := q.r.URL.Query()
	loc := s.view.Zone(q.co)
	d := traceData{Number: strings.TrimSpace(v.Get("number")), From: strings.TrimSpace(v.Get("from")),
		At: v.Get("at"), DTMF: strings.TrimSpace(v.Get("dtmf")), Zone: loc.String()}
	if d.Number == "" {
		q.render("trace", "Call trace", d, "")
		return
	}
	t, err := s.decide(q, d, loc)
	if err != nil {
		q.fail(err)
		return
	}
	d.Done, d.Steps, d.Outcome = true, t.Steps, outcomeText(t.Outcome)
	q.render("trace", "Call trace", d, "")
}

// decide asks the routing engine, as the API's calltrace does for a
// user-level caller: a caller that is not an account of the company is
// an external caller, only the company's own phones' registrations are
// consulted, and what happens outside the company is not told.
func (s *Server) decide(q *req, d traceData, loc *time.Location) (routing.Trace, error) {
	ctx := q.r.Context()
	from := d.From
	if from == "" {
		from = "anonymous"
	}
	call := routing.Call{From: from, Dialed: d.Number, At: time.Now()}
	if d.At != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", d.At, loc)
		if err != nil {
			return routing.Trace{}, xc5.Errorf(xc5.EINVALID, "time %q is not a date and time such as 2026-12-05T21:00", d.At)
		}
		call.At = t
	}
	o := resource.NewOutsiders(ctx, s.store, q.scope())
	sim := &routing.Simulation{Registered: func(a *routing.Account) bool {
		return o.Inside(a.Username) && resource.RegisteredNow(ctx, s.store, a.GUID)
	}}
	if d.DTMF != "" {
		sim.DTMF = strings.Split(d.DTMF, ",")
	}
	if !o.Inside(from) {
		call.External = true
		arrives := false
		for _, st := range s.view.Decide(call, sim).Steps {
			if st.Kind == "deliver" {
				arrives = o.Inside(st.Account)
				break
			}
		}
		if !arrives {
			return routing.Trace{}, xc5.Errorf(xc5.ENOTFOUND, "nothing to trace in your company: a call from %s to %s does not arrive in it", from, d.Number)
		}
	} else if !q.u.Admin && !strings.EqualFold(from, q.u.Username) {
		return routing.Trace{}, xc5.Errorf(xc5.ENOTFOUND, "you can trace calls from your own account or from outside only")
	}
	return routing.Redact(s.view.Decide(call, sim), o.Inside, o.Outside), nil
}

// outcomeText says an outcome in words.
func outcomeText(o routing.Outcome) string {
	var b strings.Builder
	b.WriteString(o.Outcome)
	add := func(label, v string) {
		if v != "" {
			b.WriteString(" · " + label + " " + v)
		}
	}
	switch o.Outcome {
	case routing.Answered:
		add("by", o.By)
	case routing.Email:
		add("to", o.To)
	case routing.Dropped:
		if o.Code != 0 {
			b.WriteString(" · SIP ")
			b.WriteString(itoa(o.Code))
		}
		add("", o.Reason)
	case routing.Conference:
		add("room", o.Room)
	case routing.External:
		add("to", o.Number)
	case routing.Voicemail:
		add("mailbox of", o.Mailbox)
	}
	if len(o.Record) > 0 {
		add("recorded to", strings.Join(o.Record, ", "))
	}
	return b.String()
}
