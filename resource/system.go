package resource

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"xc5"
	"xc5/dialplan"
)

var (
	locationNameRE = regexp.MustCompile(`^[A-Za-z0-9<>_.:+\-]{1,64}$`)
	setNameRE      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

func checkLocationName(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	if !locationNameRE.MatchString(s) {
		return nil, invalid("location name %q must be 1 to 64 of letters, digits and <>_.:+-", v)
	}
	return s, nil
}

func checkSetName(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	if !setNameRE.MatchString(s) {
		return nil, invalid("time definition name %q must be an identifier (letters, digits, _)", v)
	}
	return s, nil
}

// checkPrefixes normalises a comma-separated list of e.164 prefixes.
func checkPrefixes(v any) (any, error) {
	var out []string
	for _, p := range strings.Split(v.(string), ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !e164PrefixRE.MatchString(p) {
			return nil, invalid("prefix %q must be the leading digits of an e.164 number", p)
		}
		out = append(out, p)
	}
	return strings.Join(out, ","), nil
}

// parseDatesField validates a comma-separated list of dates and date
// ranges and returns them parsed ([]dialplan.DateRange).
func parseDatesField(s string) (string, any, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, nil, nil
	}
	dates, err := ParseDates(s)
	if err != nil {
		return "", nil, err
	}
	return s, dates, nil
}

// ParseDates reads a timedefinition's dates field: YYYY-MM-DD or
// YYYY-MM-DD..YYYY-MM-DD items separated by commas.
func ParseDates(s string) ([]dialplan.DateRange, error) {
	var out []dialplan.DateRange
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		td, err := dialplan.ParseTimeDefinition(item, func(string) bool { return false })
		if err != nil || len(td.Terms) != 1 || td.Terms[0].Dates == nil || td.Terms[0].Negated || td.Terms[0].Time != nil {
			return nil, invalid("dates: %q is not a date (2025-12-25) or a date range (2025-12-24..2026-01-02)", item)
		}
		out = append(out, *td.Terms[0].Dates)
	}
	return out, nil
}

// parseSetDefinition validates a time set's own definition, which may not
// name other sets (so that sets cannot refer to each other in a loop), and
// returns it parsed (a dialplan.TimeDefinition, as a parse that allows
// names gives it: it has none).
func parseSetDefinition(s string) (string, any, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, nil, nil
	}
	td, err := dialplan.ParseTimeDefinition(s, func(string) bool { return false })
	if err != nil {
		return "", nil, invalid("%s (a time definition's own definition cannot name other sets)", err.Error())
	}
	return s, td, nil
}

// The time sets' grammar fields' checks (Field.Parse, Field.Check).
var (
	checkDates         = grammar(parseDatesField)
	checkSetDefinition = grammar(parseSetDefinition)
)

// Location is a named class of e.164 destinations used by callrules.
var Location = &Resource{
	Name:        "location",
	Description: "Named classes of e.164 destinations (<CallRule-International>), matched by callrule location. Readable by all API users, written with system access",
	Methods:     crud,
	Key:         "name",
	Filter:      "name",
	SystemWrite: true,
	Routing:     RoutingTable,
	Fields: []Field{
		guidField,
		{Name: "name", Type: String, Required: true, Check: checkLocationName,
			Description: "Unique name of the location, as callrules name it"},
		{Name: "description", Type: String, Check: text("description", 256),
			Description: "What the location covers"},
		{Name: "prefixes", Type: String, Check: checkPrefixes,
			Description: "Comma-separated e.164 prefixes; a number (after translation to e.164) is in the location when it starts with one of them; a short code such as 111 only when a prefix is the whole code"},
		{Name: "exclude", Type: String, Check: checkPrefixes,
			Description: "Comma-separated e.164 prefixes that are not in the location even though a prefix matches (6421 out of 64 for national)"},
	},
}

