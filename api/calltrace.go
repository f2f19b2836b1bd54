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
			return extra.Has(a) || o.Inside(a.Username) && s.registered(r.Context(), a.GUID)
		}
		if !o.Inside(from) {
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

// redact hides from a user-level caller what happens outside its
// partition (routing.Redact).
func (s *Server) redact(ctx context.Context, c Caller, t routing.Trace) routing.Trace {
	o := s.outsiders(ctx, c)
	return routing.Redact(t, o.Inside, o.Outside)
}

// registered reports whether an account has a live SIP registration.
func (s *Server) registered(ctx context.Context, guid string) bool {
	return resource.RegisteredNow(ctx, s.store, guid)
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
