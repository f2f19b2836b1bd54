package dialplan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DayRange is an inclusive range of weekdays. From after To wraps around
// the week end: Fri-Mon is Friday, Saturday, Sunday and Monday. From == To
// is that single day.
type DayRange struct {
	From, To time.Weekday
}

// Contains reports whether d is one of the days of the range.
func (r DayRange) Contains(d time.Weekday) bool {
	return (d-r.From+7)%7 <= (r.To-r.From+7)%7
}

// String returns "Mon" or "Mon-Thu", with the three-letter English names.
func (r DayRange) String() string {
	if r.From == r.To {
		return dayAbbr(r.From)
	}
	return dayAbbr(r.From) + "-" + dayAbbr(r.To)
}

// DateRange is an inclusive range of calendar dates, From never after To.
type DateRange struct {
	From, To Date
}

// Contains reports whether d lies within the range.
func (r DateRange) Contains(d Date) bool {
	return r.From.Compare(d) <= 0 && d.Compare(r.To) <= 0
}

// String returns "2025-12-25" or "2025-12-24..2026-01-02".
func (r DateRange) String() string {
	if r.From == r.To {
		return r.From.String()
	}
	return r.From.String() + ".." + r.To.String()
}

// TimeRange is a half-open range of wall-clock time [Start, End) in minutes
// since midnight. End may be 1440 (24:00). Start > End means the range
// crosses midnight and ends on the following day.
type TimeRange struct {
	Start, End int
}

// CrossesMidnight reports whether the range ends on the day after it starts.
func (r TimeRange) CrossesMidnight() bool { return r.Start > r.End }

// String returns "HH:MM-HH:MM".
func (r TimeRange) String() string { return clock(r.Start) + "-" + clock(r.End) }

func clock(minutes int) string { return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60) }

// Term is one comma-separated part of a time_definition. Exactly one of
// these forms is set: Name alone; Days and/or Time; Dates and/or Time.
type Term struct {
	// Negated terms (written with "!") match when their condition does not.
	Negated bool
	// Name refers to a named TimeSet such as "nz_holidays".
	Name string
	// Days restricts the term to some weekdays (nil = any day).
	Days *DayRange
	// Dates restricts the term to some calendar dates (nil = any date).
	Dates *DateRange
	// Time restricts the term to a time of day (nil = the whole day).
	Time *TimeRange
}

// String returns the canonical text of the term.
func (t Term) String() string {
	var parts []string
	switch {
	case t.Name != "":
		parts = append(parts, t.Name)
	case t.Days != nil:
		parts = append(parts, t.Days.String())
	case t.Dates != nil:
		parts = append(parts, t.Dates.String())
	}
	if t.Time != nil {
		parts = append(parts, t.Time.String())
	}
	s := strings.Join(parts, " ")
	if t.Negated {
		s = "!" + s
	}
	return s
}

// holds reports whether the term's condition, ignoring Negated, holds at t.
func (t Term) holds(at time.Time, sets func(string) TimeSet) bool {
	if t.Name != "" {
		if sets == nil {
			return false
		}
		set := sets(t.Name)
		return set != nil && set.Matches(at)
	}
	today := DateOf(at)
	dayOK := func(d Date) bool {
		return (t.Days == nil || t.Days.Contains(d.Weekday())) &&
			(t.Dates == nil || t.Dates.Contains(d))
	}
	if t.Time == nil {
		return dayOK(today)
	}
	h, m, s := at.Clock()
	sec := h*3600 + m*60 + s
	start, end := t.Time.Start*60, t.Time.End*60
	if !t.Time.CrossesMidnight() {
		return start <= sec && sec < end && dayOK(today)
	}
	// The part after midnight belongs to the day the range started on.
	return sec >= start && dayOK(today) || sec < end && dayOK(today.AddDays(-1))
}

// TimeDefinition is a parsed time_definition: terms OR-ed together. It
// decides whether a route applies at a given moment.
type TimeDefinition struct {
	Terms []Term
}

// Matches reports whether the route applies at t, which must already be in
// the account's local time zone. It holds when any positive term holds or
// any negated term does not; an empty definition always matches. sets
// resolves set names; a name it returns nil for (or a nil sets) is an empty
// set, so a negated reference to it always matches.
func (d TimeDefinition) Matches(t time.Time, sets func(name string) TimeSet) bool {
	if len(d.Terms) == 0 {
		return true
	}
	for _, term := range d.Terms {
		if term.holds(t, sets) != term.Negated {
			return true
		}
	}
	return false
}

// Names lists the named time sets the definition refers to, each once, in
// order of first use, so the API can check or preload them.
func (d TimeDefinition) Names() []string {
	var names []string
	seen := make(map[string]bool)
	for _, t := range d.Terms {
		if t.Name != "" && !seen[t.Name] {
			seen[t.Name] = true
			names = append(names, t.Name)
		}
	}
	return names
}

// String returns the canonical text: terms joined by commas, days as
// three-letter names, times as HH:MM.
func (d TimeDefinition) String() string {
	parts := make([]string, len(d.Terms))
	for i, t := range d.Terms {
		parts[i] = t.String()
	}
	return strings.Join(parts, ",")
}

// ParseTimeDefinition validates a time_definition such as
// "nz_holidays,!Mon-Thur 08:30-17:00" so that a schedule that cannot be
// evaluated is rejected when it is stored. known reports whether a set name
// exists; nil accepts every well-formed name.
func ParseTimeDefinition(s string, known func(name string) bool) (TimeDefinition, error) {
	counted(s)
	var d TimeDefinition
	if strings.TrimSpace(s) == "" {
		return d, nil
	}
	for i, raw := range strings.Split(s, ",") {
		term, msg := parseTerm(strings.TrimSpace(raw), known)
		if msg != "" {
			return TimeDefinition{}, syntaxErr("time_definition", s, "term %d (%q): %s", i+1, strings.TrimSpace(raw), msg)
		}
		d.Terms = append(d.Terms, term)
	}
	return d, nil
}