// TimeDefinition is a named time set that route time_definitions use.
var TimeDefinition = &Resource{
	Name:        "timedefinition",
	Description: "Named time sets (nz_holidays) that route time_definition fields refer to. Readable by all API users, written with system access",
	Methods:     crud,
	Key:         "name",
	Filter:      "name",
	SystemWrite: true,
	Routing:     RoutingTable,
	Fields: []Field{
		guidField,
		{Name: "name", Type: String, Required: true, Check: checkSetName,
			Description: "Unique name, used in time_definition fields"},
		{Name: "description", Type: String, Check: text("description", 256),
			Description: "What the set covers"},
		{Name: "dates", Type: String, Check: checkDates, Parse: parseDatesField,
			Description: "Comma-separated dates (2025-12-25) and date ranges (2025-12-24..2026-01-02) in the set"},
		{Name: "definition", Type: String, Check: checkSetDefinition, Parse: parseSetDefinition,
			Description: "A time definition (Sat-Sun, Mon-Fri 12:00-13:00) whose times are also in the set; it cannot name other sets"},
	},
}

// Registration is a SIP registration binding of an account.
var Registration = &Resource{
	Name:        "reg",
	Description: "The account's SIP registrations. Read-only; DELETE removes a binding",
	Methods:     []string{"GET", "OPTIONS"},
	ItemMethods: []string{"GET", "DELETE", "OPTIONS"},
	Parent:      Account,
	Filter:      "contact",
	Routing:     RoutingNone,
	Fields: []Field{
		guidField,
		{Name: "contact", Type: String, ReadOnly: true, Description: "The registered contact URI"},
		{Name: "expires", Type: String, ReadOnly: true, Description: "When the binding expires (RFC 3339)"},
		{Name: "user_agent", Type: String, ReadOnly: true, Description: "The phone's User-Agent"},
		{Name: "source", Type: String, ReadOnly: true, Description: "Transport and source address the REGISTER came from"},
		{Name: "registered_at", Type: String, ReadOnly: true, Description: "When the binding was made or last refreshed (RFC 3339)"},
	},
}

// Hydra is the document's HydraAccount: a POTS line in one record. It is a
// view over an ordinary account (username = the number, under _tel), its
// number, its no-answer forward and its mailbox, written together.
var Hydra = &Resource{
	Name:        "HydraAccount",
	Description: "POTS accounts in one record: PUT /api-sys/HydraAccount/{number} creates or updates the account (username = number, under _tel), its number, no-answer forward and mailbox together; DELETE removes them together",
	Methods:     crud,
	Key:         "number",
	Filter:      "number",
	SystemWrite: true,
	View:        true,
	Events:      []string{xc5.EventAccountChanged, xc5.EventNumberChanged},
	Fields: []Field{
		{Name: "number", Type: String, ReadOnly: true, Description: "The e.164 number of the line, also the account's username"},
		{Name: "account", Type: String, ReadOnly: true, Description: "GUID of the underlying account"},
		{Name: "password", Type: String, WriteOnly: true, Check: text("password", 128),
			Description: "SIP password; generated when the line is created without one and shown only then"},
		accountField("cfna_dest", "Call-forward no-answer (including busy) destination, such as the voicemail number"),
		accountField("cfna_active", "Enables the call-forward no-answer"),
		accountField("ums_pin", "Creates the mailbox or resets its PIN; null removes the mailbox"),
		accountField("concurrent_limit", "Simultaneous calls: 2 allows call hold, 1 disables it"),
		accountField("private", "Controls caller presentation (withhold the number)"),
		accountField("callerid", "Shows the caller on this line's phone"),
		{Name: "note", Type: String, WriteOnly: true, Description: "Free text describing a feature; accepted and ignored (may repeat)"},
	},
}

// accountField is a field of Account that a view (HydraAccount) shows
// and writes through: the account's own declaration (type, check,
// default), in the view's words. Its references are the account's to
// check: the store writes the field through the account, which checks
// them, and the view's own write checks none (as before it was derived).
func accountField(name, description string) Field {
	f := *Account.Field(name)
	f.Description, f.Of = description, Account
	f.Ref, f.Holds = RefNone, false
	return f
}

// Session is the cookie login of the API: PUT with Basic credentials
// answers a Set-Cookie holding a signed JWT; DELETE ends it.
var Session = &Resource{
	Name:        "session",
	Description: "Cookie sessions: PUT with Basic credentials sets an HttpOnly, Secure, SameSite=Strict cookie holding a signed JWT that authenticates later requests; DELETE ends the session at once",
	Methods:     []string{"PUT", "DELETE", "OPTIONS"},
	NoItems:     true,
	Routing:     RoutingNone,
	Fields: []Field{
		{Name: "account", Type: String, ReadOnly: true, Description: "Username of the session's account"},
		{Name: "expires", Type: String, ReadOnly: true, Description: "When the session ends (RFC 3339)"},
	},
}

