package dialplan_test

import (
	"testing"
	"time"

	"xc5/dialplan"
)

type wantHoliday struct {
	month   time.Month
	day     int
	weekday time.Weekday // checked with the time package, not trusted from memory
	name    string
}

// Official observed dates published by Employment New Zealand.
var nzOfficial = map[int][]wantHoliday{
	2022: { // 1 Jan Sat: 3 and 4 Jan; 25 Dec Sun: Boxing Day Mon 26, Christmas Tue 27
		{time.January, 3, time.Monday, "New Year's Day"},
		{time.January, 4, time.Tuesday, "Day after New Year's Day"},
		{time.February, 7, time.Monday, "Waitangi Day"},
		{time.April, 15, time.Friday, "Good Friday"},
		{time.April, 18, time.Monday, "Easter Monday"},
		{time.April, 25, time.Monday, "ANZAC Day"},
		{time.June, 6, time.Monday, "Queen's Birthday"},
		{time.June, 24, time.Friday, "Matariki"},
		{time.October, 24, time.Monday, "Labour Day"},
		{time.December, 26, time.Monday, "Boxing Day"},
		{time.December, 27, time.Tuesday, "Christmas Day"},
	},
	2023: { // 1 Jan Sun: 2 Jan stays Monday, New Year's Day observed Tue 3 Jan
		{time.January, 2, time.Monday, "Day after New Year's Day"},
		{time.January, 3, time.Tuesday, "New Year's Day"},
		{time.February, 6, time.Monday, "Waitangi Day"},
		{time.April, 7, time.Friday, "Good Friday"},
		{time.April, 10, time.Monday, "Easter Monday"},
		{time.April, 25, time.Tuesday, "ANZAC Day"},
		{time.June, 5, time.Monday, "King's Birthday"},
		{time.July, 14, time.Friday, "Matariki"},
		{time.October, 23, time.Monday, "Labour Day"},
		{time.December, 25, time.Monday, "Christmas Day"},
		{time.December, 26, time.Tuesday, "Boxing Day"},
	},
	2025: {
		{time.January, 1, time.Wednesday, "New Year's Day"},
		{time.January, 2, time.Thursday, "Day after New Year's Day"},
		{time.February, 6, time.Thursday, "Waitangi Day"},
		{time.April, 18, time.Friday, "Good Friday"},
		{time.April, 21, time.Monday, "Easter Monday"},
		{time.April, 25, time.Friday, "ANZAC Day"},
		{time.June, 2, time.Monday, "King's Birthday"},
		{time.June, 20, time.Friday, "Matariki"},
		{time.October, 27, time.Monday, "Labour Day"},
		{time.December, 25, time.Thursday, "Christmas Day"},
		{time.December, 26, time.Friday, "Boxing Day"},
	},
	2026: { // 25 Apr Sat → Mon 27; 26 Dec Sat → Mon 28
		{time.January, 1, time.Thursday, "New Year's Day"},
		{time.January, 2, time.Friday, "Day after New Year's Day"},
		{time.February, 6, time.Friday, "Waitangi Day"},
		{time.April, 3, time.Friday, "Good Friday"},
		{time.April, 6, time.Monday, "Easter Monday"},
		{time.April, 27, time.Monday, "ANZAC Day"},
		{time.June, 1, time.Monday, "King's Birthday"},
		{time.July, 10, time.Friday, "Matariki"},
		{time.October, 26, time.Monday, "Labour Day"},
		{time.December, 25, time.Friday, "Christmas Day"},
		{time.December, 28, time.Monday, "Boxing Day"},
	},
	2028: { // 1 Jan Sat; 6 Feb Sun
		{time.January, 3, time.Monday, "New Year's Day"},
		{time.January, 4, time.Tuesday, "Day after New Year's Day"},
		{time.February, 7, time.Monday, "Waitangi Day"},
		{time.April, 14, time.Friday, "Good Friday"},
		{time.April, 17, time.Monday, "Easter Monday"},
		{time.April, 25, time.Tuesday, "ANZAC Day"},
		{time.June, 5, time.Monday, "King's Birthday"},
		{time.July, 14, time.Friday, "Matariki"},
		{time.October, 23, time.Monday, "Labour Day"},
		{time.December, 25, time.Monday, "Christmas Day"},
		{time.December, 26, time.Tuesday, "Boxing Day"},
	},
	2033: { // 1 Jan Sat; 6 Feb Sun; 25 Dec Sun
		{time.January, 3, time.Monday, "New Year's Day"},
		{time.January, 4, time.Tuesday, "Day after New Year's Day"},
		{time.February, 7, time.Monday, "Waitangi Day"},
		{time.April, 15, time.Friday, "Good Friday"},
		{time.April, 18, time.Monday, "Easter Monday"},
		{time.April, 25, time.Monday, "ANZAC Day"},
		{time.June, 6, time.Monday, "King's Birthday"},
		{time.June, 24, time.Friday, "Matariki"},
		{time.October, 24, time.Monday, "Labour Day"},
		{time.December, 26, time.Monday, "Boxing Day"},
		{time.December, 27, time.Tuesday, "Christmas Day"},
	},
}

