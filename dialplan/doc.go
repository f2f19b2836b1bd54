// Package dialplan parses, validates and evaluates the small grammars used
// by the string fields of call-routing rules: digit_map, destination and
// time_definition (see docs/grammar.md for the grammar and semantics).
//
// It is pure: no I/O, no clock, no time zone lookups and nothing outside the
// standard library, so the provisioning API can validate a rule with exactly
// the code the call router later uses to run it, and both can be tested
// without a database or a SIP stack.
//
// Every parsed value has a String method that prints the canonical text;
// parsing that text again yields an equal value, so the API may store either
// what the client sent or the canonical form.
package dialplan

import "fmt"

// SyntaxError is returned by every parser in this package. It carries the
// field name and the offending input separately so that an API can point the
// client at the right field without parsing the message.
type SyntaxError struct {
	Field string // "digit_map", "destination" or "time_definition"
	Input string // the text that was rejected (the whole field or one part of it)
	Msg   string // what is wrong, in words meant for the person who wrote Input
}

// Error formats the error as `field "input": message`, the form the API
// returns to clients verbatim.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Input, e.Msg)
}

func syntaxErr(field, input, format string, args ...any) error {
	return &SyntaxError{Field: field, Input: input, Msg: fmt.Sprintf(format, args...)}
}
