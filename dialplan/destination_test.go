package dialplan_test

import (
	"errors"
	"strings"
	"testing"

	"xc5/dialplan"
)

func TestParseDestination(t *testing.T) {
	tests := []struct {
		in   string
		want dialplan.Destination
		str  string // canonical text; "" means same as in
	}{
		{"email:reception@acmebrick.x.co.nz", dialplan.Destination{Kind: dialplan.KindEmail, Value: "reception@acmebrick.x.co.nz"}, ""},
		{"EMAIL:First.Last+ivr@Example.co.nz", dialplan.Destination{Kind: dialplan.KindEmail, Value: "First.Last+ivr@Example.co.nz"}, "email:First.Last+ivr@Example.co.nz"},
		{"reception@acmebrick.x.co.nz", dialplan.Destination{Kind: dialplan.KindUsername, Value: "reception@acmebrick.x.co.nz"}, ""},
		{"Reception@AcmeBrick.x.co.nz", dialplan.Destination{Kind: dialplan.KindUsername, Value: "reception@acmebrick.x.co.nz"}, "reception@acmebrick.x.co.nz"},
		{"acmebrick.x.co.nz", dialplan.Destination{Kind: dialplan.KindUsername, Value: "acmebrick.x.co.nz"}, ""},
		{"sales_team-2+x@acme", dialplan.Destination{Kind: dialplan.KindUsername, Value: "sales_team-2+x@acme"}, ""},
		{"drop:404:destination blocked", dialplan.Destination{Kind: dialplan.KindDrop, Code: 404, Reason: "destination blocked"}, ""},
		{"drop:603", dialplan.Destination{Kind: dialplan.KindDrop, Code: 603}, ""},
		{"drop:486:", dialplan.Destination{Kind: dialplan.KindDrop, Code: 486}, "drop:486"},
		{"drop:480:try again: later", dialplan.Destination{Kind: dialplan.KindDrop, Code: 480, Reason: "try again: later"}, ""},
		{":600", dialplan.Destination{Kind: dialplan.KindExtension, Value: "600"}, ""},
		{":*98#", dialplan.Destination{Kind: dialplan.KindExtension, Value: "*98#"}, ""},
		{"*%", dialplan.Destination{Kind: dialplan.KindPattern, Value: "*%"}, ""},
		{"09%", dialplan.Destination{Kind: dialplan.KindPattern, Value: "09%"}, ""},
		{"%", dialplan.Destination{Kind: dialplan.KindPattern, Value: "%"}, ""},
		{"6499290088", dialplan.Destination{Kind: dialplan.KindNumber, Value: "6499290088"}, ""},
		{"  6499290088 ", dialplan.Destination{Kind: dialplan.KindNumber, Value: "6499290088"}, "6499290088"},
		{"123456789012345", dialplan.Destination{Kind: dialplan.KindNumber, Value: "123456789012345"}, ""},
		{"conference:6499290085", dialplan.Destination{Kind: dialplan.KindConference, Value: "6499290085"}, ""},
		{"conference:Board_Room.1-a", dialplan.Destination{Kind: dialplan.KindConference, Value: "Board_Room.1-a"}, ""},
	}
	for _, tt := range tests {
		got, err := dialplan.ParseDestination(tt.in)
		if err != nil {
			t.Errorf("ParseDestination(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDestination(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		str := tt.str
		if str == "" {
			str = tt.in
		}
		if got.String() != str {
			t.Errorf("ParseDestination(%q).String() = %q, want %q", tt.in, got.String(), str)
		}
	}
}

func TestParseDestinationErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", "empty destination"},
		{"   ", "empty destination"},
		{"foo:bar", `destination "foo:bar": unknown scheme "foo"`},
		{":", "extension missing"},
		{":60a", "may only contain digits"},
		{"email:", "needs an address"},
		{"email:nobody", "needs an address"},
		{"email:a@b", "has no dot"},
		{"email:a b@c.nz", "may not contain"},
		{"email:a@b..nz", "empty label"},
		{"drop:", "three-digit SIP status code"},
		{"drop:40:x", "three-digit SIP status code"},
		{"drop:200:OK", "not a SIP failure code"},
		{"drop:700", "not a SIP failure code"},
		{"drop:404:a,b", "may not contain ','"},
		{"drop:404:bell\a", "may not contain"},
		{"conference:", "room missing"},
		{"conference:a b", "may only contain"},
		{"*%%", "exactly one %"},
		{"9%a", "may only contain digits"},
		{"1234567890123456", "at most 15 digits"},
		{"+6499290088", "without the leading +"},
		{"foo", "not a number, extension, pattern or username"},
		{"1.2", "not a number, extension, pattern or username"},
		{"a..b", "empty label"},
		{"@acme.nz", "both sides of @"},
		{"a@b@c.nz", "may not contain '@'"},
		{"bob smith@acme.nz", "may not contain ' '"},
		{"bøb@acme.nz", "may not contain"},
		{"*98", "not a number"},
	}
	for _, tt := range tests {
		_, err := dialplan.ParseDestination(tt.in)
		if err == nil {
			t.Errorf("ParseDestination(%q): no error, want %q", tt.in, tt.msg)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseDestination(%q) error %q, want it to contain %q", tt.in, err, tt.msg)
		}
		var se *dialplan.SyntaxError
		if !errors.As(err, &se) || se.Field != "destination" || se.Input != tt.in {
			t.Errorf("ParseDestination(%q) error %#v is not a destination SyntaxError for the input", tt.in, err)
		}
	}
}

func TestDestinationExpand(t *testing.T) {
	tests := []struct{ dest, rest, want string }{
		{"*%", "123", "*123"},
		{"09%", "4567", "094567"},
		{"9%#", "12", "912#"},
		{"%", "021", "021"},
		{"*%", "", "*"},
		{"6499290088", "123", "6499290088"},
		{":600", "1", ":600"},
	}
	for _, tt := range tests {
		d, err := dialplan.ParseDestination(tt.dest)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Expand(tt.rest); got != tt.want {
			t.Errorf("%q.Expand(%q) = %q, want %q", tt.dest, tt.rest, got, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	if got := dialplan.KindConference.String(); got != "conference" {
		t.Errorf("KindConference.String() = %q", got)
	}
	if got := dialplan.Kind(99).String(); got != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
}

func FuzzParseDestination(f *testing.F) {
	for _, s := range []string{
		"email:reception@acmebrick.x.co.nz", "reception@acmebrick.x.co.nz", "acmebrick.x.co.nz",
		"drop:404:destination blocked", ":600", "*%", "09%", "6499290088", "conference:6499290085",
		"foo:bar", "drop:603", "%", "+64", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := dialplan.ParseDestination(s)
		if err != nil {
			if d != (dialplan.Destination{}) {
				t.Fatalf("ParseDestination(%q) returned %+v with error %v", s, d, err)
			}
			return
		}
		if d.Kind == dialplan.KindInvalid {
			t.Fatalf("ParseDestination(%q) returned KindInvalid without error", s)
		}
		again, err := dialplan.ParseDestination(d.String())
		if err != nil {
			t.Fatalf("ParseDestination(%q).String() = %q does not parse: %v", s, d.String(), err)
		}
		if again != d {
			t.Fatalf("round trip of %q: %+v became %+v", s, d, again)
		}
	})
}
