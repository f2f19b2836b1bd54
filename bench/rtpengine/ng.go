package main

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"xc5/media/relay"
)

// The ng protocol: a cookie, a space and a bencoded dictionary, over UDP.

const callID = "xc5-rtpbench"

func sdp(a netip.AddrPort) string {
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %v\r\ns=-\r\nc=IN IP4 %v\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", a.Addr(), a.Addr(), a.Port())
}

// setupRTPEngine offers A's SDP, answers with B's, and returns the
// address rtpengine gave A to send to.
func setupRTPEngine(ng string, a, b netip.AddrPort) netip.AddrPort {
	offer := ngCall(ng, map[string]any{"command": "offer", "call-id": callID, "from-tag": "a", "sdp": sdp(a), "replace": []string{"origin"}})
	if _, err := relay.SDPAddr([]byte(offer["sdp"].(string))); err != nil {
		log.Fatalf("offer: %v", err)
	}
	answer := ngCall(ng, map[string]any{"command": "answer", "call-id": callID, "from-tag": "a", "to-tag": "b", "sdp": sdp(b), "replace": []string{"origin"}})
	toA, err := relay.SDPAddr([]byte(answer["sdp"].(string)))
	if err != nil {
		log.Fatalf("answer: %v", err)
	}
	return toA
}

func deleteRTPEngine(ng string) {
	ngCall(ng, map[string]any{"command": "delete", "call-id": callID, "from-tag": "a"})
}

func ngCall(ng string, msg map[string]any) map[string]any {
	c, err := net.Dial("udp", ng)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	cookie := strconv.FormatInt(time.Now().UnixNano(), 36)
	var req bytes.Buffer
	req.WriteString(cookie + " ")
	bencode(&req, msg)
	if _, err := c.Write(req.Bytes()); err != nil {
		log.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		log.Fatalf("ng %v: %v", msg["command"], err)
	}
	body, ok := bytes.CutPrefix(buf[:n], []byte(cookie+" "))
	if !ok {
		log.Fatalf("ng: reply without our cookie: %q", buf[:n])
	}
	v, _, err := bdecode(body)
	d, isDict := v.(map[string]any)
	if err != nil || !isDict {
		log.Fatalf("ng: bad reply %q: %v", body, err)
	}
	if d["result"] != "ok" {
		log.Fatalf("ng %v: %v", msg["command"], d)
	}
	return d
}

func bencode(w *bytes.Buffer, v any) {
	switch v := v.(type) {
	case string:
		fmt.Fprintf(w, "%d:%s", len(v), v)
	case int:
		fmt.Fprintf(w, "i%de", v)
	case []string:
		w.WriteByte('l')
		for _, s := range v {
			bencode(w, s)
		}
		w.WriteByte('e')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.WriteByte('d')
		for _, k := range keys {
			bencode(w, k)
			bencode(w, v[k])
		}
		w.WriteByte('e')
	}
}

func bdecode(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("bencode: short")
	}
	switch c := b[0]; {
	case c == 'i':
		end := bytes.IndexByte(b, 'e')
		if end < 0 {
			return nil, nil, fmt.Errorf("bencode: open integer")
		}
		n, err := strconv.ParseInt(string(b[1:end]), 10, 64)
		return n, b[end+1:], err
	case c == 'l' || c == 'd':
		var list []any
		rest := b[1:]
		for len(rest) > 0 && rest[0] != 'e' {
			var v any
			var err error
			if v, rest, err = bdecode(rest); err != nil {
				return nil, nil, err
			}
			list = append(list, v)
		}
		if len(rest) == 0 {
			return nil, nil, fmt.Errorf("bencode: open list")
		}
		if c == 'l' {
			return list, rest[1:], nil
		}
		d := map[string]any{}
		for i := 0; i+1 < len(list); i += 2 {
			k, _ := list[i].(string)
			d[k] = list[i+1]
		}
		return d, rest[1:], nil
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(b, ':')
		if colon < 0 {
			return nil, nil, fmt.Errorf("bencode: bad string")
		}
		n, err := strconv.Atoi(string(b[:colon]))
		if err != nil || n < 0 || colon+1+n > len(b) {
			return nil, nil, fmt.Errorf("bencode: bad string length")
		}
		return string(b[colon+1 : colon+1+n]), b[colon+1+n:], nil
	}
	return nil, nil, fmt.Errorf("bencode: unexpected %q", b[0])
}
