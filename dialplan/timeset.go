package dialplan

import (
	"fmt"
	"time"
)

// Date is a civil (calendar) date with no time zone. Routing rules talk
// about days in the account's own zone, so dates are compared as
// year/month/day triples and never converted through instants, which would
// shift them across midnight.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's own location; callers convert
// t to the account's zone first.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String formats the date as YYYY-MM-DD, the form time_definition uses.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Time returns midnight UTC at the start of d, for arithmetic and weekday
// calculations that must not be disturbed by daylight saving.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// Weekday returns the day of the week d falls on.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// AddDays returns the date n days after d (before d when n is negative).
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// IsValid reports whether d names a real calendar day (not, say, 31 April),
// so parsers can reject dates that time.Date would silently normalise.
func (d Date) IsValid() bool {
	return d.Month >= time.January && d.Month <= time.December && d.Day >= 1 && DateOf(d.Time()) == d
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return sign(d.Year - e.Year)
	case d.Month != e.Month:
		return sign(int(d.Month - e.Month))
	default:
		return sign(d.Day - e.Day)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// TimeSet is what a named term of a time_definition (such as nz_holidays)
// refers to. It is an interface so that accounts can define their own sets
// (a shutdown period, a site's anniversary day) next to the built-in
// holiday calendars. t is already in the account's local time.
type TimeSet interface {
	Matches(t time.Time) bool
}

// DateSet is a TimeSet of whole calendar days, the shape of every holiday
// calendar. The zero value is an empty set; use NewDateSet or make before
// calling Add.
type DateSet map[Date]struct{}

// NewDateSet returns a set holding dates.
func NewDateSet(dates ...Date) DateSet {
	s := make(DateSet, len(dates))
	for _, d := range dates {
		s.Add(d)
	}
	return s
}

// Add puts d in the set.
func (s DateSet) Add(d Date) { s[d] = struct{}{} }

// Contains reports whether the given calendar day is in the set.
func (s DateSet) Contains(year int, month time.Month, day int) bool {
	_, ok := s[Date{year, month, day}]
	return ok
}

// Matches reports whether the calendar day of t (in t's location) is in the
// set, which makes a DateSet usable as a named time set.
func (s DateSet) Matches(t time.Time) bool {
	_, ok := s[DateOf(t)]
	return ok
}
