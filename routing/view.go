// Package routing is the call-routing engine: the one place that decides
// what happens to a call, given the provisioning. It works on an in-memory,
// indexed View of accounts, numbers, routes, callrules, forks, locations
// and time sets, kept current by every committed write, and it holds no
// HTTP, SQL or SIP: the API's call trace and the SIP service drive the same
// engine through the Driver interface.
package routing

import (
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"xc5/dialplan"
	"xc5/resource"
)

// Account is an account as routing sees it.
type Account struct {
	GUID, Username, Parent string
	Enabled                bool
	CfnaDuration           int
	CfnaDest               string
	CfnaActive             bool
	DND                    bool // do-not-disturb: its phones do not ring
	PickupGroup            string
	UmsPin                 string
	ConcurrentLimit        int
	Private, CallerID      bool
	Timezone               string
	CountryCode, AreaCode  string
	HoldPrompt             string // hold music (HoldMusic)
	// Partition is true for an account holding api_access=user: a company
	// root (see Company).
	Partition bool

	Routes    []*Route    // by order, then creation
	CallRules []*CallRule // by order, then creation
	Forks     []string    // numbers or usernames rung at once
	Numbers   []*Number

	forkList []fork // Forks with their GUIDs, for updates
}

type fork struct{ guid, dest string }

// Number is a phone number of an account.
type Number struct {
	GUID, Number string
	Account      string // owner GUID
	IsPilot      bool
	CFA          string
	AlertInfo    string
}

// Route is an account route.
type Route struct {
	GUID        string
	Order       int
	Destination dialplan.Destination
	HasDest     bool
	Username    string
	HuntUser    bool
	RingSeconds int
	MenuLevel   int
	Time        dialplan.TimeDefinition
	HasTime     bool
	DigitMap    dialplan.DigitMap
	Prompt      string
	seq         int64
}

// CallRule is an account callrule.
type CallRule struct {
	GUID        string
	Order       int
	Prefix      string
	PrefixRaw   string
	Location    string
	Username    string
	Destination dialplan.Destination
	HasDest     bool
	EarlyRule   bool
	RecordEmail string
	ProviderSet bool // written with system-level access: screens before the walk
	seq         int64
}

// Location is a named class of E.164 numbers.
type Location struct {
	Name              string
	Prefixes, Exclude []string
}

// Contains reports whether an E.164 number is in the location.
func (l *Location) Contains(e164 string) bool {
	for _, x := range l.Exclude {
		if strings.HasPrefix(e164, x) {
			return false
		}
	}
	for _, p := range l.Prefixes {
		if strings.HasPrefix(e164, p) {
			return true
		}
	}
	return false
}

// Prompt is what routing needs of a prompt: its recording code.
type Prompt struct {
	GUID, Account, GroupAccess string
}

// timeSet is a named set of dates and times.
type timeSet struct {
	guid   string // of its record, for a write that renames it
	dates  dialplan.DateSet
	ranges []dialplan.DateRange
	def    dialplan.TimeDefinition
	hasDef bool
}

// Matches implements dialplan.TimeSet.
func (s *timeSet) Matches(t time.Time) bool {
	if s.dates.Matches(t) {
		return true
	}
	d := dialplan.DateOf(t)
	for _, r := range s.ranges {
		if r.Contains(d) {
			return true
		}
	}
	return s.hasDef && s.def.Matches(t, nil)
}

// Defaults are the system-wide values that inherited settings fall back
// to (xc5 serve flags).
type Defaults struct {
	Location    *time.Location
	CountryCode string
	AreaCode    string
	// VoicemailNumbers are the provider's voicemail access numbers (E.164),
	// as carriers have: a forward to one (a POTS line's cfna_dest) lands
	// in the forwarding account's mailbox, and an account dialing one
	// reaches its own mailbox (as *98).
	VoicemailNumbers []string
}