// CallTrace answers "what happens when X dials Y at time T and presses D?"
// from the routing engine, before any phone rings. Its fields are the
// query parameters.
var CallTrace = &Resource{
	Name:        "calltrace",
	Description: "Trace a call through the routing engine: GET /api-sys/calltrace?from=FROM&dial=DIGITS[&at=RFC3339][&dtmf=D,D][&registered=U,…][&noanswer=U,…][&busy=U,…]. The answer is the steps taken, the last element being the outcome",
	Methods:     []string{"GET", "OPTIONS"},
	NoItems:     true,
	Fields: []Field{
		{Name: "from", Type: String, ReadOnly: true, Description: "The caller: an account username or GUID, or an external number"},
		{Name: "dial", Type: String, ReadOnly: true, Description: "The dialed string as typed"},
		{Name: "at", Type: String, ReadOnly: true, Description: "When the call is made (RFC 3339); default now"},
		{Name: "dtmf", Type: String, ReadOnly: true, Description: "Digits pressed at successive menus, comma-separated; an empty entry is a timeout"},
		{Name: "registered", Type: String, ReadOnly: true, Description: "Accounts to treat as registered in addition to the real registrations; * for all"},
		{Name: "noanswer", Type: String, ReadOnly: true, Description: "Accounts whose phones ring but do not answer; * for all"},
		{Name: "busy", Type: String, ReadOnly: true, Description: "Accounts whose phones answer busy; * for all"},
	},
}

// CDR is a call detail record: one per call and side (the caller's account
// and the account the call was delivered to), written by the SIP service.
var CDR = &Resource{
	Name:        "cdr",
	Description: "Call detail records of the account, newest last; filter by time with ?since=RFC3339&until=RFC3339. Read-only",
	Methods:     []string{"GET", "OPTIONS"},
	Parent:      Account,
	Filter:      "to",
	TimeFilter:  "started",
	Routing:     RoutingNone,
	CSV:         true, // api/cdrcsv.go
	Redact:      (*Outsiders).RedactCDR,
	Fields: []Field{
		guidField,
		{Name: "direction", Type: String, ReadOnly: true, Lean: true, Enum: []string{"out", "in"}, Description: "out for calls the account made, in for calls delivered to it"},
		{Name: "from", Type: String, ReadOnly: true, Lean: true, Description: "The caller: username or number"},
		{Name: "to", Type: String, ReadOnly: true, Lean: true, Description: "The dialed string"},
		{Name: "started", Type: String, ReadOnly: true, Lean: true, Description: "When the call arrived (RFC 3339)"},
		{Name: "answered", Type: String, ReadOnly: true, Description: "When it was answered (RFC 3339), empty if never"},
		{Name: "ended", Type: String, ReadOnly: true, Description: "When it ended (RFC 3339)"},
		{Name: "duration", Type: Integer, ReadOnly: true, Lean: true, Description: "Billable seconds, from answer to end"},
		{Name: "outcome", Type: String, ReadOnly: true, Lean: true, Description: "answered, busy, unanswered, dropped, external, cancelled, failed, …"},
		{Name: "answered_by", Type: String, ReadOnly: true, Description: "Who answered: a username or an external number"},
		{Name: "code", Type: Integer, ReadOnly: true, Description: "Final SIP status sent to the caller"},
		{Name: "call_id", Type: String, ReadOnly: true, Description: "SIP Call-ID of the caller's leg"},
		{Name: "withheld", Type: Boolean, ReadOnly: true, Description: "The external caller withheld its number (Privacy: id): from keeps the real number for system-level access and reads anonymous below it"},
		{Name: "recorded", Type: Boolean, ReadOnly: true, Description: "The call was recorded for the account that answered it (its record_email callrules); the recording went by mail"},
		{Name: "transfers", Type: String, ReadOnly: true, Description: "Who passed the call on, to whom and when: transfers, parks and retrievals, oldest first, separated by \"; \" (\"2026-05-01T09:00:00Z reception@acme transferred the call to 608\")"},
	},
}

