package resource

import "xc5/dialplan"

// Where a grammar is parsed: a field written in one of dialplan's grammars
// (a destination, a digit_map, a time definition) has a Parse, which the
// decoding of a write runs once; the parsed form then travels with the
// write (Input.Parsed, the merged values the store checks, and the
// written record of the store's change, Record.Parsed), and the trunk-zero
// check, the store's reference checks and the routing view take it from
// there instead of parsing the text again. Only what arrives without it
// (records read from the store, another node's change, an import, a
// field the write did not send) is parsed where it arrives.

// Form is the parsed form of one field's value and the text it was parsed
// from: a form is used only for that text, so a form that does not belong
// to a value (a later normalisation, a merged record) is never taken for it.
type Form struct {
	Text  string
	Value any // a dialplan.Destination, DigitMap or TimeDefinition, or a time set's []dialplan.DateRange
}

// Parsed holds the parsed forms of a write's grammar fields, by field name.
type Parsed map[string]Form

// parsedKey is where an Input (and the values merged from it) carries its
// Parsed: Input is the map that Store.Put and every writer take, so the
// forms ride in it rather than beside it. No field can be called so
// (Decode refuses a key that names no field), and the store writes the
// columns of fields only.
const parsedKey = "\x00parsed"

// Parsed returns the parsed forms the input carries; nil when none.
func (in Input) Parsed() Parsed { return ParsedIn(in) }

// ParsedIn returns the parsed forms that a write's values carry (an Input,
// or a record's values merged from one); nil when none.
func ParsedIn(vals map[string]any) Parsed {
	p, _ := vals[parsedKey].(Parsed)
	return p
}

// ParsedAs returns the parsed form of field when p holds one of type T
// parsed from text.
func ParsedAs[T any](p Parsed, field, text string) (T, bool) {
	f, ok := p[field]
	if !ok || f.Text != text {
		var zero T
		return zero, false
	}
	v, ok := f.Value.(T)
	return v, ok
}

// ParseOr returns the parsed form of field from p when it holds text's,
// else parses text: the one place a value that arrived without its form
// is parsed.
func ParseOr[T any](p Parsed, field, text string, parse func(string) (T, error)) (T, error) {
	if v, ok := ParsedAs[T](p, field, text); ok {
		return v, nil
	}
	return parse(text)
}

// ParseKept is ParseOr on a write's values (ParsedIn) that keeps what it
// had to parse in them, for the write's later readers (the store keeps
// what its checks parsed of values the write did not send, for the
// view). The values' Parsed is replaced by a copy, never changed: it may
// be the caller's Input's.
func ParseKept[T any](vals map[string]any, field, text string, parse func(string) (T, error)) (T, error) {
	old := ParsedIn(vals)
	if v, ok := ParsedAs[T](old, field, text); ok {
		return v, nil
	}
	v, err := parse(text)
	if err == nil {
		p := make(Parsed, len(old)+1)
		for k, f := range old {
			p[k] = f
		}
		p[field] = Form{Text: text, Value: v}
		vals[parsedKey] = p
	}
	return v, err
}

// ParseTimeDefinition parses a time definition that may name any set (the
// store checks that they exist).
func ParseTimeDefinition(s string) (dialplan.TimeDefinition, error) {
	return dialplan.ParseTimeDefinition(s, nil)
}

// TimeDefinition is ParseOr for a time_definition (any set name
// allowed, as the store checks that the sets exist).
func (p Parsed) TimeDefinition(field, text string) (dialplan.TimeDefinition, error) {
	return ParseOr(p, field, text, ParseTimeDefinition)
}

// Destination is ParseOr for a destination.
func (p Parsed) Destination(field, text string) (dialplan.Destination, error) {
	return ParseOr(p, field, text, dialplan.ParseDestination)
}

// DigitMap is ParseOr for a digit_map.
func (p Parsed) DigitMap(field, text string) (dialplan.DigitMap, error) {
	return ParseOr(p, field, text, dialplan.ParseDigitMap)
}

// destinationForm is the Parse of a field checked by pattern that names a
// destination (a cfna_dest, a fork destination: a username or an E.164
// number): its check, and the parsed form of what it names when that is a
// destination, so that the write's trunk-zero and reference checks take
// the form instead of each parsing the value again.
func destinationForm(check func(any) (any, error)) func(string) (string, any, error) {
	return func(s string) (string, any, error) {
		v, err := check(s)
		if err != nil {
			return "", nil, err
		}
		out := v.(string)
		if d, err := dialplan.ParseDestination(out); out != "" && err == nil {
			return out, d, nil
		}
		return out, nil, nil
	}
}
