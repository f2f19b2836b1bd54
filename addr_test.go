package xc5

import (
	"net/netip"
	"testing"
)

// TestPrivatePublicRefusesTranslatedPrivate: the dial check refuses
// non-public addresses, but takes addresses that embed a private or
// loopback IPv4 address in an IPv6 translation prefix for public. On an
// IPv6-only node behind NAT64 (the well-known prefix 64:ff9b::/96, RFC
// 6052), http://[64:ff9b::a9fe:a9fe]/ is the cloud metadata service
// 169.254.169.254 and http://[64:ff9b::a00:1]/ is 10.0.0.1; 6to4
// (2002::/16) embeds one too. The comment of public also promises the
// documentation ranges are refused; they are not.
func TestPrivateAddrRefusesTranslatedPrivate(t *testing.T) {
	for _, a := range []string{
		"64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
		"64:ff9b::a00:1",     // NAT64 of 10.0.0.1
		"64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
		"2002:a9fe:a9fe::1",  // 6to4 of 169.254.169.254
		"2002:7f00:1::1",     // 6to4 of 127.0.0.1
		"198.51.100.7",       // TEST-NET-2, "documentation ranges" per the comment
		"203.0.113.7",        // TEST-NET-3
		"2001:db8::1",        // IPv6 documentation
		"240.0.0.1",          // reserved (class E)
	} {
		if PublicAddr(netip.MustParseAddr(a)) {
			t.Errorf("PublicAddr(%s) = true: a webhook URL http://[%s]/ is dialled", a, a)
		}
	}
	// What must stay public.
	for _, a := range []string{"8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"} {
		if !PublicAddr(netip.MustParseAddr(a)) {
			t.Errorf("PublicAddr(%s) = false", a)
		}
	}
}

// TestPrivateLocalURL: the URLs the API refuses at write time without
// --webhook-private, and the ones it leaves to the dial-time check.
func TestPrivateLocalURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://127.0.0.1:8080/x":        true,
		"http://[::1]/":                  true,
		"https://localhost/":             true,
		"http://api.localhost./":         true,
		"http://10.1.2.3/":               true,
		"http://169.254.169.254/latest/": true,
		"http://[64:ff9b::a00:1]/":       true,
		"https://hooks.example/x":        false,
		"https://8.8.8.8/":               false,
	} {
		if got := LocalURL(raw); got != want {
			t.Errorf("LocalURL(%s) = %v, want %v", raw, got, want)
		}
	}
}
