package resource

import (
	"strings"

	"xc5"
)

var crud = []string{"GET", "PUT", "PATCH", "DELETE", "OPTIONS"}
var readOnly = []string{"GET", "OPTIONS"}

var guidField = Field{Name: "guid", Type: String, ReadOnly: true, Lean: true,
	Description: "Unique identifier for each entry"}

// Account is an xc5 account: a company, a user, a hunt group, a system
// account. Accounts form a tree; many settings are inherited from the
// parent when left empty.
var Account = &Resource{
	Name:        "account",
	Description: "Manage accounts: companies, users, groups and system accounts, arranged in a tree",
	Methods:     crud,
	Key:         "username",
	Filter:      "username",
	Routing:     RoutingAccount,
	Tree:        true,
	Events:      []string{xc5.EventAccountChanged},
	Fields: []Field{
		guidField,
		{Name: "username", Type: String, Required: true, Lean: true, Check: checkUsername,
			Description: "Unique account name: a domain (acmebrick.x.co.nz) or local@domain (reception@acmebrick.x.co.nz); SIP user name and API login. A leading _ marks system accounts. Below a partition (api_access=user) names stay in the root's domain: local@root or a sub-domain of it"},
		{Name: "parent", Type: String, Lean: true,
			Description: "GUID of the parent account; on write a GUID or username. Empty for a top-level account"},
		{Name: "password", Type: String, WriteOnly: true, Check: text("password", 128),
			Description: "SIP and API password. Generated when an account is created without one and shown only in that response"},
		{Name: "enabled", Type: Boolean, Default: true,
			Description: "A disabled account cannot register, call or use the API. Read-only below system level on a partition's root account"},
		{Name: "cfna_duration", Type: Integer, Default: int64(20), Min: 1, Max: 600,
			Description: "Seconds to ring the account's phones (route order 0) before moving on to the next route"},
		{Name: "cfna_dest", Type: String, Check: checkCfnaDest, Parse: destinationForm(checkCfnaDest), Ref: RefDestination, Holds: true,
			Description: "Call-forward no-answer (and busy) destination: an e.164 number or an account username"},
		{Name: "cfna_active", Type: Boolean,
			Description: "Enables the call-forward no-answer to cfna_dest"},
		{Name: "dnd", Type: Boolean, Default: false,
			Description: "Do-not-disturb: the account's phones do not ring (nor as a hunt or blast member); its calls go on as when busy: cfna_dest when cfna_active, the later routes, voicemail, else busy. Set by phone with *78 (on) and *79 (off)"},
		{Name: "pickup_group", Type: String, Check: text("pickup_group", 64),
			Description: "Members of the same pickup group can pick up each other's ringing calls; inherited from the parent when empty"},
		{Name: "ums_pin", Type: String, Secret: true, Check: digits("ums_pin", 4, 12),
			Description: "Voicemail (UMS) mailbox PIN; setting it creates the mailbox, empty means no mailbox"},
		{Name: "concurrent_limit", Type: Integer, Min: 0, Max: 10000,
			Description: "Maximum simultaneous calls, 0 for no limit. 2 allows call hold, 1 disables it. Set by the provider: read-only below system-level access"},
		{Name: "private", Type: Boolean,
			Description: "Withholds the caller's number from the called party (caller presentation)"},
		{Name: "callerid", Type: Boolean, Default: true,
			Description: "Shows the caller's identity on this account's phones for incoming calls"},
		{Name: "timezone", Type: String, Check: checkTimezone,
			Description: "IANA time zone (Pacific/Auckland) for time definitions; inherited from the parent when empty"},
		{Name: "country_code", Type: String, Check: code("country_code", 1, 3),
			Description: "Country calling code used to translate dialed national numbers to e.164; inherited when empty. Set by the provider: read-only below system-level access"},
		{Name: "area_code", Type: String, Check: code("area_code", 1, 5),
			Description: "Area code used to translate dialed local numbers to e.164; inherited when empty"},
		{Name: "hold_prompt", Type: String, Check: checkGUIDOrEmpty,
			Description: "GUID of a prompt of this account or an ancestor that held and parked callers hear instead of the system hold music (looped); inherited from the parent when empty"},
	},
}

// Child is the children collection of an account: the same records as
// Account, scoped to one parent.
var Child = &Resource{
	Name:        "child",
	Description: "Manage the child accounts of an account",
	Methods:     crud,
	Parent:      Account,
	Key:         "username",
	Filter:      "username",
	Routing:     RoutingAccount,
	Tree:        true,
	Events:      []string{xc5.EventAccountChanged},
	Fields:      Account.Fields,
	Canonical:   Account,
}

