package resource

import (
	"regexp"
	"strings"

	"xc5/dialplan"
)

// Routes and callrules sort by order; the document uses -14 to 200.
const orderRange = 100000

// parseDestinationField parses a destination field once, for the checks
// that need both its canonical text and its parsed form: "" (and the zero
// Destination) when the field is empty.
func parseDestinationField(s string) (string, dialplan.Destination, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, dialplan.Destination{}, nil
	}
	d, err := dialplan.ParseDestination(s)
	if err != nil {
		return "", d, invalid("%s", err.Error())
	}
	return d.String(), d, nil
}

// parseDigitMapField parses a digit_map field once: its text as written
// and its parsed form ("" when the field is empty).
func parseDigitMapField(s string) (string, dialplan.DigitMap, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, dialplan.DigitMap{}, nil
	}
	m, err := dialplan.ParseDigitMap(s)
	if err != nil {
		return "", m, invalid("%s", err.Error())
	}
	return s, m, nil
}

// parseTimeDefinitionField validates a route's time_definition (any set
// name: the store checks that the sets exist) and returns its parsed
// dialplan.TimeDefinition.
func parseTimeDefinitionField(s string) (string, any, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, nil, nil
	}
	td, err := dialplan.ParseTimeDefinition(s, nil)
	if err != nil {
		return "", nil, invalid("%s", err.Error())
	}
	return s, td, nil
}

// grammar returns the Check of a field whose Parse is parse: the text
// without the parsed form, for the readers that want only the text.
func grammar(parse func(string) (string, any, error)) func(any) (any, error) {
	return func(v any) (any, error) {
		text, _, err := parse(v.(string))
		if err != nil {
			return nil, err
		}
		return text, nil
	}
}

// The grammar fields' checks (Field.Parse, Field.Check).
var (
	checkForwardDestination  = grammar(parseForwardDestination)
	checkCallRuleDestination = grammar(parseCallRuleDestination)
	checkMenuDigitMap        = grammar(parseMenuDigitMap)
	checkTimeDefinition      = grammar(parseTimeDefinitionField)
)

func checkGUIDOrEmpty(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	if s == "" {
		return s, nil
	}
	if !IsGUID(s) {
		return nil, invalid("%q is not a GUID", v)
	}
	return strings.ToUpper(s), nil
}

func checkUsernameOrEmpty(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	if s == "" {
		return s, nil
	}
	return NormalizeUsername(s)
}

var (
	dialPrefixRE = regexp.MustCompile(`^[0-9*#]{1,32}$`)
	e164PrefixRE = regexp.MustCompile(`^[0-9]{1,15}$`)
	emailRE      = regexp.MustCompile(`^[^@\s,<>"]+@[A-Za-z0-9.\-_]+$`)

	checkPrefixRaw    = optional(dialPrefixRE, "prefix_raw %q must be dialed digits (0-9 * #)")
	checkE164Prefix   = optional(e164PrefixRE, "prefix %q must be the leading digits of an e.164 number")
	checkEmailOrEmpty = optional(emailRE, "%q is not an e-mail address")
)

// checkForkDestination allows a number or (as the document says is coming)
// an account username.
func checkForkDestination(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	if e164RE.MatchString(s) {
		if err := checkNotForwardToEmergency("destination", s); err != nil {
			return nil, err
		}
		return s, nil
	}
	if u, err := NormalizeUsername(s); err == nil && s != "" {
		return u, nil
	}
	return nil, invalid("fork destination %q must be an e.164 number or an account username", v)
}

// Route is an account route: what happens to calls TO the account, in
// ascending order around the implicit order 0 (ring the phones).
var Route = &Resource{
	Name:        "route",
	Description: "Manage account routes: what happens to calls to the account, in ascending order. Order 0 is the implicit ring of the account's phones for cfna_duration seconds; routes below 0 run before it, routes above 0 after it when unanswered, busy or unregistered",
	Methods:     crud,
	Parent:      Account,
	Filter:      "destination",
	Routing:     RoutingRecord,
	Rule:        func(v map[string]any, _ bool) error { return checkRoute(v) },
	Fields: []Field{
		guidField,
		{Name: "order", Type: Integer, Required: true, Min: -orderRange, Max: orderRange,
			Description: "Position of the route; several routes may share an order (menus at -8 with levels 1, 2, 3)"},
		{Name: "destination", Type: String, Check: checkForwardDestination, Parse: parseForwardDestination, Ref: RefDestination,
			Description: "Forward target: e.164 number (country code first, never 0…, never an emergency number such as 111), username, :EXT, email:ADDRESS (voicemail to email), conference:ROOM, drop:CODE:REASON"},
		{Name: "username", Type: String, Check: checkUsernameOrEmpty, Ref: RefAccount, Holds: true,
			Description: "Deliver the call to this account (its routes apply), or with hunt_user ring its phones only"},
		{Name: "hunt_user", Type: Boolean,
			Description: "Ring username's phones for ring_seconds without applying its routes, then go on (hunt group member)"},
		{Name: "ring_seconds", Type: Integer, Min: 0, Max: 600,
			Description: "Seconds to ring a hunt member; 0 uses the member's cfna_duration"},
		{Name: "menu_level", Type: Integer, Min: 0, Max: 99,
			Description: "IVR menu level; level 1 is entered in order, higher levels only by a #N jump from a digit_map. 0 for no menu"},
		{Name: "time_definition", Type: String, Check: checkTimeDefinition, Parse: parseTimeDefinitionField, Ref: RefTimeSets, Holds: true,
			Description: "The route applies only when this time definition matches, in the account's time zone (nz_holidays,!Mon-Thur 08:30-17:00)"},
		{Name: "digit_map", Type: String, Check: checkMenuDigitMap, Parse: parseMenuDigitMap, Ref: RefDigitMap,
			Description: "Menu key map KEYS=ACTION,…; ACTION #N jumps to menu level N, T is the timeout, other actions are destinations"},
		{Name: "promptguid", Type: String, Check: checkGUIDOrEmpty, Ref: RefPrompt, Holds: true,
			Description: "Prompt played by a menu or before voicemail"},
	},
}

