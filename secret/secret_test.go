package secret_test

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"xc5/secret"
)

// loadAlloc is what the test binary had allocated when the tests began:
// everything package initialisation did.
var loadAlloc uint64

func TestMain(m *testing.M) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	loadAlloc = ms.TotalAlloc
	os.Exit(m.Run())
}

// TestNoHashAtLoad: loading the package runs no argon2 hash (19 MiB and
// tens of milliseconds for every binary and test that links it); the
// dummy hash that unknown accounts are checked against is made on first
// use, and an empty hash still never verifies.
func TestNoHashAtLoad(t *testing.T) {
	if loadAlloc >= 19<<20 {
		t.Fatalf("package load allocated %d MiB: an argon2 hash ran at init", loadAlloc>>20)
	}
	if secret.Verify("", "xc5-no-such-account") {
		t.Fatal("an empty hash verifies the dummy's password")
	}
}

func TestHashVerify(t *testing.T) {
	h := secret.Hash("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id in PHC form", h)
	}
	if !secret.Verify(h, "correct horse") {
		t.Error("the right password does not verify")
	}
	for _, wrong := range []string{"", "correct horse ", "Correct horse"} {
		if secret.Verify(h, wrong) {
			t.Errorf("%q verifies", wrong)
		}
	}
	if secret.Hash("correct horse") == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "!", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", "$bcrypt$x", "$argon2id$v=19$m=19456,t=2,p=1$!!$!!"} {
		if secret.Verify(bad, "x") {
			t.Errorf("malformed hash %q verifies", bad)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		p := secret.Generate()
		if len(p) != 20 || strings.ContainsAny(p, "0O1lI") || seen[p] {
			t.Fatalf("generated %q", p)
		}
		seen[p] = true
	}
}

func TestDigestHA1(t *testing.T) {
	// RFC 2617's example: Mufasa, testrealm@host.com, Circle Of Life.
	if got := secret.DigestHA1("Mufasa", "testrealm@host.com", "Circle Of Life").MD5; got != "939e7578ed9e3c518a452acee763bce9" {
		t.Errorf("MD5 HA1 = %s", got)
	}
	if got := secret.DigestHA1("a", "b", "c").SHA256; len(got) != 64 {
		t.Errorf("SHA-256 HA1 = %s", got)
	}
	for user, realm := range map[string]string{"reception@acmebrick.x.co.nz": "acmebrick.x.co.nz", "acmebrick.x.co.nz": "acmebrick.x.co.nz", "admin": "admin"} {
		if got := secret.Realm(user); got != realm {
			t.Errorf("Realm(%s) = %s, want %s", user, got, realm)
		}
	}
}
