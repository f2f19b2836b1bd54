package resource

import (
	"strings"

	"xc5/dialplan"
)

// DefaultLocations are the locations shipped at first start, right for New
// Zealand (country code 64), where the document's customer is. Operators
// change them through the API (PUT /api-sys/location/{name}); xc5 never
// overwrites them after the first start. Locations match what a dialed
// number really is after translation: an E.164 number by prefix, a short
// code (111) only when a prefix is the whole code, so the International
// location's "1" (North America) never holds 111. The International
// prefixes are every E.164 start except 64: every valid number outside
// New Zealand is in it.
var DefaultLocations = []map[string]any{
	{"name": "<CallRule-International>", "description": "Calls to numbers outside New Zealand",
		"prefixes": "1,2,3,4,5,60,61,62,63,65,66,67,68,69,7,8,9", "exclude": ""},
	{"name": "<CallRule-National>", "description": "New Zealand landline numbers (not mobile or premium)",
		"prefixes": "64", "exclude": "6420,6421,6422,6427,6428,6429,64900"},
	{"name": "<CallRule-Mobile>", "description": "New Zealand mobile numbers",
		"prefixes": "6420,6421,6422,6427,6428,6429", "exclude": ""},
	{"name": "<CallRule-Premium>", "description": "New Zealand premium-rate numbers (0900)",
		"prefixes": "64900", "exclude": ""},
	{"name": "<CallRule-Emergency>", "description": "Emergency services (111, and 112 which mobile phones and NZ networks also treat as emergency): always reachable, only a callrule naming this location applies to them",
		"prefixes": "111,112", "exclude": ""},
	{"name": "<CallRule-Freephone>", "description": "New Zealand freephone numbers (0800, 0508)",
		"prefixes": "64800,64508", "exclude": ""},
	{"name": ShortCodesLocation, "description": ShortCodesDescription,
		"prefixes": ShortCodesShipped, "exclude": ""},
}

// The shipped <CallRule-ShortCodes> (migration 021 adds it to older
// installations with the same values): New Zealand's short codes, other
// than the emergency numbers, that a provider passes to its carrier.
const (
	ShortCodesShipped     = "105,1737"
	ShortCodesDescription = "Short codes other than emergency numbers that may leave over a carrier, listed whole (105 police non-emergency, 1737 mental health support); any other 1xx or 1xxx is refused"
)

// DefaultTimeDefinitions are the time sets shipped at first start:
// nz_holidays with the national public holidays (observed dates) of
// 2025 to 2035.
func DefaultTimeDefinitions() []map[string]any {
	var dates []string
	for _, h := range dialplan.NZHolidays(2025, 2035) {
		dates = append(dates, h.Date.String())
	}
	return []map[string]any{
		{"name": "nz_holidays", "description": "New Zealand national public holidays 2025-2035, observed (Mondayised) dates; regional anniversary days are not included",
			"dates": strings.Join(dates, ","), "definition": ""},
		{"name": "weekend", "description": "Saturday and Sunday", "dates": "", "definition": "Sat-Sun"},
	}
}