// View is the indexed provisioning the engine decides on. Writers replace
// whole accounts (with their rules) under the lock; decisions read under
// the read lock, so a write is visible to the next decision at once.
type View struct {
	mu        sync.RWMutex
	defaults  Defaults
	accounts  map[string]*Account // by GUID
	byName    map[string]*Account // by username
	numbers   map[string]*Number  // by E.164
	prompts   map[string]*Prompt  // by group_access code
	promptsOf map[string][]string // account GUID -> its prompt codes
	promptAcc map[string]string   // prompt GUID -> its account's GUID
	locations map[string]*Location
	timeSets  map[string]dialplan.TimeSet
	zones     map[string]*time.Location
	// ready is closed once the view holds the provisioning; decisions
	// wait for it, so a node that is still loading never misroutes.
	ready chan struct{}
	pmu   sync.Mutex // guards ready and pending
	// pending collects the changes that arrive while loading; they are
	// replayed once the load is done, so none slips between the two.
	pending []resource.Change
	// reloading counts Reloads in progress; touched collects what
	// changes touched meanwhile, which a Reload reads again once it has
	// swapped in its fresh copy (read before them).
	reloading int
	touched   touchSet
}

// closedChan is the ready channel of a view that needs no loading.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Loading marks the view as being loaded (by Load, maybe in the
// background): decisions wait until Load has finished.
func (v *View) Loading() {
	v.pmu.Lock()
	v.ready = make(chan struct{})
	v.pmu.Unlock()
}

// Ready returns a channel closed once the view is loaded.
func (v *View) Ready() <-chan struct{} {
	v.pmu.Lock()
	defer v.pmu.Unlock()
	return v.ready
}

// NewView returns an empty view.
func NewView(d Defaults) *View {
	if d.Location == nil {
		d.Location = time.UTC
	}
	return &View{defaults: d, accounts: map[string]*Account{}, byName: map[string]*Account{},
		numbers: map[string]*Number{}, prompts: map[string]*Prompt{}, promptsOf: map[string][]string{}, promptAcc: map[string]string{},
		locations: map[string]*Location{}, timeSets: map[string]dialplan.TimeSet{}, zones: map[string]*time.Location{}, ready: closedChan}
}

// AccountFromRecord converts a stored account.
func AccountFromRecord(rec resource.Record) *Account {
	v := rec.Values
	return &Account{GUID: rec.GUID, Username: str(v, "username"), Parent: rec.Parent, Enabled: boolean(v, "enabled"),
		CfnaDuration: integer(v, "cfna_duration"), CfnaDest: str(v, "cfna_dest"), CfnaActive: boolean(v, "cfna_active"),
		DND: boolean(v, "dnd"), PickupGroup: str(v, "pickup_group"), UmsPin: str(v, "ums_pin"), HoldPrompt: str(v, "hold_prompt"), ConcurrentLimit: integer(v, "concurrent_limit"),
		Private: boolean(v, "private"), CallerID: boolean(v, "callerid"), Timezone: str(v, "timezone"),
		CountryCode: str(v, "country_code"), AreaCode: str(v, "area_code")}
}

// RouteFromRecord converts a stored route. Its grammars were validated
// when it was written; a value that does not parse now (written before a
// grammar was tightened) is left out, so the route acts without it, and
// is returned as an error for the caller to report. The parsed forms a
// write's record carries (rec.Parsed) are taken as they are; only values
// without one (read from the store, another node's change) are parsed.
func RouteFromRecord(rec resource.Record) (*Route, error) {
	v, p := rec.Values, rec.Parsed
	r := &Route{GUID: rec.GUID, Order: integer(v, "order"), Username: str(v, "username"), HuntUser: boolean(v, "hunt_user"),
		RingSeconds: integer(v, "ring_seconds"), MenuLevel: integer(v, "menu_level"), Prompt: str(v, "promptguid"), seq: rec.Seq}
	var errs [3]error
	if d := str(v, "destination"); d != "" {
		r.Destination, errs[0] = p.Destination("destination", d)
		r.HasDest = r.Destination.Kind != dialplan.KindInvalid
	}
	if t := str(v, "time_definition"); t != "" {
		r.Time, errs[1] = p.TimeDefinition("time_definition", t)
		r.HasTime = true
	}
	r.DigitMap, errs[2] = p.DigitMap("digit_map", str(v, "digit_map"))
	return r, errors.Join(errs[:]...)
}