// Trunk is a carrier connection: where calls to DDIs may come from, and
// where external calls go.
var Trunk = &Resource{
	Name:        "trunk",
	Description: "Carrier trunks: the addresses allowed to send calls in (to DDIs), and the outbound proxy external calls are sent to, with digest credentials if the carrier wants them. System access only",
	Methods:     crud,
	Key:         "name",
	Filter:      "name",
	SystemWrite: true,
	SystemRead:  true,
	Routing:     RoutingNone,
	Rule:        func(v map[string]any, _ bool) error { return checkTrunk(v) },
	Fields: []Field{
		guidField,
		{Name: "name", Type: String, Required: true, Check: checkName, Description: "Unique name of the trunk"},
		{Name: "address", Type: String, Check: checkAddressRange,
			Description: "IP address or CIDR range (comma-separated list) allowed to send calls in without registration"},
		{Name: "port", Type: Integer, Default: int64(5060), Min: 0, Max: 65535,
			Description: "UDP port the carrier sends calls from (0: any port); over TCP and TLS a connection comes from any port"},
		{Name: "inbound_auth", Type: Boolean,
			Description: "Challenge the carrier's INVITEs (407) and accept only those answering with this trunk's username and password"},
		{Name: "proxy", Type: String, Check: checkHostPort,
			Description: "host:port (or [v6]:port) that external calls are sent to; empty for a trunk that only sends calls in"},
		{Name: "transport", Type: String, Default: "udp", Check: lower, Enum: []string{"udp", "tcp", "tls"}, Description: "Transport to the proxy: udp, tcp or tls"},
		{Name: "username", Type: String, Check: text("username", 128), Description: "Digest username the carrier asks for, if any"},
		{Name: "password", Type: String, WriteOnly: true, Check: text("password", 128), Description: "Digest password the carrier asks for, if any"},
		{Name: "enabled", Type: Boolean, Default: true, Description: "A disabled trunk neither accepts nor carries calls"},
		{Name: "priority", Type: Integer, Min: 0, Max: 1000, Description: "External calls use the enabled trunk with a proxy and the lowest priority"},
	},
}

// checkTrunk refuses a trunk that challenges its carrier without
// credentials to check the answer against. The password is write-only, so
// it can be checked only when this write sets it.
func checkTrunk(v map[string]any) error {
	if !v["inbound_auth"].(bool) {
		return nil
	}
	if v["username"].(string) == "" {
		return invalid("inbound_auth needs the username (and password) the carrier answers the challenge with")
	}
	if pw, ok := v["password"].(string); ok && pw == "" {
		return invalid("inbound_auth needs the password the carrier answers the challenge with")
	}
	return nil
}

func checkAddressRange(v any) (any, error) {
	var out []string
	for _, p := range strings.Split(v.(string), ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, ok := parsePrefix(p); !ok {
			return nil, invalid("address %q is not an IP address or CIDR range", p)
		}
		out = append(out, p)
	}
	return strings.Join(out, ","), nil
}

// ParsePrefixes reads a comma-separated list of IP addresses and CIDR
// ranges (a trunk's address, the signalling nodes a media node serves):
// an address is the range of itself alone, IPv4-mapped addresses are
// IPv4. It returns the valid entries and an error naming the first that
// is neither.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad error
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, ok := parsePrefix(f)
		if !ok {
			if bad == nil {
				bad = fmt.Errorf("%q is not an IP address or CIDR range", f)
			}
			continue
		}
		out = append(out, p)
	}
	return out, bad
}

// parsePrefix reads one address or CIDR range.
func parsePrefix(f string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(f); err == nil {
		return p.Masked(), true
	}
	ip, err := netip.ParseAddr(f)
	if err != nil {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), true
}

func checkHostPort(v any) (any, error) {
	s := strings.TrimSpace(v.(string))
	if s == "" {
		return s, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return nil, invalid("proxy %q must be host:port", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, invalid("proxy %q has a bad port", v)
	}
	return s, nil
}

// lower normalises a case-insensitive keyword (a field's Enum checks it).
func lower(v any) (any, error) { return strings.ToLower(strings.TrimSpace(v.(string))), nil }
