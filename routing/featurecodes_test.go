package routing_test

import (
	"testing"

	"xc5/resource"
	"xc5/routing"
)

// dndFixture: org.test with a (DND, numbers 6491110001), b, a hunt group
// hunting a then b, and the document's 14 early rule.
func dndFixture(aSettings map[string]any) *fixture {
	f := newFixture()
	for _, n := range []string{"org.test", "a@org.test", "b@org.test", "grp@org.test"} {
		f.ids[n] = resource.NewGUID()
	}
	f.account("org.test", "", map[string]any{"area_code": "9"}, routing.Rules{
		CallRules: []resource.Record{
			f.route("org.test", map[string]any{"order": int64(-2), "prefix_raw": "601", "username": "a@org.test", "destination": ":601"}),
			f.route("org.test", map[string]any{"order": int64(-2), "prefix_raw": "602", "username": "b@org.test", "destination": ":602"}),
			f.route("org.test", map[string]any{"order": int64(-2), "prefix_raw": "14", "destination": "*%", "early_rule": true}),
		},
	})
	f.account("a@org.test", "org.test", aSettings, routing.Rules{Numbers: f.numbers("a@org.test", "6491110001")})
	f.account("b@org.test", "org.test", nil, routing.Rules{Numbers: f.numbers("b@org.test", "6491110002")})
	f.account("grp@org.test", "org.test", nil, routing.Rules{
		Numbers: f.numbers("grp@org.test", "6491110009"),
		Routes: []resource.Record{
			f.route("grp@org.test", map[string]any{"order": int64(10), "username": "a@org.test", "hunt_user": true}),
			f.route("grp@org.test", map[string]any{"order": int64(20), "username": "b@org.test", "hunt_user": true}),
		},
	})
	return f
}

// TestDoNotDisturbRouting: a DND account's phones never ring (directly,
// as a hunt member); its calls go on as when busy: busy, its cfna_dest,
// its voicemail.
func TestDoNotDisturbRouting(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]any
		dial     string
		want     string
	}{
		{"busy", map[string]any{"dnd": true}, "601", "busy"},
		{"cfna", map[string]any{"dnd": true, "cfna_active": true, "cfna_dest": "b@org.test"}, "601", "answered b@org.test"},
		{"voicemail", map[string]any{"dnd": true, "ums_pin": "1234"}, "601", "voicemail"},
		{"hunt skips", map[string]any{"dnd": true}, "6491110009", "answered b@org.test"},
		{"off", map[string]any{"dnd": false}, "601", "answered a@org.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := dndFixture(tc.settings)
			d := &driver{Simulation: routing.Simulation{Registered: func(a *routing.Account) bool { return a.Username != "grp@org.test" }}}
			tr := decide(f, "b@org.test", tc.dial, d)
			if got := summary(tr.Outcome); got != tc.want {
				t.Fatalf("%s: %s, want %s\n%s", tc.dial, got, tc.want, steps(tr))
			}
		})
	}
}

// TestSettingCodes: the settings feature codes end the walk with outcome
// setting, the destination resolved as the caller would reach it.
func TestSettingCodes(t *testing.T) {
	f := dndFixture(nil)
	for _, tc := range []struct{ dial, setting, number string }{
		{"*78", routing.SettingDNDOn, ""},
		{"1479", routing.SettingDNDOff, ""},
		{"*72021555000", routing.SettingCFAOn, "6421555000"},
		{"*729290089", routing.SettingCFAOn, "6499290089"},
		{"*73", routing.SettingCFAOff, ""},
		{"*52602", routing.SettingCFNAOn, "b@org.test"},
		{"*52", routing.SettingCFNAOn, ""},
		{"1453", routing.SettingCFNAOff, ""},
		{"*72abc", routing.SettingCFAOn, "abc"}, // the store refuses it, as the API would
	} {
		tr := decide(f, "a@org.test", tc.dial, nil)
		if o := tr.Outcome; o.Outcome != routing.Setting || o.Setting != tc.setting || o.Number != tc.number {
			t.Errorf("%s: %+v, want %s %q\n%s", tc.dial, o, tc.setting, tc.number, steps(tr))
		}
	}
	for _, dial := range []string{"*781", "*7", "*5"} {
		if o := decide(f, "a@org.test", dial, nil).Outcome; o.Outcome != routing.Dropped || o.Code != 404 {
			t.Errorf("%s: %+v, want 404", dial, o)
		}
	}
}
