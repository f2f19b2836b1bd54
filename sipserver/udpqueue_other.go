//go:build !linux

package sipserver

import (
	"net"
	"time"
)

// enableRecvTime: receive timestamps are read on Linux only.
func enableRecvTime(u *net.UDPConn) bool { return false }

func recvTime(oob []byte) (time.Time, bool) { return time.Time{}, false }
