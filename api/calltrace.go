package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/routing"
)

// calltrace decides a call with the routing engine and answers its steps,
// the outcome last.
func (s *Server) calltrace(w http.ResponseWriter, r *http.Request, c Caller, q map[string]string) error {
	if s.view == nil {
		return xc5.Errorf(xc5.EINVALID, "call tracing is not available on this server")
	}
	from, dial := q["from"], q["dial"]
	if from == "" || dial == "" {
		return xc5.Errorf(xc5.EINVALID, "calltrace needs from and dial: ?from=reception@acmebrick.x.co.nz&dial=608")
	}
	call := routing.Call{From: from, Dialed: dial, At: time.Now()}
	if at := q["at"]; at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return xc5.Errorf(xc5.EINVALID, "at %q is not an RFC 3339 time such as 2026-12-04T19:00:00+13:00", at)
		}
		call.At = t
	}
	extra := routing.ParseSet(q["registered"])
	sim := &routing.Simulation{
		NoAnswer: routing.ParseSet(q["noanswer"]),
		Busy:     routing.ParseSet(q["busy"]),
		Registered: func(a *routing.Account) bool {
			return extra.Has(a) || s.registered(r.Context(), a.GUID)
		},
	}
	if d, ok := q["dtmf"]; ok {
		sim.DTMF = strings.Split(d, ",")
	}
	if c.Scope != "" {
		// Below system level nothing outside the partition is told: an
		// outside account calling is any unknown external caller, and
		// outside accounts' real registrations are not consulted (only
		// what the request says), so the trace tells nothing of another
		// company's phones.
		o := s.outsiders(r.Context(), c)
		sim.Registered = func(a *routing.Account) bool {
			return extra.Has(a) || o.inside(a.Username) && s.registered(r.Context(), a.GUID)
		}
		if !o.inside(from) {
			call.External = true
			if !s.arrivesIn(r.Context(), c, call, sim) {
				return xc5.Errorf(xc5.ENOTFOUND, "nothing to trace in your partition: %s is not yours and the call does not arrive in it", from)
			}
		}
	}
	t := s.view.Decide(call, sim)
	if c.Scope != "" {
		t = s.redact(r.Context(), c, t)
	}
	writeJSON(w, http.StatusOK, AppendTrace(nil, t))
	return nil
}

// arrivesIn reports whether a call from outside a user-level caller's
// partition is delivered into it.
func (s *Server) arrivesIn(ctx context.Context, c Caller, call routing.Call, sim *routing.Simulation) bool {
	for _, st := range s.view.Decide(call, sim).Steps {
		if st.Kind == "deliver" {
			_, err := s.store.Get(ctx, c.Scope, resource.Account, "", st.Account)
			return err == nil
		}
	}
	return false
}

// outsideText is the text of the step that stands, in a user-level
// caller's trace, for a run of steps taken by accounts outside its
// partition.
const outsideText = "handled by another company (not shown)"

// redact hides from a user-level caller what happens outside its
// partition: each run of steps of outside accounts becomes one "outside"
// step without usernames or GUIDs, outside usernames named in its own
// steps become "another company", and an outcome reached outside keeps
// only its kind (and SIP code).
func (s *Server) redact(ctx context.Context, c Caller, t routing.Trace) routing.Trace {
	o := s.outsiders(ctx, c)
	inside, outsider := o.inside, o.outside
	out := routing.Trace{Outcome: t.Outcome}
	hidden := false
	for _, st := range t.Steps {
		if st.Account != "" && !inside(st.Account) {
			if !hidden {
				out.Steps = append(out.Steps, routing.Step{Kind: "outside", Text: outsideText})
			}
			hidden = true
			continue
		}
		hidden = false
		if st.Kind == "caller" && st.Account == "" {
			out.Steps = append(out.Steps, st) // an external caller: the request's own from, echoed as for any name
			continue
		}
		words := strings.Fields(st.Text)
		for i, w := range words {
			if name := strings.TrimRight(w, ":,;"); outsider(name) {
				words[i] = anotherCompany + w[len(name):]
			}
		}
		st.Text = strings.Join(words, " ")
		out.Steps = append(out.Steps, st)
	}
	oc := &out.Outcome
	if hidden {
		*oc = routing.Outcome{Outcome: oc.Outcome, Code: oc.Code}
	}
	oc.Record = recordedInside(t, inside)
	if hidden {
		return out
	}
	for _, f := range []*string{&oc.By, &oc.Mailbox} {
		if *f != "" && outsider(*f) {
			*f = anotherCompany
		}
	}
	return out
}

// recordedInside keeps, of the addresses a call is recorded to, those
// that accounts inside the partition added: each address comes with a
// "record" step of the account whose callrule added it, the address last.
func recordedInside(t routing.Trace, inside func(string) bool) []string {
	ours := map[string]bool{}
	for _, st := range t.Steps {
		if w := strings.Fields(st.Text); st.Kind == "record" && len(w) > 0 && st.Account != "" && inside(st.Account) {
			ours[w[len(w)-1]] = true
		}
	}
	var out []string
	for _, r := range t.Outcome.Record {
		if ours[r] {
			out = append(out, r)
		}
	}
	return out
}

// registered reports whether an account has a live SIP registration.
func (s *Server) registered(ctx context.Context, guid string) bool {
	now := time.Now().UTC().Format(time.RFC3339)
	found := false
	s.store.List(ctx, "", resource.Registration, resource.Query{Parent: guid}, func(rec resource.Record) error {
		if exp, _ := rec.Values["expires"].(string); exp > now {
			found = true
		}
		return nil
	})
	return found
}

// AppendTrace writes a trace as the calltrace JSON array: one object per
// step, then the outcome.
func AppendTrace(b []byte, t routing.Trace) []byte {
	b = append(b, '[')
	for _, st := range t.Steps {
		b = append(b, `{"kind":`...)
		b = appendString(b, st.Kind)
		b = append(b, `,"account":`...)
		b = appendString(b, st.Account)
		b = append(b, `,"text":`...)
		b = appendString(b, st.Text)
		if st.GUID != "" {
			b = append(b, `,"guid":`...)
			b = appendString(b, st.GUID)
		}
		if st.HasOrder {
			b = append(b, `,"order":`...)
			b = strconv.AppendInt(b, int64(st.Order), 10)
		}
		b = append(b, "},"...)
	}
	o := t.Outcome
	b = append(b, `{"outcome":`...)
	b = appendString(b, o.Outcome)
	field := func(name, v string) {
		b = append(b, `,"`+name+`":`...)
		b = appendString(b, v)
	}
	switch o.Outcome {
	case routing.Answered:
		field("by", o.By)
	case routing.Email:
		field("to", o.To)
		field("prompt", o.Prompt)
	case routing.Dropped:
		b = append(b, `,"code":`...)
		b = strconv.AppendInt(b, int64(o.Code), 10)
		field("reason", o.Reason)
	case routing.Conference:
		field("room", o.Room)
	case routing.External:
		field("number", o.Number)
	case routing.RecordPrompt:
		field("prompt", o.Prompt)
	case routing.Voicemail:
		field("mailbox", o.Mailbox)
	}
	if len(o.Record) > 0 {
		b = append(b, `,"record":[`...)
		for i, r := range o.Record {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, r)
		}
		b = append(b, ']')
	}
	return append(b, "}]\n"...)
}
