package xc5

// Which addresses a webhook may reach: a company's webhook must not make
// the server POST into the provider's own network. The sender checks the
// address it connects to; the API refuses a URL naming one at write time.

import (
	"net/netip"
	"net/url"
	"strings"
)

// PublicAddr reports whether a is a global unicast address outside the
// private, shared (CGNAT), reserved and documentation ranges. An IPv6
// address that embeds an IPv4 one for translation (NAT64 64:ff9b::/96,
// 6to4 2002::/16) is judged by the IPv4 address it reaches.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if v4, ok := embeddedV4(a); ok {
		return PublicAddr(v4)
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// embeddedV4 is the IPv4 address a NAT64 (RFC 6052 well-known prefix) or
// 6to4 (RFC 3056) address leads to.
func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"), netip.MustParsePrefix("2001:db8::/32"),
}

// LocalURL reports whether the http(s) URL raw names a host that is not
// public by itself: an address PublicAddr refuses, or localhost. A DNS
// name is judged only when connected to (it may resolve anywhere).
func LocalURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && !PublicAddr(a.Unmap())
}
