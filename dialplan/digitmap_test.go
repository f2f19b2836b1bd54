package dialplan_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"xc5/dialplan"
)

func mustDest(t testing.TB, s string) dialplan.Destination {
	t.Helper()
	d, err := dialplan.ParseDestination(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseDigitMap(t *testing.T) {
	jump := func(n int) dialplan.Action { return dialplan.Action{MenuLevel: n} }
	dest := func(s string) dialplan.Action { return dialplan.Action{Destination: mustDest(t, s)} }
	tests := []struct {
		in   string
		want []dialplan.DigitMapEntry
		str  string // canonical; "" = same as in
	}{
		{"1=#3,5=#2,T=#3", []dialplan.DigitMapEntry{{"1", jump(3)}, {"5", jump(2)}, {"T", jump(3)}}, ""},
		{"5666=conference:6499290085", []dialplan.DigitMapEntry{{"5666", dest("conference:6499290085")}}, ""},
		{" 1 = #3 , 0=:600,\t*=*%", []dialplan.DigitMapEntry{{"1", jump(3)}, {"0", dest(":600")}, {"*", dest("*%")}}, "1=#3,0=:600,*=*%"},
		{"#=#12", []dialplan.DigitMapEntry{{"#", jump(12)}}, ""},
		{"9=#%", []dialplan.DigitMapEntry{{"9", dest("#%")}}, ""},
		{"2=drop:404:destination blocked,3=email:a=b@x.co.nz", []dialplan.DigitMapEntry{
			{"2", dest("drop:404:destination blocked")}, {"3", dest("email:a=b@x.co.nz")}}, ""},
		{"", nil, ""},
		{"  ", nil, ""},
	}
	for _, tt := range tests {
		m, err := dialplan.ParseDigitMap(tt.in)
		if err != nil {
			t.Errorf("ParseDigitMap(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(m.Entries, tt.want) {
			t.Errorf("ParseDigitMap(%q) = %+v, want %+v", tt.in, m.Entries, tt.want)
		}
		str := tt.str
		if str == "" {
			str = strings.TrimSpace(tt.in)
		}
		if m.String() != str {
			t.Errorf("ParseDigitMap(%q).String() = %q, want %q", tt.in, m.String(), str)
		}
	}
}

func TestParseDigitMapErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"1=#", `menu level missing after "#"`},
		{"=#2", `keys missing before "="`},
		{"1=#3,1=#2", `key "1" is already mapped`},
		{"T=#1,T=:600", `key "T" is already mapped`},
		{"1=#3,,5=#2", "entry 2 (\"\"): empty entry"},
		{"1=#3,", "entry 2"},
		{",1=#3", "entry 1"},
		{"1#3", "want KEYS=ACTION"},
		{"1=", "action missing"},
		{"a=#1", "must be DTMF digits"},
		{"t=#1", "must be DTMF digits"},
		{"1T=#1", "must be DTMF digits"},
		{"1 2=#1", "must be DTMF digits"},
		{"1=#0", "positive number"},
		{"1=#01", "positive number"},
		{"1=#-1", "not a number"},
		{"1=#x", "not a number"},
		{"1=#1234567890", "too large"},
		{"1=foo:bar", `destination "foo:bar": unknown scheme "foo"`},
		{"1=drop:200", "not a SIP failure code"},
	}
	for _, tt := range tests {
		_, err := dialplan.ParseDigitMap(tt.in)
		if err == nil {
			t.Errorf("ParseDigitMap(%q): no error, want %q", tt.in, tt.msg)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseDigitMap(%q) error %q, want it to contain %q", tt.in, err, tt.msg)
		}
		var se *dialplan.SyntaxError
		if !errors.As(err, &se) || se.Field != "digit_map" {
			t.Errorf("ParseDigitMap(%q) error %#v is not a digit_map SyntaxError", tt.in, err)
		}
	}
}

func TestDigitMapLookup(t *testing.T) {
	m, err := dialplan.ParseDigitMap("1=#3,12=:612,5666=conference:6499290085,*9=*%,T=#1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		digits   string
		found    bool
		action   string
		isPrefix bool
	}{
		{"", false, "", true},
		{"1", true, "#3", true},
		{"12", true, ":612", false},
		{"5", false, "", true},
		{"566", false, "", true},
		{"5666", true, "conference:6499290085", false},
		{"56666", false, "", false},
		{"*", false, "", true},
		{"*9", true, "*%", false},
		{"T", true, "#1", false},
		{"2", false, "", false},
	}
	for _, tt := range tests {
		a, ok := m.Lookup(tt.digits)
		if ok != tt.found || ok && a.String() != tt.action {
			t.Errorf("Lookup(%q) = %v, %v; want %q, %v", tt.digits, a, ok, tt.action, tt.found)
		}
		if got := m.IsPrefix(tt.digits); got != tt.isPrefix {
			t.Errorf("IsPrefix(%q) = %v, want %v", tt.digits, got, tt.isPrefix)
		}
	}
	if got := m.MaxKeyLen(); got != 4 {
		t.Errorf("MaxKeyLen() = %d, want 4", got)
	}
	if a, _ := m.Lookup("1"); !a.IsMenuJump() || a.MenuLevel != 3 {
		t.Errorf("Lookup(1) = %+v, want a jump to level 3", a)
	}
	if a, _ := m.Lookup("12"); a.IsMenuJump() || a.Destination.Kind != dialplan.KindExtension {
		t.Errorf("Lookup(12) = %+v, want extension", a)
	}

	only, _ := dialplan.ParseDigitMap("T=#2")
	if only.MaxKeyLen() != 0 || only.IsPrefix("") {
		t.Errorf("timeout-only map: MaxKeyLen %d, IsPrefix(\"\") %v; want 0, false", only.MaxKeyLen(), only.IsPrefix(""))
	}
	var empty dialplan.DigitMap
	if _, ok := empty.Lookup("1"); ok || empty.IsPrefix("") || empty.MaxKeyLen() != 0 || empty.String() != "" {
		t.Error("zero DigitMap should be empty")
	}
}

func FuzzParseDigitMap(f *testing.F) {
	for _, s := range []string{
		"1=#3,5=#2,T=#3", "5666=conference:6499290085", "1=#", "=#2", "1=#3,1=#2", "1=#3,,5=#2",
		"0=:600,*=*%,9=09%", "2=drop:404:destination blocked", "3=email:reception@acmebrick.x.co.nz",
		"4=reception@acmebrick.x.co.nz", "7=6499290088", "", " 1 = #3 ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := dialplan.ParseDigitMap(s)
		if err != nil {
			return
		}
		again, err := dialplan.ParseDigitMap(m.String())
		if err != nil {
			t.Fatalf("ParseDigitMap(%q).String() = %q does not parse: %v", s, m.String(), err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %q: %+v became %+v", s, m, again)
		}
		for _, e := range m.Entries {
			if a, ok := m.Lookup(e.Keys); !ok || a != e.Action {
				t.Fatalf("Lookup(%q) = %+v, %v; want %+v", e.Keys, a, ok, e.Action)
			}
			if e.Keys != dialplan.TimeoutKey && len(e.Keys) > m.MaxKeyLen() {
				t.Fatalf("key %q longer than MaxKeyLen %d", e.Keys, m.MaxKeyLen())
			}
		}
	})
}
