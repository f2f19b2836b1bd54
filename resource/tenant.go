package resource

import (
	"strconv"
	"strings"

	"xc5"
	"xc5/dialplan"
)

// The rules that keep a partitioned (api_access=user) caller inside its
// company; docs/api.md "What a partitioned user may do" lists them.

// NumberLimit is the accountresource a provider sets on an account (a
// company, or a reseller above it) to bound the numbers its subtree may
// take from _unassigned.pool through user-level access.
const NumberLimit = "number_limit"

// PromptLimit is the accountresource a provider sets on an account to
// bound the prompts its subtree may create through user-level access
// (each up to MaxAudio of stored audio). Without one on the way, prompts
// are not bounded.
const PromptLimit = "prompt_limit"

// providerResources are accountresources only system-level access writes.
var providerResources = map[string]bool{NumberLimit: true, PromptLimit: true}

// ProviderResource reports whether an accountresource name is set by the
// provider only (read-only below system level).
func ProviderResource(name string) bool { return providerResources[name] }

// lockedAccountResource refuses user-level changes (update, rename,
// delete) of the accountresources a provider sets, such as number_limit,
// and the removal of an api_access=system grant.
func lockedAccountResource(cur map[string]any, deleting bool) error {
	name, _ := cur["name"].(string)
	if deleting && name == "api_access" && cur["value"] == AccessSystem {
		return xc5.Errorf(xc5.EFORBIDDEN, "user-level API access cannot remove api_access=system")
	}
	if ProviderResource(name) {
		return xc5.Errorf(xc5.EFORBIDDEN, "%s is set by the provider: it is read-only below system-level API access", name)
	}
	return nil
}

// CheckEmergencyRule refuses, below system level, a callrule on the
// Emergency location (creating, changing or deleting one): such a rule is
// the only one that decides an emergency call, so a tenant could
// otherwise block 111 or send it to its own phone. Providers write them
// (a lab line).
func CheckEmergencyRule(location string) error {
	if location == EmergencyLocation {
		return xc5.Errorf(xc5.EFORBIDDEN, "location: callrules naming %s are written with system-level API access only", location)
	}
	return nil
}

// PartitionDomain is the domain under which a partition's accounts are
// named: the root's username when it is a domain (acmebrick.x.co.nz), and
// local.domain for a local@domain root (kid@part.test → kid.part.test), the
// convention of the document's sub-domains for groups below a user.
func PartitionDomain(root string) string {
	if local, domain, ok := strings.Cut(root, "@"); ok {
		return local + "." + domain
	}
	return root
}

// InDomain reports whether a username is named under domain: local@domain,
// a sub-domain of it, or local@ a sub-domain of it.
func InDomain(username, domain string) bool {
	d := username[strings.LastIndexByte(username, '@')+1:]
	if strings.Contains(username, "@") && d == domain {
		return true
	}
	return strings.HasSuffix(d, "."+domain)
}

// CheckPartitionUsername refuses, below a partition, a username outside
// the partition's domain (403 naming the field).
func CheckPartitionUsername(username, root string) error {
	d := PartitionDomain(root)
	if !InDomain(username, d) {
		return xc5.Errorf(xc5.EFORBIDDEN, "username %s is outside your partition's domain: name accounts local@%s or under a sub-domain of %s", username, d, d)
	}
	return nil
}

// CheckProviderFields refuses user-level changes of the fields a provider
// sets on accounts: concurrent_limit and country_code everywhere (the
// country code decides which numbers are international, so the
// provider's International blocks depend on it), and on the partition root
// (root true) also its username and enabled. cur holds the current values
// (nil for a new account, compared with the defaults); sending the current
// value back is accepted, so that GET-modify-PUT round trips work.
func CheckProviderFields(cur map[string]any, in Input, root bool) error {
	fields := []string{"concurrent_limit", "country_code"}
	if root {
		fields = append(fields, "username", "enabled")
	}
	for _, name := range fields {
		v, sent := in[name]
		if !sent {
			continue
		}
		var was any
		if cur != nil {
			was = cur[name]
		} else if f := Account.Field(name); f != nil {
			was = f.DefaultOf()
		}
		if v != was {
			what := "is set by the provider"
			if root && (name == "username" || name == "enabled") {
				what = "of your partition's root account is set by the provider"
			}
			return xc5.Errorf(xc5.EFORBIDDEN, "%s %s: it is read-only below system-level API access", name, what)
		}
	}
	return nil
}

// checkLimitValue validates a number_limit or prompt_limit value: a count.
func checkLimitValue(name, v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 1000000 || strconv.Itoa(n) != v {
		return invalid("%s must be a count from 0 to 1000000, not %q", name, v)
	}
	return nil
}

// Names are what a destination or digit_map field value names: account
// usernames, numbers and conference rooms.
type Names struct {
	Accounts, Numbers, Rooms []string
}

// Named returns everything a field value names, parsing it once, for a
// caller that checks several kinds of reference (a store's reference
// checks). A destination names its username, number or room; a digit_map
// those of every action that is not a menu jump. A fork destination or
// cfna_dest that is no destination may still be any username ("admin").
func Named(ref Ref, v string) Names { return Parsed(nil).Named(ref, "", v) }

// Named is Named for the value v of field, taking its parsed form from p
// when p holds it (a write's, see parsed.go) instead of parsing v again.
func (p Parsed) Named(ref Ref, field, v string) Names {
	var n Names
	add := func(d dialplan.Destination) {
		switch d.Kind {
		case dialplan.KindUsername:
			n.Accounts = append(n.Accounts, d.Value)
		case dialplan.KindNumber:
			n.Numbers = append(n.Numbers, d.Value)
		case dialplan.KindConference:
			n.Rooms = append(n.Rooms, d.Value)
		}
	}
	switch ref {
	case RefDestination:
		if d, err := p.Destination(field, v); err == nil {
			add(d)
		} else if u, err := NormalizeUsername(v); err == nil && !e164RE.MatchString(u) {
			n.Accounts = append(n.Accounts, u)
		}
		if e164RE.MatchString(v) {
			n.Numbers = []string{v} // a cfa or fork destination is a bare E.164 number
		}
	case RefDigitMap:
		if m, err := p.DigitMap(field, v); err == nil {
			for _, e := range m.Entries {
				if !e.Action.IsMenuJump() {
					add(e.Action.Destination)
				}
			}
		}
	}
	return n
}

// NamedAccounts returns the account usernames a field value names (see
// Named).
func NamedAccounts(ref Ref, v string) []string { return Named(ref, v).Accounts }

// NamedNumbers returns the numbers a field value names (see Named).
func NamedNumbers(ref Ref, v string) []string { return Named(ref, v).Numbers }

// NamedRooms returns the conference rooms a field value names (see Named).
func NamedRooms(ref Ref, v string) []string { return Named(ref, v).Rooms }
