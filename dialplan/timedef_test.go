package dialplan_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"xc5/dialplan"
)

// nzst stands in for the account's zone: times given to Matches are local.
var nzst = time.FixedZone("NZST", 12*3600)

func at(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, nzst)
}

func TestParseTimeDefinitionCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nz_holidays,!Mon-Thur 08:30-17:00", "nz_holidays,!Mon-Thu 08:30-17:00"},
		{"", ""},
		{" mon ", "Mon"},
		{"Tues-Weds", "Tue-Wed"},
		{"THURS,Thursday,thu", "Thu,Thu,Thu"},
		{"Saturday-Sunday", "Sat-Sun"},
		{"Fri-Mon", "Fri-Mon"},
		{"Mon-Mon", "Mon"},
		{"8:30-17:00", "08:30-17:00"},
		{"22:00-06:00", "22:00-06:00"},
		{"00:00-24:00", "00:00-24:00"},
		{"! Sat-Sun  09:00-12:00", "!Sat-Sun 09:00-12:00"},
		{"2025-12-25", "2025-12-25"},
		{"2025-12-24..2026-01-02", "2025-12-24..2026-01-02"},
		{"2025-12-25..2025-12-25", "2025-12-25"},
		{"2025-12-31 22:00-02:00", "2025-12-31 22:00-02:00"},
		{"shutdown_2025,my_set9", "shutdown_2025,my_set9"},
	}
	for _, tt := range tests {
		d, err := dialplan.ParseTimeDefinition(tt.in, nil)
		if err != nil {
			t.Errorf("ParseTimeDefinition(%q): %v", tt.in, err)
			continue
		}
		if got := d.String(); got != tt.want {
			t.Errorf("ParseTimeDefinition(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseTimeDefinitionStructure(t *testing.T) {
	d, err := dialplan.ParseTimeDefinition("nz_holidays,!Mon-Thur 08:30-17:00", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []dialplan.Term{
		{Name: "nz_holidays"},
		{Negated: true, Days: &dialplan.DayRange{From: time.Monday, To: time.Thursday},
			Time: &dialplan.TimeRange{Start: 8*60 + 30, End: 17 * 60}},
	}
	if !reflect.DeepEqual(d.Terms, want) {
		t.Errorf("terms = %+v, want %+v", d.Terms, want)
	}
}

func TestParseTimeDefinitionErrors(t *testing.T) {
	known := func(name string) bool { return name == "nz_holidays" }
	tests := []struct{ in, msg string }{
		{"nz_holidays,,Mon", "term 2 (\"\"): empty term"},
		{"Mon,", "empty term"},
		{"!", `nothing after "!"`},
		{"au_holidays", `unknown time set "au_holidays"`},
		{"Mon-Fry", `"Fry" is not a day`},
		{"Mo-Fri", `"Mo" is not a day`},
		{"Mon-", `"" is not a day`},
		{"Mon-Tue-Wed", `"Tue-Wed" is not a day`},
		{"Mon 25:00-26:00", `time "25:00" is not HH:MM`},
		{"08:60-09:00", `time "08:60" is not HH:MM`},
		{"0830-1700", "not a date"},
		{"08:30", "needs a start and an end"},
		{"08:30-", `time "" is not HH:MM`},
		{"24:00-06:00", "cannot start at 24:00"},
		{"09:00-09:00", "is empty"},
		{"08:30-17:00 Mon", "must come last"},
		{"Mon Tue", "is not a time range"},
		{"Mon 08:00-09:00 x", "too many parts"},
		{"nz_holidays 08:00-17:00", "set name cannot have a time range"},
		{"2025-02-30", "not a real calendar date"},
		{"2025-13-01", "not a real calendar date"},
		{"25-12-2025", "not a date YYYY-MM-DD"},
		{"2025-12-24-2026-01-02", "write FROM..TO"},
		{"2026-01-02..2025-12-24", "ends before it starts"},
		{"2025-12-24..", "not a date"},
		{"nz-holidays", "is not a day"},
		{"9am-5pm", "not a date"},
		{"hol!days", "not a day, date, time range or set name"},
	}
	for _, tt := range tests {
		_, err := dialplan.ParseTimeDefinition(tt.in, known)
		if err == nil {
			t.Errorf("ParseTimeDefinition(%q): no error, want %q", tt.in, tt.msg)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseTimeDefinition(%q) error %q, want it to contain %q", tt.in, err, tt.msg)
		}
		var se *dialplan.SyntaxError
		if !errors.As(err, &se) || se.Field != "time_definition" || se.Input != tt.in {
			t.Errorf("ParseTimeDefinition(%q) error %#v is not a time_definition SyntaxError", tt.in, err)
		}
	}
	if _, err := dialplan.ParseTimeDefinition("nz_holidays,!Mon-Fri", known); err != nil {
		t.Errorf("known set rejected: %v", err)
	}
}

func TestTimeDefinitionNames(t *testing.T) {
	d, err := dialplan.ParseTimeDefinition("nz_holidays,!Mon-Fri 09:00-17:00,shutdown,!nz_holidays", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Names(), []string{"nz_holidays", "shutdown"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	if got := (dialplan.TimeDefinition{}).Names(); got != nil {
		t.Errorf("empty Names() = %q", got)
	}
}

// TestAfterHours checks the document's example: on a NZ holiday, or at any
// time outside Mon-Thu 08:30-17:00.
func TestAfterHours(t *testing.T) {
	d, err := dialplan.ParseTimeDefinition("nz_holidays,!Mon-Thur 08:30-17:00", nil)
	if err != nil {
		t.Fatal(err)
	}
	hols := dialplan.NZHolidaySet(2025, 2026)
	sets := func(name string) dialplan.TimeSet {
		if name == "nz_holidays" {
			return hols
		}
		return nil
	}
	tests := []struct {
		t    time.Time
		want bool
	}{
		{at(2025, time.June, 3, 10, 0), false},     // Tuesday, office hours
		{at(2025, time.June, 3, 8, 29), true},      // Tuesday, before opening
		{at(2025, time.June, 3, 8, 30), false},     // opening minute
		{at(2025, time.June, 3, 16, 59), false},    // last minute
		{at(2025, time.June, 3, 17, 0), true},      // closing time is outside (half-open)
		{at(2025, time.June, 6, 10, 0), true},      // Friday
		{at(2025, time.June, 7, 10, 0), true},      // Saturday
		{at(2025, time.June, 2, 10, 0), true},      // Monday, but King's Birthday
		{at(2025, time.April, 21, 10, 0), true},    // Easter Monday
		{at(2025, time.April, 22, 10, 0), false},   // Tuesday after Easter
		{at(2026, time.December, 28, 10, 0), true}, // Boxing Day observed (Monday)
	}
	for _, tt := range tests {
		if got := d.Matches(tt.t, sets); got != tt.want {
			t.Errorf("Matches(%s) = %v, want %v", tt.t.Format("Mon 2006-01-02 15:04"), got, tt.want)
		}
	}
	// Without the sets the holiday term never holds: only the hours count.
	if d.Matches(at(2025, time.June, 2, 10, 0), nil) {
		t.Error("Monday 10:00 with no sets should be office hours")
	}
}

func TestTimeDefinitionMatches(t *testing.T) {
	tests := []struct {
		def  string
		t    time.Time
		want bool
	}{
		{"", at(2025, time.June, 3, 3, 0), true},
		{"Mon", at(2025, time.June, 2, 0, 0), true},
		{"Mon", at(2025, time.June, 3, 0, 0), false},
		{"!Mon", at(2025, time.June, 3, 0, 0), true},
		{"Fri-Mon", at(2025, time.June, 8, 12, 0), true},   // Sunday
		{"Fri-Mon", at(2025, time.June, 9, 12, 0), true},   // Monday
		{"Fri-Mon", at(2025, time.June, 10, 12, 0), false}, // Tuesday
		{"Sun-Sat", at(2025, time.June, 10, 12, 0), true},
		{"Sat-Sun", at(2025, time.June, 6, 23, 59), false},
		// Day and time must both hold.
		{"Mon-Thu 08:30-17:00", at(2025, time.June, 6, 10, 0), false}, // Friday in hours
		{"Mon-Thu 08:30-17:00", at(2025, time.June, 5, 18, 0), false}, // Thursday out of hours
		{"Mon-Thu 08:30-17:00", at(2025, time.June, 5, 9, 0), true},
		// A midnight-crossing range: the small hours belong to the start day.
		{"Fri 22:00-06:00", at(2025, time.June, 6, 23, 0), true},  // Fri 23:00
		{"Fri 22:00-06:00", at(2025, time.June, 7, 5, 59), true},  // Sat 05:59
		{"Fri 22:00-06:00", at(2025, time.June, 7, 6, 0), false},  // Sat 06:00
		{"Fri 22:00-06:00", at(2025, time.June, 7, 23, 0), false}, // Sat 23:00
		{"Fri 22:00-06:00", at(2025, time.June, 6, 5, 0), false},  // Fri 05:00 belongs to Thursday
		{"Fri 22:00-06:00", at(2025, time.June, 6, 21, 59), false},
		{"22:00-06:00", at(2025, time.June, 4, 3, 0), true},
		{"22:00-06:00", at(2025, time.June, 4, 12, 0), false},
		{"!22:00-06:00", at(2025, time.June, 4, 12, 0), true},
		{"00:00-24:00", at(2025, time.June, 4, 23, 59), true},
		{"12:00-24:00", time.Date(2025, time.June, 4, 23, 59, 59, 0, nzst), true},
		{"12:00-24:00", at(2025, time.June, 5, 0, 0), false},
		// Dates.
		{"2025-12-25", at(2025, time.December, 25, 0, 0), true},
		{"2025-12-25", at(2025, time.December, 26, 0, 0), false},
		{"2025-12-24..2026-01-02", at(2026, time.January, 2, 23, 59), true},
		{"2025-12-24..2026-01-02", at(2026, time.January, 3, 0, 0), false},
		{"2025-12-24..2026-01-02", at(2025, time.December, 23, 23, 59), false},
		{"2025-12-31 22:00-02:00", at(2026, time.January, 1, 1, 0), true},
		{"2025-12-31 22:00-02:00", at(2025, time.December, 31, 1, 0), false},
		{"!2025-12-24..2026-01-02,Sat-Sun", at(2025, time.December, 27, 9, 0), true},
		// OR of terms: any positive holds, or any negated does not.
		{"Sat,Sun", at(2025, time.June, 8, 9, 0), true},
		{"Sat,!Sat", at(2025, time.June, 8, 9, 0), true},
		{"Sat,!Sun", at(2025, time.June, 8, 9, 0), false},
		// Unknown sets are empty.
		{"nowhere", at(2025, time.June, 8, 9, 0), false},
		{"!nowhere", at(2025, time.June, 8, 9, 0), true},
	}
	for _, tt := range tests {
		d, err := dialplan.ParseTimeDefinition(tt.def, nil)
		if err != nil {
			t.Errorf("ParseTimeDefinition(%q): %v", tt.def, err)
			continue
		}
		sets := func(string) dialplan.TimeSet { return nil }
		if got := d.Matches(tt.t, sets); got != tt.want {
			t.Errorf("%q.Matches(%s) = %v, want %v", tt.def, tt.t.Format("Mon 2006-01-02 15:04:05"), got, tt.want)
		}
	}
}

func TestMatchesUsesLocalWallClock(t *testing.T) {
	d, err := dialplan.ParseTimeDefinition("Mon 08:00-09:00", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Monday 08:30 in NZ is Sunday 20:30 UTC: the caller must convert.
	local := at(2025, time.June, 2, 8, 30)
	if !d.Matches(local, nil) || d.Matches(local.UTC(), nil) {
		t.Error("Matches must read the wall clock of t's own location")
	}
}

func TestDayRangeContains(t *testing.T) {
	r := dialplan.DayRange{From: time.Friday, To: time.Monday}
	var got []time.Weekday
	for d := time.Sunday; d <= time.Saturday; d++ {
		if r.Contains(d) {
			got = append(got, d)
		}
	}
	want := []time.Weekday{time.Sunday, time.Monday, time.Friday, time.Saturday}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fri-Mon contains %v, want %v", got, want)
	}
}

func FuzzParseTimeDefinition(f *testing.F) {
	for _, s := range []string{
		"nz_holidays,!Mon-Thur 08:30-17:00", "Mon-Thur 08:30-17:00", "Sat-Sun", "Fri-Mon", "22:00-06:00",
		"2025-12-25", "2025-12-24..2026-01-02", "!2025-12-31 22:00-02:00", "00:00-24:00", "", "Mon,,Tue",
		"Thurs 8:30-24:00", "2025-12-24-2026-01-02",
	} {
		f.Add(s)
	}
	probes := []time.Time{at(2025, time.June, 2, 8, 30), at(2025, time.December, 25, 23, 0), at(2026, time.January, 1, 1, 0)}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := dialplan.ParseTimeDefinition(s, nil)
		if err != nil {
			return
		}
		again, err := dialplan.ParseTimeDefinition(d.String(), nil)
		if err != nil {
			t.Fatalf("ParseTimeDefinition(%q).String() = %q does not parse: %v", s, d.String(), err)
		}
		if !reflect.DeepEqual(again, d) {
			t.Fatalf("round trip of %q: %q became %q", s, d.String(), again.String())
		}
		for _, p := range probes {
			if d.Matches(p, nil) != again.Matches(p, nil) {
				t.Fatalf("%q and its canonical form disagree at %v", s, p)
			}
		}
	})
}
