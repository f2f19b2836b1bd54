package sipserver

import (
	"reflect"
	"testing"

	"github.com/icholy/digest"
)

// sippAuthorization is the Authorization header sipp sends in the load
// tests' registrations.
const sippAuthorization = `Digest username="u1@seed-0.test",realm="seed-0.test",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:seed-0.test",nonce="AAAAAGkqzVdMQ7c8m8ABsNkF4nqZfSu0ZEk1uUcuXX-Hn0Y",response="0d3b4c8a0d3b4c8a0d3b4c8a0d3b4c8a",algorithm=MD5`

// TestParseCredentials: parseCredentials reads what digest.ParseCredentials
// reads, the same way; refuses what it refuses; and takes tabs, any case
// of the parameter names and token characters in unquoted values.
func TestParseCredentials(t *testing.T) {
	same := []string{
		sippAuthorization,
		`Digest username="reception@acmebrick.x.co.nz", realm="acmebrick.x.co.nz", nonce="n1", uri="sip:acmebrick.x.co.nz", response="abc", algorithm=SHA-256, cnonce="c", qop=auth, nc=0000000a`,
		`digest username="a\"b\\c", realm="r", nonce="", uri="sip:x", response="r", opaque="o", userhash=true`,
		`Digest username="é", realm="r"`,
		`Digest   username = "u" ,realm="r"  `,
		`Digest `,
		`Digest username=u1, realm=r-1`,
	}
	for _, h := range same {
		want, err := digest.ParseCredentials(h)
		if err != nil {
			t.Fatalf("%s: the library refuses it: %v", h, err)
		}
		got, err := parseCredentials(h)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", h, got, err, want)
		}
	}
	bad := []string{
		`Basic dXNlcjpwdw==`,
		`Digest username="u" realm="r"`,
		`Digest username`,
		`Digest username="u`,
		`Digest ="u"`,
		`Digest username="u", nc=zz`,
		`Digest username="u",, realm="r"`,
	}
	for _, h := range bad {
		if c, err := parseCredentials(h); err == nil {
			t.Errorf("%s: parsed as %+v, want an error", h, c)
		}
	}
	lenient := map[string]digest.Credentials{
		"Digest username=\"u\",\trealm=\"r\"":        {Username: "u", Realm: "r"},
		`Digest Username="u", QOP=auth, NC=00000002`: {Username: "u", QOP: "auth", Nc: 2},
		`Digest username="u", algorithm=MD5-sess.x`:  {Username: "u", Algorithm: "MD5-sess.x"},
	}
	for h, want := range lenient {
		if got, err := parseCredentials(h); err != nil || *got != want {
			t.Errorf("%s: got %+v, %v, want %+v", h, got, err, want)
		}
	}
}

// TestParseCredentialsAllocations: a registration's Authorization header
// is parsed with one allocation (the result), where the library's parser
// made dozens.
func TestParseCredentialsAllocations(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		if _, err := parseCredentials(sippAuthorization); err != nil {
			t.Fatal(err)
		}
	})
	if n > 1 {
		t.Errorf("%v allocations per parse, want 1", n)
	}
}
