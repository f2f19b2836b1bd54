// Package secret hashes and checks account passwords and derives the SIP
// digest secrets. Passwords are kept only as a slow, salted argon2id hash
// (for the API) and as digest HA1 values (for SIP, which needs them); the
// plaintext is never stored.
package secret

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's 19 MiB, 2 passes, 1 lane profile. Hashing
// costs tens of milliseconds, which is why the API caches verified
// credentials instead of hashing on every request.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// slots bounds concurrent hashes so that a burst of logins or account
// creations cannot allocate 19 MiB per request without limit.
var slots = make(chan struct{}, runtime.NumCPU())

// Hash returns an encoded argon2id hash of password in the PHC string
// format, so that parameters can change later without a migration.
func Hash(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	slots <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	<-slots
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// dummy is verified against when an account does not exist, so that a
// wrong username costs as much time as a wrong password. It is made on
// first use, not at package load: every binary and test that links this
// package would otherwise pay an argon2 hash (19 MiB) on start.
var dummy = sync.OnceValue(func() string { return Hash("xc5-no-such-account") })

// Verify reports whether password matches encoded. An empty or malformed
// hash never matches.
func Verify(encoded, password string) bool {
	if encoded == "" {
		encoded = dummy()
		verify(encoded, password)
		return false
	}
	return verify(encoded, password)
}

func verify(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || m > 1<<20 || t > 16 || p == 0 {
		return false
	}
	slots <- struct{}{}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	<-slots
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Generate returns a strong random password: 20 characters from an
// alphabet without look-alikes, about 115 bits of entropy, and easy to
// type into a phone's configuration screen.
func Generate() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// HA1 is the digest secret H(username:realm:password) for both RFC 8760
// algorithms; a SIP registrar needs nothing more to check a response.
type HA1 struct {
	MD5    string
	SHA256 string
}

// DigestHA1 computes the HA1 values of an account's SIP credentials.
func DigestHA1(username, realm, password string) HA1 {
	in := username + ":" + realm + ":" + password
	m := md5.Sum([]byte(in))
	s := sha256.Sum256([]byte(in))
	return HA1{MD5: hex.EncodeToString(m[:]), SHA256: hex.EncodeToString(s[:])}
}

// Realm is the SIP realm of an account: the domain after "@", or the
// account's own name for a company account such as acmebrick.x.co.nz.
func Realm(username string) string {
	if i := strings.LastIndexByte(username, '@'); i >= 0 {
		return username[i+1:]
	}
	return username
}
