package routing_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"xc5/dialplan"
	"xc5/resource"
	"xc5/routing"
)

// badStored is a route as a store may hold it after a grammar was
// tightened: every grammar field fails to parse now.
var badStored = resource.Record{GUID: "0B0B0B0B-0000-4000-8000-000000000001", Parent: "acct", Seq: 1, Values: map[string]any{
	"order": int64(5), "username": "a@org.test", "destination": "drop:99:nonsense",
	"time_definition": "Mon-Xyz", "digit_map": "1=",
}}

// TestStoredGrammarErrors: a stored grammar that does not parse is left
// out (the rule acts without it, as before) but no longer silently: the
// conversion returns the parse errors, one per field, and the view logs
// them naming the record.
func TestStoredGrammarErrors(t *testing.T) {
	r, err := routing.RouteFromRecord(badStored)
	var syn *dialplan.SyntaxError
	if !errors.As(err, &syn) {
		t.Fatalf("RouteFromRecord: error %v, want the grammars' syntax errors", err)
	}
	for _, field := range []string{"destination", "time_definition", "digit_map"} {
		if !strings.Contains(err.Error(), field+" ") {
			t.Errorf("RouteFromRecord's error does not name %s: %v", field, err)
		}
	}
	if r.Order != 5 || r.Username != "a@org.test" || r.HasDest || len(r.DigitMap.Entries) != 0 {
		t.Errorf("the route's other fields must stay and the bad ones be left out: %+v", r)
	}
	if _, err := routing.CallRuleFromRecord(badStored); err == nil || !strings.Contains(err.Error(), "destination") {
		t.Errorf("CallRuleFromRecord: error %v, want the destination's", err)
	}
	good := resource.Record{Values: map[string]any{"destination": "email:x@org.test", "time_definition": "Mon-Fri 08:30-17:00", "digit_map": "1=#3"}}
	if _, err := routing.RouteFromRecord(good); err != nil {
		t.Errorf("a valid route: %v", err)
	}

	var log bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&log, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	f := newFixture()
	f.account("x.test", "", nil, routing.Rules{Routes: []resource.Record{badStored}, CallRules: []resource.Record{badStored}})
	f.v.SetTimeSets([]resource.Record{{GUID: "0B0B0B0B-0000-4000-8000-000000000002", Values: map[string]any{
		"name": "bad", "dates": "2026-13-45", "definition": "Mon-Xyz"}}})
	text := log.String()
	for _, want := range []string{
		"resource=route guid=" + badStored.GUID, "resource=callrule guid=" + badStored.GUID,
		"resource=timedefinition guid=0B0B0B0B-0000-4000-8000-000000000002",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the log lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "does not parse"); n != 4 {
		t.Errorf("%d warnings, want 4 (route, callrule, the set's dates and definition):\n%s", n, text)
	}
}
