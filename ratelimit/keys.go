package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
)

// MaxUsername is the longest username counted under its own key, in
// bytes (a domain name's length, as account usernames are); longer ones
// can name no account and all count under one key, so that they cost
// the table no more than any other.
const MaxUsername = 255

// longUser is the key of every username longer than MaxUsername; "@" and
// spaces cannot start a username, so it names no account.
const longUser = "@ too long"

// maxAddr bounds an address that is not an IP (a Unix socket path, say).
const maxAddr = 64

// AddrKey is the key an address is counted under: an IPv4 address as is
// (also when written IPv4-mapped, ::ffff:192.0.2.1), an IPv6 address by
// its /64, because a single host is given a whole /64 and may pick any
// address in it; anything else as is, hashed when long.
func AddrKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		if len(addr) > maxAddr {
			sum := sha256.Sum256([]byte(addr))
			return "#" + hex.EncodeToString(sum[:16])
		}
		return addr
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// UserKey is the key a username is counted under: itself, or one shared
// key for every username longer than MaxUsername.
func UserKey(user string) string {
	if len(user) > MaxUsername {
		return longUser
	}
	return user
}