// AccountResource holds name/value settings of one account, such as
// api_access.
var AccountResource = &Resource{
	Name:        "accountresource",
	Description: "Manage name/value resources of an account. api_access=system|user grants API access (user: the account and its descendants, a partition). number_limit=N, set by the provider (system-level access only), bounds the numbers the account's subtree may take from _unassigned.pool through user-level access; without a number_limit on the account or above it, user-level access allocates none. prompt_limit=N, also set by the provider, bounds the prompts the subtree may create through user-level access (unbounded without one)",
	Methods:     crud,
	Parent:      Account,
	Key:         "name",
	Filter:      "name",
	Rule:        func(v map[string]any, userLevel bool) error { return CheckAccountResource(Input(v), userLevel) },
	Locked:      lockedAccountResource,
	Fields: []Field{
		guidField,
		{Name: "name", Type: String, Required: true, Check: checkName,
			Description: "Resource name, unique within the account (api_access, number_limit, prompt_limit)"},
		{Name: "value", Type: String, Check: text("value", 1024),
			Description: "Resource value (api_access: system or user; number_limit, prompt_limit: a count, read-only below system level)"},
	},
}

// numberFields are shared by Number and NumberAllocate, which list the
// same records.
var numberFields = []Field{
	guidField,
	{Name: "number", Type: String, Required: true, Check: checkNumber,
		Description: "The e.164 phone number. Numbers must be unique, or prefixed with a: if outgoing rewrite is allowed"},
	{Name: "assigned", Type: String, ReadOnly: true,
		Description: "Username of the account the number is assigned to"},
	{Name: "is-pilot", Type: Boolean,
		Description: "Indicates to use this number a a default for invalid presented caller number"},
	{Name: "cfa", Type: String, Check: checkCFA,
		Description: "An e.164 destination. Creates a call-forward-all for calls to this number"},
	{Name: "alert-info", Type: String, Check: text("alert-info", 256),
		Description: "Assigns a value to the sip Alert-Info header for distinctive ring"},
	{Name: "account-code", Type: String, Check: text("account-code", 256),
		Description: "Free for use associated data"},
}

// Number is a phone number (DDI) of an account.
var Number = &Resource{
	Name:        "number",
	Description: "Manage account phonenumbers",
	Methods:     crud,
	Parent:      Account,
	Filter:      "number",
	Routing:     RoutingRecord,
	Events:      []string{xc5.EventNumberChanged},
	Fields:      numberFields,
}

// NumberAllocate lists the free numbers of the _unassigned.pool account
// that can be moved to this account with PUT …/number/{guid}.
var NumberAllocate = &Resource{
	Name:        "numberallocate",
	Description: "View free numbers in the _unassigned.pool account; allocate one with PUT /api-sys/account/{id}/number/{guid}. This is how user-level (api_access=user) access gets numbers, within the number_limit accountresource the provider sets; its DELETE returns them here",
	Methods:     readOnly,
	Parent:      Account,
	Filter:      "number",
	NoItems:     true,
	ListsOf:     SystemPool,
	Events:      []string{xc5.EventNumberChanged},
	Fields:      numberFields,
	Canonical:   Number,
}

// GUID hands out fresh GUIDs for clients that name new records
// themselves (prompts are uploaded to a GUID of the client's choosing).
var GUID = &Resource{
	Name:        "guid",
	Description: "Generate a new unique identifier",
	Methods:     readOnly,
	NoItems:     true,
	Fields:      []Field{{Name: "guid", Type: String, ReadOnly: true, Description: "A new unique identifier"}},
}

// All lists every resource, in the order the API index shows them.
var All = []*Resource{Account, Child, AccountResource, Number, NumberAllocate, Route, CallRule, Fork, Prompt, Registration,
	CDR, Voicemail, Webhook, Audit, Location, TimeDefinition, Hydra, Trunk, Session, CallTrace, Mail, GUID, Bulk}

// ByName finds a resource by its name (the first of that name: child and
// account share records, so either does).
func ByName(name string) *Resource {
	for _, r := range All {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Lookup finds a resource by its path segment (case-insensitively) under
// parent (nil for top level).
func Lookup(parent *Resource, name string) *Resource {
	for _, r := range All {
		if r.Parent == parent && strings.EqualFold(r.Name, name) {
			return r
		}
	}
	return nil
}

// Access levels of accountresource api_access.
const (
	AccessSystem = "system"
	AccessUser   = "user"
)

// SystemPool and SharedPrompts are the system accounts created at first
// start: the pool of free numbers and the home of shared prompts.
const (
	SystemPool    = "_unassigned.pool"
	SharedPrompts = "_prompt.shared"
	AdminUsername = "admin"
	// POTSParent is the parent of the POTS accounts made by HydraAccount.
	POTSParent = "_tel"
)