func TestNZHolidaysOfficial(t *testing.T) {
	for year, want := range nzOfficial {
		got := dialplan.NZHolidays(year, year)
		if len(got) != len(want) {
			t.Errorf("%d: got %d holidays, want %d: %v", year, len(got), len(want), got)
			continue
		}
		for i, w := range want {
			wd := time.Date(year, w.month, w.day, 0, 0, 0, 0, time.UTC).Weekday()
			if wd != w.weekday {
				t.Errorf("test table wrong: %d-%02d-%02d is a %v, not %v", year, w.month, w.day, wd, w.weekday)
			}
			h := got[i]
			if h.Date != (dialplan.Date{Year: year, Month: w.month, Day: w.day}) || h.Name != w.name {
				t.Errorf("%d holiday %d = %v %q, want %d-%02d-%02d %q", year, i, h.Date, h.Name, year, w.month, w.day, w.name)
			}
			if h.Observed && h.Date.Weekday() != time.Monday && h.Date.Weekday() != time.Tuesday {
				t.Errorf("%v %s observed on a %v", h.Date, h.Name, h.Date.Weekday())
			}
		}
	}
}

func TestNZHolidaysObservedFlag(t *testing.T) {
	observed := map[dialplan.Date]bool{}
	for _, h := range dialplan.NZHolidays(2026, 2026) {
		observed[h.Date] = h.Observed
	}
	if !observed[dialplan.Date{Year: 2026, Month: time.April, Day: 27}] || !observed[dialplan.Date{Year: 2026, Month: time.December, Day: 28}] {
		t.Error("ANZAC Day and Boxing Day 2026 should be flagged Observed")
	}
	if observed[dialplan.Date{Year: 2026, Month: time.December, Day: 25}] {
		t.Error("Christmas 2026 falls on a Friday and is not moved")
	}
}

