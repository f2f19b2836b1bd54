package portal

import (
	"crypto/subtle"
	"strconv"
)

func subtleEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func itoa(n int) string { return strconv.Itoa(n) }
