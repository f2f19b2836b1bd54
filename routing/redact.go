package routing

import "strings"

// anotherCompany stands, in a partition's trace, for a username outside
// it (resource.AnotherCompany; repeated here, where the trace is).
const anotherCompany = "another company"

// OutsideText is the text of the step that stands, in a user-level
// reader's trace, for a run of steps taken by accounts outside its
// partition.
const OutsideText = "handled by another company (not shown)"

// Redact hides from a user-level reader what happens outside its
// partition: each run of steps of outside accounts becomes one "outside"
// step without usernames or GUIDs, outside usernames named in its own
// steps become "another company", and an outcome reached outside keeps
// only its kind (and SIP code). inside tells an account of the
// partition; outsider an existing account outside it. The API's
// calltrace and the company portal's trace both answer through it.
func Redact(t Trace, inside, outsider func(string) bool) Trace {
	out := Trace{Outcome: t.Outcome}
	hidden := false
	for _, st := range t.Steps {
		if st.Account != "" && !inside(st.Account) {
			if !hidden {
				out.Steps = append(out.Steps, Step{Kind: "outside", Text: OutsideText})
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
		*oc = Outcome{Outcome: oc.Outcome, Code: oc.Code}
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
func recordedInside(t Trace, inside func(string) bool) []string {
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