// CallRuleFromRecord converts a stored callrule; a destination that does
// not parse is left out and returned as an error, as for RouteFromRecord.
func CallRuleFromRecord(rec resource.Record) (*CallRule, error) {
	v := rec.Values
	c := &CallRule{GUID: rec.GUID, Order: integer(v, "order"), Prefix: str(v, "prefix"), PrefixRaw: str(v, "prefix_raw"),
		Location: str(v, "location"), Username: str(v, "username"), EarlyRule: boolean(v, "early_rule"),
		RecordEmail: str(v, "record_email"), ProviderSet: rec.ProviderSet, seq: rec.Seq}
	var err error
	if d := str(v, "destination"); d != "" {
		c.Destination, err = rec.Parsed.Destination("destination", d)
		c.HasDest = c.Destination.Kind != dialplan.KindInvalid
	}
	return c, err
}

// routeOf and callRuleOf convert a stored rule for the view, logging what
// did not parse: the call still routes (without that part, as always),
// and the log names the record to correct.
func routeOf(rec resource.Record) *Route {
	r, err := RouteFromRecord(rec)
	logUnparsed(resource.Route, rec, err)
	return r
}

func callRuleOf(rec resource.Record) *CallRule {
	c, err := CallRuleFromRecord(rec)
	logUnparsed(resource.CallRule, rec, err)
	return c
}

func logUnparsed(r *resource.Resource, rec resource.Record, err error) {
	if err != nil {
		slog.Warn("routing: a stored value does not parse; the rule acts without it",
			"resource", r.Name, "guid", rec.GUID, "account", rec.Parent, "err", err)
	}
}

// NumberFromRecord converts a stored number.
func NumberFromRecord(rec resource.Record) *Number {
	v := rec.Values
	return &Number{GUID: rec.GUID, Number: str(v, "number"), Account: rec.Parent, IsPilot: boolean(v, "is-pilot"),
		CFA: str(v, "cfa"), AlertInfo: str(v, "alert-info")}
}

// Rules are the records an account owns, as SetAccount takes them.
type Rules struct {
	Routes, CallRules, Forks, Numbers, Prompts []resource.Record
	Partition                                  bool // the account holds api_access=user
}