// TestNZHolidaysInvariants checks the rules, year by year, against weekday
// arithmetic done here with the time package.
func TestNZHolidaysInvariants(t *testing.T) {
	for year := 2014; year <= 2060; year++ {
		hs := dialplan.NZHolidays(year, year)
		wantCount := 10
		if year >= 2022 && year <= dialplan.MatarikiLastYear {
			wantCount = 11
		}
		if len(hs) != wantCount {
			t.Errorf("%d: %d holidays, want %d", year, len(hs), wantCount)
		}
		byName := map[string]dialplan.Date{}
		for i, h := range hs {
			if h.Date.Year != year {
				t.Errorf("%d: %s observed in another year: %v", year, h.Name, h.Date)
			}
			if wd := h.Date.Weekday(); wd == time.Saturday || wd == time.Sunday {
				t.Errorf("%d: %s observed on a %v (%v)", year, h.Name, wd, h.Date)
			}
			if i > 0 && hs[i-1].Date.Compare(h.Date) > 0 {
				t.Errorf("%d: not sorted at %v", year, h.Date)
			}
			byName[h.Name] = h.Date
		}
		if d := byName["Good Friday"]; d.Weekday() != time.Friday || d.AddDays(3) != byName["Easter Monday"] {
			t.Errorf("%d: Good Friday %v, Easter Monday %v", year, d, byName["Easter Monday"])
		}
		k := byName["King's Birthday"]
		if year <= 2022 {
			k = byName["Queen's Birthday"]
		}
		if k.Weekday() != time.Monday || k.Month != time.June || k.Day > 7 {
			t.Errorf("%d: sovereign's birthday %v is not the first Monday in June", year, k)
		}
		if l := byName["Labour Day"]; l.Weekday() != time.Monday || l.Month != time.October || l.Day < 22 || l.Day > 28 {
			t.Errorf("%d: Labour Day %v is not the fourth Monday in October", year, l)
		}
		if m, ok := byName["Matariki"]; ok && m.Weekday() != time.Friday {
			t.Errorf("%d: Matariki %v is not a Friday", year, m)
		}
		for _, single := range []struct {
			name  string
			month time.Month
			day   int
		}{{"Waitangi Day", time.February, 6}, {"ANZAC Day", time.April, 25}} {
			actual := dialplan.Date{Year: year, Month: single.month, Day: single.day}
			want := actual
			for want.Weekday() == time.Saturday || want.Weekday() == time.Sunday {
				want = want.AddDays(1)
			}
			if byName[single.name] != want {
				t.Errorf("%d: %s %v, want %v", year, single.name, byName[single.name], want)
			}
		}
		// The two-day holidays, from the weekday of the first day: Friday
		// moves the second to Monday; Saturday moves both to Monday and
		// Tuesday; Sunday keeps the second on Monday and moves the first to
		// Tuesday.
		for _, pair := range []struct {
			first, second string
			month         time.Month
			day           int
		}{{"New Year's Day", "Day after New Year's Day", time.January, 1}, {"Christmas Day", "Boxing Day", time.December, 25}} {
			d1 := dialplan.Date{Year: year, Month: pair.month, Day: pair.day}
			var want1, want2 int
			switch d1.Weekday() {
			case time.Friday:
				want1, want2 = 0, 3
			case time.Saturday:
				want1, want2 = 2, 3
			case time.Sunday:
				want1, want2 = 2, 1
			default:
				want1, want2 = 0, 1
			}
			if byName[pair.first] != d1.AddDays(want1) || byName[pair.second] != d1.AddDays(want2) {
				t.Errorf("%d (%v a %v): %s %v, %s %v; want %v, %v", year, d1, d1.Weekday(),
					pair.first, byName[pair.first], pair.second, byName[pair.second], d1.AddDays(want1), d1.AddDays(want2))
			}
		}
	}
}

func TestNZHolidaysBefore2014(t *testing.T) {
	// 6 Feb 2010 was a Saturday; Waitangi Day was not Mondayised until 2014.
	for _, h := range dialplan.NZHolidays(2010, 2010) {
		if h.Name == "Waitangi Day" && (h.Date != dialplan.Date{Year: 2010, Month: time.February, Day: 6} || h.Observed) {
			t.Errorf("Waitangi Day 2010 = %+v, want Saturday 6 Feb unmoved", h)
		}
	}
	if got := dialplan.NZHolidays(2026, 2025); got != nil {
		t.Errorf("empty range gave %v", got)
	}
	if got := len(dialplan.NZHolidays(2025, 2026)); got != 22 {
		t.Errorf("2025-2026 has %d holidays, want 22", got)
	}
}

