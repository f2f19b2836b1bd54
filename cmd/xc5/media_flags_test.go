package main

import (
	"reflect"
	"testing"
)

// TestMediaFlagParsers: the lists serve's media flags take.
func TestMediaFlagParsers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"6499650085", []string{"6499650085"}, true},
		{"+6499650085, 61299998888", []string{"6499650085", "61299998888"}, true},
		{"099650085", nil, false},
		{"64-9965", nil, false},
		{"123", nil, false},
	} {
		got, err := e164List(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("e164List(%q) = %v, %v", tc.in, got, err)
		}
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"127.0.0.0/8,::1/128", true},
		{"10.1.2.3", true},
		{"", false},
		{"10.1.2.3/99", false},
		{"host.example", false},
	} {
		if _, err := prefixes(tc.in); (err == nil) != tc.ok {
			t.Errorf("prefixes(%q): %v", tc.in, err)
		}
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"10000-20000", true},
		{"20000-10000", false},
		{"80-90", false},
		{"10000", false},
	} {
		if _, _, err := portRange(tc.in); (err == nil) != tc.ok {
			t.Errorf("portRange(%q): %v", tc.in, err)
		}
	}
}