func parseTerm(text string, known func(string) bool) (Term, string) {
	var t Term
	if text == "" {
		return t, "empty term (stray comma?)"
	}
	if text[0] == '!' {
		t.Negated = true
		text = strings.TrimSpace(text[1:])
		if text == "" {
			return t, "nothing after \"!\""
		}
	}
	fields := strings.Fields(text)
	if len(fields) > 2 {
		return t, "too many parts: want DAYS or DATES, a time range, or both separated by a space"
	}
	if len(fields) == 2 && strings.Contains(fields[0], ":") {
		return t, "the time range must come last, after the days or dates"
	}
	last := fields[len(fields)-1]
	if strings.Contains(last, ":") {
		tr, msg := parseTimeRange(last)
		if msg != "" {
			return t, msg
		}
		t.Time = &tr
		if len(fields) == 1 {
			return t, ""
		}
	} else if len(fields) == 2 {
		return t, "second part " + strconv.Quote(last) + " is not a time range HH:MM-HH:MM"
	}
	first := fields[0]
	if first[0] >= '0' && first[0] <= '9' {
		dr, msg := parseDateRange(first)
		if msg != "" {
			return t, msg
		}
		t.Dates = &dr
		return t, ""
	}
	days, isDays, msg := parseDayRange(first)
	switch {
	case msg != "":
		return t, msg
	case isDays:
		t.Days = &days
		return t, ""
	case !isIdent(first):
		return t, strconv.Quote(first) + " is not a day, date, time range or set name"
	case t.Time != nil:
		return t, "a set name cannot have a time range"
	case known != nil && !known(first):
		return t, "unknown time set " + strconv.Quote(first)
	}
	t.Name = first
	return t, ""
}

// parseDayRange reports isDays=false without a message when s is not day
// syntax at all (so the caller can try a set name).
func parseDayRange(s string) (r DayRange, isDays bool, msg string) {
	from, to, isRange := strings.Cut(s, "-")
	f, ok := dayByName[strings.ToLower(from)]
	if !isRange {
		return DayRange{f, f}, ok, ""
	}
	t, ok2 := dayByName[strings.ToLower(to)]
	switch {
	case !ok:
		return r, false, strconv.Quote(from) + " is not a day (want Mon, Tue, Wed, Thu, Fri, Sat or Sun)"
	case !ok2:
		return r, false, strconv.Quote(to) + " is not a day (want Mon, Tue, Wed, Thu, Fri, Sat or Sun)"
	}
	return DayRange{f, t}, true, ""
}

var dayByName = map[string]time.Weekday{}

func init() {
	for d, names := range [7][]string{
		{"sun", "sunday"},
		{"mon", "monday"},
		{"tue", "tues", "tuesday"},
		{"wed", "weds", "wednesday"},
		{"thu", "thur", "thurs", "thursday"},
		{"fri", "friday"},
		{"sat", "saturday"},
	} {
		for _, n := range names {
			dayByName[n] = time.Weekday(d)
		}
	}
}

func dayAbbr(d time.Weekday) string { return d.String()[:3] }

func parseTimeRange(s string) (TimeRange, string) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return TimeRange{}, "time range " + strconv.Quote(s) + " needs a start and an end: HH:MM-HH:MM"
	}
	start, msg := parseClock(a, false)
	if msg != "" {
		return TimeRange{}, msg
	}
	end, msg := parseClock(b, true)
	if msg != "" {
		return TimeRange{}, msg
	}
	if start == end {
		return TimeRange{}, "time range " + strconv.Quote(s) + " is empty (start equals end)"
	}
	return TimeRange{start, end}, ""
}

// parseClock reads H:MM or HH:MM in 24-hour time; 24:00 only as an end.
func parseClock(s string, isEnd bool) (int, string) {
	bad := "time " + strconv.Quote(s) + " is not HH:MM (24-hour)"
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !isDigits(h) || !isDigits(m) {
		return 0, bad
	}
	hour, _ := strconv.Atoi(h)
	minute, _ := strconv.Atoi(m)
	switch {
	case hour == 24 && minute == 0 && isEnd:
		return 1440, ""
	case hour == 24 && minute == 0:
		return 0, "a time range cannot start at 24:00 (use 00:00)"
	case hour > 23 || minute > 59:
		return 0, bad
	}
	return hour*60 + minute, ""
}

func parseDateRange(s string) (DateRange, string) {
	a, b, isRange := strings.Cut(s, "..")
	from, msg := parseDate(a)
	if msg != "" {
		return DateRange{}, msg
	}
	if !isRange {
		return DateRange{from, from}, ""
	}
	to, msg := parseDate(b)
	if msg != "" {
		return DateRange{}, msg
	}
	if to.Compare(from) < 0 {
		return DateRange{}, "date range " + strconv.Quote(s) + " ends before it starts"
	}
	return DateRange{from, to}, ""
}

func parseDate(s string) (Date, string) {
	if len(s) == 21 && s[10] == '-' {
		return Date{}, strconv.Quote(s) + " looks like a date range: write FROM..TO"
	}
	bad := strconv.Quote(s) + " is not a date YYYY-MM-DD"
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !isDigits(s[:4]) || !isDigits(s[5:7]) || !isDigits(s[8:]) {
		return Date{}, bad
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:])
	date := Date{y, time.Month(m), d}
	if !date.IsValid() {
		return Date{}, strconv.Quote(s) + " is not a real calendar date"
	}
	return date, ""
}

// isIdent accepts [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}