// SetAccount replaces an account and everything it owns.
func (v *View) SetAccount(acct resource.Record, rules Rules) {
	a := AccountFromRecord(acct)
	a.Partition = rules.Partition
	for _, r := range rules.Routes {
		a.Routes = append(a.Routes, routeOf(r))
	}
	sort.SliceStable(a.Routes, func(i, j int) bool { return a.Routes[i].Order < a.Routes[j].Order })
	for _, r := range rules.CallRules {
		a.CallRules = append(a.CallRules, callRuleOf(r))
	}
	sort.SliceStable(a.CallRules, func(i, j int) bool { return a.CallRules[i].Order < a.CallRules[j].Order })
	for _, f := range rules.Forks {
		a.Forks = append(a.Forks, str(f.Values, "destination"))
		a.forkList = append(a.forkList, fork{guid: f.GUID, dest: str(f.Values, "destination")})
	}
	for _, n := range rules.Numbers {
		a.Numbers = append(a.Numbers, NumberFromRecord(n))
	}
	var prompts []*Prompt
	for _, p := range rules.Prompts {
		prompts = append(prompts, &Prompt{GUID: p.GUID, Account: a.GUID, GroupAccess: str(p.Values, "group_access")})
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.removeLocked(a.GUID)
	v.accounts[a.GUID] = a
	v.byName[a.Username] = a
	for _, n := range a.Numbers {
		if !strings.HasPrefix(n.Number, "a:") {
			v.numbers[n.Number] = n
		}
	}
	for _, p := range prompts {
		v.promptAcc[p.GUID] = a.GUID
		v.prompts[p.GroupAccess] = p
		v.promptsOf[a.GUID] = append(v.promptsOf[a.GUID], p.GroupAccess)
	}
}

// RemoveAccount drops an account and what it owns.
func (v *View) RemoveAccount(guid string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.removeLocked(guid)
}

func (v *View) removeLocked(guid string) {
	old := v.accounts[guid]
	if old == nil {
		return
	}
	delete(v.accounts, guid)
	if v.byName[old.Username] == old {
		delete(v.byName, old.Username)
	}
	for _, n := range old.Numbers {
		if v.numbers[n.Number] == n {
			delete(v.numbers, n.Number)
		}
	}
	for _, code := range v.promptsOf[guid] {
		if p := v.prompts[code]; p != nil && p.Account == guid {
			delete(v.prompts, code)
		}
	}
	delete(v.promptsOf, guid)
	for p, acc := range v.promptAcc {
		if acc == guid {
			delete(v.promptAcc, p)
		}
	}
}

// SetLocations replaces all locations.
func (v *View) SetLocations(recs []resource.Record) {
	m := map[string]*Location{}
	for _, r := range recs {
		m[str(r.Values, "name")] = &Location{Name: str(r.Values, "name"),
			Prefixes: splitList(str(r.Values, "prefixes")), Exclude: splitList(str(r.Values, "exclude"))}
	}
	v.mu.Lock()
	v.locations = m
	v.mu.Unlock()
}

// SetTimeSets replaces all named time sets.
func (v *View) SetTimeSets(recs []resource.Record) {
	m := map[string]dialplan.TimeSet{}
	for _, r := range recs {
		m[str(r.Values, "name")] = timeSetOf(r)
	}
	v.mu.Lock()
	v.timeSets = m
	v.mu.Unlock()
}

// timeSetOf converts a stored time set, taking the parsed forms a write's
// record carries (rec.Parsed) and parsing only what it does not.
func timeSetOf(r resource.Record) *timeSet {
	ts := &timeSet{guid: r.GUID, dates: dialplan.DateSet{}}
	ranges, err := resource.ParseOr(r.Parsed, "dates", str(r.Values, "dates"), resource.ParseDates)
	logUnparsed(resource.TimeDefinition, r, err)
	for _, dr := range ranges {
		if dr.From == dr.To {
			ts.dates.Add(dr.From)
		} else {
			ts.ranges = append(ts.ranges, dr)
		}
	}
	if d := str(r.Values, "definition"); d != "" {
		ts.def, err = r.Parsed.TimeDefinition("definition", d)
		ts.hasDef = true
		logUnparsed(resource.TimeDefinition, r, err)
	}
	return ts
}

// setTimeSet applies one written time set (renamed, maybe), so that a
// write parses only its own set, not every set of the table again.
func (v *View) setTimeSet(r resource.Record) {
	ts := timeSetOf(r)
	v.mu.Lock()
	defer v.mu.Unlock()
	for name, old := range v.timeSets {
		if o, _ := old.(*timeSet); o != nil && o.guid == r.GUID {
			delete(v.timeSets, name)
		}
	}
	v.timeSets[str(r.Values, "name")] = ts
}

// Size reports how many accounts, numbers and rules the view holds.
func (v *View) Size() (accounts, numbers, rules int) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, a := range v.accounts {
		rules += len(a.Routes) + len(a.CallRules) + len(a.Forks)
	}
	return len(v.accounts), len(v.numbers), rules
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func str(v map[string]any, k string) string { s, _ := v[k].(string); return s }
func boolean(v map[string]any, k string) bool {
	b, _ := v[k].(bool)
	return b
}
func integer(v map[string]any, k string) int { n, _ := v[k].(int64); return int(n) }

// recordsOnly reports a callrule that records and does nothing else: no
// match condition and no destination. It records the calls its account
// answers (not the account's own outgoing calls).
func (r *CallRule) recordsOnly() bool {
	return r.RecordEmail != "" && r.Username == "" && !r.HasDest && !r.EarlyRule && r.PrefixRaw == "" && r.Prefix == "" && r.Location == ""
}
