package dialplan

import (
	"sort"
	"time"
)

// Holiday is one day on which New Zealand businesses are closed for a
// national public holiday.
type Holiday struct {
	// Date is the day the holiday is observed, which is the day that
	// matters to call routing.
	Date Date
	// Name is the holiday's usual English name, e.g. "Boxing Day".
	Name string
	// Observed is true when Date is a weekday the holiday was moved to
	// ("Mondayised") because its actual date fell on a weekend; the actual
	// weekend date is then not listed.
	Observed bool
}

// matariki holds the Matariki public holiday dates set by the schedule of
// Te Kāhui o Matariki Public Holiday Act 2022. Later years will be added
// by Parliament; until then they are absent.
var matariki = map[int]Date{
	2022: {2022, time.June, 24}, 2023: {2023, time.July, 14}, 2024: {2024, time.June, 28},
	2025: {2025, time.June, 20}, 2026: {2026, time.July, 10}, 2027: {2027, time.June, 25},
	2028: {2028, time.July, 14}, 2029: {2029, time.July, 6}, 2030: {2030, time.June, 21},
	2031: {2031, time.July, 11}, 2032: {2032, time.July, 2}, 2033: {2033, time.June, 24},
	2034: {2034, time.July, 7}, 2035: {2035, time.June, 29}, 2036: {2036, time.July, 18},
	2037: {2037, time.July, 10}, 2038: {2038, time.June, 25}, 2039: {2039, time.July, 15},
	2040: {2040, time.July, 6}, 2041: {2041, time.July, 19}, 2042: {2042, time.July, 11},
	2043: {2043, time.July, 3}, 2044: {2044, time.June, 24}, 2045: {2045, time.July, 7},
	2046: {2046, time.June, 29}, 2047: {2047, time.July, 19}, 2048: {2048, time.July, 3},
	2049: {2049, time.June, 25}, 2050: {2050, time.July, 15}, 2051: {2051, time.June, 30},
	2052: {2052, time.June, 21},
}

// MatarikiLastYear is the last year for which the Matariki date is known
// (the end of the Act's schedule); NZHolidays omits Matariki after it.
const MatarikiLastYear = 2052

// NZHolidays returns the national public holidays of New Zealand observed in
// the years fromYear to toYear inclusive, sorted by date, so a "nz_holidays"
// time set can be built without maintaining a calendar by hand. Regional
// anniversary days are not included. The rules are those of the Holidays Act
// 2003 as in force now (Waitangi Day and ANZAC Day are Mondayised from 2014);
// docs/grammar.md spells them out.
func NZHolidays(fromYear, toYear int) []Holiday {
	var hs []Holiday
	for y := fromYear; y <= toYear; y++ {
		hs = append(hs, nzYear(y)...)
	}
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].Date.Compare(hs[j].Date) < 0 })
	return hs
}

// NZHolidaySet returns the dates of NZHolidays(fromYear, toYear) as a time
// set, ready to be registered under a name such as "nz_holidays".
func NZHolidaySet(fromYear, toYear int) DateSet {
	s := make(DateSet)
	for _, h := range NZHolidays(fromYear, toYear) {
		s.Add(h.Date)
	}
	return s
}

func nzYear(y int) []Holiday {
	var hs []Holiday
	hs = append(hs, mondayisePair(Date{y, time.January, 1}, "New Year's Day", "Day after New Year's Day")...)
	hs = append(hs, mondayiseOne(Date{y, time.February, 6}, "Waitangi Day", y >= 2014))
	easter := EasterSunday(y)
	hs = append(hs,
		Holiday{Date: easter.AddDays(-2), Name: "Good Friday"},
		Holiday{Date: easter.AddDays(1), Name: "Easter Monday"},
		mondayiseOne(Date{y, time.April, 25}, "ANZAC Day", y >= 2014))
	sovereign := "King's Birthday"
	if y >= 1952 && y <= 2022 {
		sovereign = "Queen's Birthday"
	}
	hs = append(hs, Holiday{Date: nthMonday(y, time.June, 1), Name: sovereign})
	if d, ok := matariki[y]; ok {
		hs = append(hs, Holiday{Date: d, Name: "Matariki"})
	}
	hs = append(hs, Holiday{Date: nthMonday(y, time.October, 4), Name: "Labour Day"})
	hs = append(hs, mondayisePair(Date{y, time.December, 25}, "Christmas Day", "Boxing Day")...)
	return hs
}

func isWeekend(d Date) bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// mondayiseOne moves a holiday that falls on a weekend to the following
// Monday, when the law says so for that year.
func mondayiseOne(d Date, name string, mondayised bool) Holiday {
	if !mondayised || !isWeekend(d) {
		return Holiday{Date: d, Name: name}
	}
	for isWeekend(d) {
		d = d.AddDays(1)
	}
	return Holiday{Date: d, Name: name, Observed: true}
}

// mondayisePair applies the Holidays Act rule for the two-day holidays
// starting on first (25-26 December, 1-2 January): a day on a weekday is
// kept, and each day on a weekend is moved, in order, to the first following
// weekday not already taken by the other. This gives: first on Saturday →
// Monday and Tuesday; first on Sunday → second stays Monday, first Tuesday;
// first on Friday → second Monday.
func mondayisePair(first Date, name1, name2 string) []Holiday {
	days := []Date{first, first.AddDays(1)}
	names := []string{name1, name2}
	taken := make(map[Date]bool)
	for _, d := range days {
		if !isWeekend(d) {
			taken[d] = true
		}
	}
	hs := make([]Holiday, 0, 2)
	for i, d := range days {
		if !isWeekend(d) {
			hs = append(hs, Holiday{Date: d, Name: names[i]})
			continue
		}
		for isWeekend(d) || taken[d] {
			d = d.AddDays(1)
		}
		taken[d] = true
		hs = append(hs, Holiday{Date: d, Name: names[i], Observed: true})
	}
	return hs
}

// nthMonday returns the n-th Monday (1-based) of the month.
func nthMonday(y int, m time.Month, n int) Date {
	d := Date{y, m, 1}
	for d.Weekday() != time.Monday {
		d = d.AddDays(1)
	}
	return d.AddDays(7 * (n - 1))
}

// EasterSunday returns the date of Easter Sunday in the Gregorian calendar
// (the anonymous Gregorian "computus"), from which Good Friday and Easter
// Monday follow.
func EasterSunday(year int) Date {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}
