package main

import "testing"

// TestAdvertisedFlag: --sip-advertise and --sip-tls-advertise take
// HOST[:PORT]; a bad value is refused with the reason.
func TestAdvertisedFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		port int
		bad  bool
	}{
		{"", "", 0, false},
		{"203.0.113.7", "203.0.113.7", 0, false},
		{"203.0.113.7:5080", "203.0.113.7", 5080, false},
		{"pbx.example.net:5061", "pbx.example.net", 5061, false},
		{"2001:db8::7", "2001:db8::7", 0, false},
		{"[2001:db8::7]", "2001:db8::7", 0, false},
		{"[2001:db8::7]:5080", "2001:db8::7", 5080, false},
		{"pbx.example.net:sip", "", 0, true},
		{"pbx.example.net:70000", "", 0, true},
		{":5060", "", 0, true},
		{"sip:pbx.example.net", "", 0, true},
	} {
		host, port, err := advertised(tc.in)
		if (err != nil) != tc.bad || host != tc.host || port != tc.port {
			t.Errorf("advertised(%q) = %q, %d, %v", tc.in, host, port, err)
		}
	}
}