// CallRule is a rule on calls FROM the account (and its descendants):
// speed dials, extension plans, blocking, recording.
var CallRule = &Resource{
	Name:        "callrule",
	Description: "Manage call rules: rules on calls made by the account and its descendants (extension plans, speed dials, destination blocking, recording), in ascending order",
	Methods:     crud,
	Parent:      Account,
	Filter:      "prefix_raw",
	Routing:     RoutingRecord,
	Rule:        func(v map[string]any, _ bool) error { return checkCallRule(v) },
	Locked:      func(cur map[string]any, _ bool) error { return CheckEmergencyRule(str(cur, "location")) },
	Fields: []Field{
		guidField,
		{Name: "order", Type: Integer, Required: true, Min: -orderRange, Max: orderRange,
			Description: "Position of the rule; several rules may share an order"},
		{Name: "prefix", Type: String, Check: checkE164Prefix,
			Description: "Condition: the e.164-translated dialed number starts with this"},
		{Name: "prefix_raw", Type: String, Check: checkPrefixRaw,
			Description: "Condition: the untranslated dialed string starts with this (extensions, feature codes)"},
		{Name: "location", Type: String, Ref: RefLocation, Holds: true,
			Description: "Condition: the translated dialed number is in this location (<CallRule-International>)"},
		{Name: "username", Type: String, Check: checkUsernameOrEmpty, Ref: RefAccount, Holds: true,
			Description: "Deliver matching calls to this account"},
		{Name: "destination", Type: String, Check: checkCallRuleDestination, Parse: parseCallRuleDestination, Ref: RefDestination,
			Description: "Rewrite matching calls: :EXT, a number, a username, % for the rest of the dialed digits (*%), drop:CODE:REASON"},
		{Name: "early_rule", Type: Boolean,
			Description: "Apply before number translation, on the raw dialed string (14 → *)"},
		{Name: "record_email", Type: String, Check: checkEmailOrEmpty,
			Description: "Record matching calls and e-mail the recording to this address"},
	},
}

// MaxForks bounds the forks of one account: every call to it rings them
// all at once, and each external one is a carrier leg, so an unbounded
// blast group would fan one call out to any number of carrier calls.
const MaxForks = 20

// Fork rings several destinations at once (a blast or ring group).
var Fork = &Resource{
	Name:        "fork",
	Description: "Manage forks: destinations rung all at once for calls to the account (blast group); the first to answer wins",
	Methods:     crud,
	Parent:      Account,
	Filter:      "destination",
	Routing:     RoutingRecord,
	Fields: []Field{
		guidField,
		{Name: "destination", Type: String, Required: true, Check: checkForkDestination, Parse: destinationForm(checkForkDestination), Ref: RefDestination, Holds: true,
			Description: "An e.164 number (never an emergency number such as 111) or an account username to ring"},
	},
}

// Prompt is an audio prompt of an account: uploaded as a WAV or recorded
// from a phone by dialing its group_access code.
var Prompt = &Resource{
	Name:        "prompt",
	Description: "Manage prompts: PUT …/prompt/{guid} with a WAV (multipart form data or audio/wav) uploads audio; PUT …/prompt/ with a description creates an empty prompt to record by dialing its group_access code; GET with Accept: audio/wav returns the audio",
	Methods:     crud,
	Parent:      Account,
	Filter:      "description",
	SharedIn:    SharedPrompts,
	Media:       true,
	Routing:     RoutingRecord,
	Fields: []Field{
		guidField,
		{Name: "description", Type: String, Check: text("description", 256),
			Description: "What the prompt says"},
		{Name: "prompt_length", Type: Integer, ReadOnly: true,
			Description: "Length of the audio in milliseconds, 0 when none"},
		{Name: "group_access", Type: String, ReadOnly: true,
			Description: "Feature code (*22…) a phone of the organisation dials to record this prompt"},
	},
}

// checkRoute catches routes that could never do anything sensible.
func checkRoute(v map[string]any) error {
	dest, user := v["destination"].(string), v["username"].(string)
	level := v["menu_level"].(int64)
	if v["hunt_user"].(bool) && user == "" {
		return invalid("hunt_user needs a username to ring")
	}
	if dest != "" && user != "" {
		return invalid("a route has either a destination or a username, not both")
	}
	if level == 0 && v["digit_map"].(string) != "" {
		return invalid("digit_map needs a menu_level (1 for the first menu)")
	}
	if level == 0 && dest == "" && user == "" {
		return invalid("a route needs a destination, a username or a menu_level")
	}
	if v["order"].(int64) == 0 {
		return invalid("order 0 is the implicit ring of the account's phones; use an order below or above it")
	}
	return nil
}

// str is a string value of a record, "" when it has none.
func str(vals map[string]any, name string) string { s, _ := vals[name].(string); return s }

// checkCallRule needs a rule to have a condition or an effect.
func checkCallRule(v map[string]any) error {
	if v["destination"].(string) == "" && v["username"].(string) == "" && v["record_email"].(string) == "" {
		return invalid("a callrule needs a destination, a username or a record_email")
	}
	if v["early_rule"].(bool) && v["prefix_raw"].(string) == "" {
		return invalid("an early_rule matches the raw dialed string: it needs a prefix_raw")
	}
	return nil
}