func TestEasterSunday(t *testing.T) {
	known := map[int]dialplan.Date{
		1818: {Year: 1818, Month: time.March, Day: 22},
		1943: {Year: 1943, Month: time.April, Day: 25},
		2000: {Year: 2000, Month: time.April, Day: 23},
		2011: {Year: 2011, Month: time.April, Day: 24},
		2019: {Year: 2019, Month: time.April, Day: 21},
		2024: {Year: 2024, Month: time.March, Day: 31},
		2025: {Year: 2025, Month: time.April, Day: 20},
		2026: {Year: 2026, Month: time.April, Day: 5},
		2038: {Year: 2038, Month: time.April, Day: 25},
		2285: {Year: 2285, Month: time.March, Day: 22},
	}
	for y, want := range known {
		if got := dialplan.EasterSunday(y); got != want {
			t.Errorf("EasterSunday(%d) = %v, want %v", y, got, want)
		}
	}
	for y := 1583; y < 3000; y++ {
		e := dialplan.EasterSunday(y)
		if e.Weekday() != time.Sunday || !e.IsValid() ||
			e.Compare(dialplan.Date{Year: y, Month: time.March, Day: 22}) < 0 ||
			e.Compare(dialplan.Date{Year: y, Month: time.April, Day: 25}) > 0 {
			t.Fatalf("EasterSunday(%d) = %v is not a Sunday between 22 March and 25 April", y, e)
		}
	}
}

func TestDateSet(t *testing.T) {
	s := dialplan.NZHolidaySet(2026, 2026)
	if !s.Contains(2026, time.December, 28) || s.Contains(2026, time.December, 26) {
		t.Error("NZHolidaySet(2026) should hold the observed Boxing Day, not the Saturday")
	}
	var ts dialplan.TimeSet = s
	if !ts.Matches(time.Date(2026, time.July, 10, 23, 59, 0, 0, nzst)) {
		t.Error("Matariki 2026 not matched at 23:59 local")
	}
	// The calendar day is taken in t's location: 11:59 UTC on 9 July is
	// 23:59 NZST, still 9 July, but 12:00 UTC is 10 July in NZ.
	if ts.Matches(time.Date(2026, time.July, 9, 11, 59, 0, 0, time.UTC).In(nzst)) ||
		!ts.Matches(time.Date(2026, time.July, 9, 12, 0, 0, 0, time.UTC).In(nzst)) {
		t.Error("DateSet must use the calendar day of t's location")
	}
	var zero dialplan.DateSet
	if zero.Contains(2026, time.January, 1) {
		t.Error("zero DateSet should be empty")
	}
	custom := dialplan.NewDateSet(dialplan.Date{Year: 2025, Month: time.December, Day: 24})
	custom.Add(dialplan.Date{Year: 2025, Month: time.December, Day: 31})
	if !custom.Contains(2025, time.December, 31) || !custom.Contains(2025, time.December, 24) || custom.Contains(2025, time.December, 25) {
		t.Error("NewDateSet/Add")
	}
}

func TestDate(t *testing.T) {
	d := dialplan.Date{Year: 2024, Month: time.February, Day: 28}
	if got := d.AddDays(1); got != (dialplan.Date{Year: 2024, Month: time.February, Day: 29}) {
		t.Errorf("AddDays(1) = %v", got)
	}
	if got := d.AddDays(2).String(); got != "2024-03-01" {
		t.Errorf("AddDays(2) = %v", got)
	}
	if (dialplan.Date{Year: 2025, Month: time.February, Day: 29}).IsValid() || (dialplan.Date{Year: 2025, Month: 0, Day: 1}).IsValid() {
		t.Error("invalid dates reported valid")
	}
	if d.Compare(d.AddDays(1)) != -1 || d.AddDays(40).Compare(d) != 1 || d.Compare(d) != 0 {
		t.Error("Compare")
	}
}
