package relay

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The SDP helpers look only at what anchoring needs (RFC 4566 / 8866):
// the connection address (session level, overridden at media level) and
// the first audio m= line. They never fail on what they do not use.

// sdpLine is one line of an SDP body: its text without the line ending,
// the ending itself ("\r\n", "\n" or ""), and where it is.
type sdpLine struct {
	text, eol string
	section   int // -1: session level; 0: the first audio m= section; 1: any other media section
}

// sdpLines splits body into lines and marks which section each is in. The
// first audio m= line itself is in section 0.
func sdpLines(body []byte) []sdpLine {
	var lines []sdpLine
	section, audioSeen := -1, false
	rest := string(body)
	for len(rest) > 0 {
		line, eol := rest, ""
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, eol, rest = rest[:i], "\n", rest[i+1:]
		} else {
			rest = ""
		}
		if strings.HasSuffix(line, "\r") {
			line, eol = line[:len(line)-1], "\r"+eol
		}
		if strings.HasPrefix(line, "m=") {
			section = 1
			if !audioSeen && isAudio(line) {
				section, audioSeen = 0, true
			}
		}
		lines = append(lines, sdpLine{line, eol, section})
	}
	return lines
}

func isAudio(m string) bool {
	f := strings.Fields(m)
	return len(f) >= 2 && f[0] == "m=audio"
}

// ErrNoAudio is returned (wrapped) when an SDP body has no usable audio
// stream.
var ErrNoAudio = errors.New("sdp: no audio stream")

// SDPAddr returns where the body's party receives audio: the connection
// address of the first audio m= line (its own c= or the session's) and
// that line's port.
func SDPAddr(body []byte) (netip.AddrPort, error) {
	var session, media, mline string
	for _, l := range sdpLines(body) {
		switch {
		case l.section == -1 && strings.HasPrefix(l.text, "c=") && session == "":
			session = l.text
		case l.section == 0 && strings.HasPrefix(l.text, "m="):
			mline = l.text
		case l.section == 0 && strings.HasPrefix(l.text, "c=") && media == "":
			media = l.text
		}
	}
	if mline == "" {
		return netip.AddrPort{}, fmt.Errorf("%w: no m=audio line", ErrNoAudio)
	}
	c := media
	if c == "" {
		c = session
	}
	if c == "" {
		return netip.AddrPort{}, errors.New("sdp: no c= line for the audio stream")
	}
	addr, err := connAddr(c)
	if err != nil {
		return netip.AddrPort{}, err
	}
	f := strings.Fields(mline)
	p, _, _ := strings.Cut(f[1], "/")
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("sdp: bad audio port %q", f[1])
	}
	if port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: the audio stream is rejected (port 0)", ErrNoAudio)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// connAddr parses "c=IN IP4 192.0.2.1[/ttl[/n]]" (or IP6).
func connAddr(c string) (netip.Addr, error) {
	f := strings.Fields(strings.TrimPrefix(c, "c="))
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return netip.Addr{}, fmt.Errorf("sdp: bad connection line %q", c)
	}
	a, _, _ := strings.Cut(f[2], "/")
	addr, err := netip.ParseAddr(a)
	if err != nil || addr.Zone() != "" || (f[1] == "IP4") != addr.Is4() {
		return netip.Addr{}, fmt.Errorf("sdp: bad connection address %q", f[2])
	}
	return addr, nil
}

// RewriteSDP returns body with the relay's address in place of the
// party's: the session-level c= and the first audio section's c= lines
// say local's address, its m= line local's port, and its a=rtcp lines the
// port above. Every other byte is kept, so what the parties negotiated
// (codecs, ptime, direction) passes through untouched. Other media
// sections (video) are not anchored and keep their own c= lines; if they
// relied on the session-level one they now point at the relay, which
// drops what it is sent there. A body without an audio m= line comes back
// unchanged.
func RewriteSDP(body []byte, local netip.AddrPort) []byte {
	lines := sdpLines(body)
	audio := false
	for _, l := range lines {
		audio = audio || l.section == 0
	}
	if !audio {
		return append([]byte(nil), body...)
	}
	ip := "IP4"
	if local.Addr().Is6() && !local.Addr().Is4In6() {
		ip = "IP6"
	}
	addr := local.Addr().Unmap().String()
	conn := "c=IN " + ip + " " + addr
	out := make([]byte, 0, len(body)+64)
	for _, l := range lines {
		text := l.text
		switch {
		case l.section <= 0 && strings.HasPrefix(text, "c="):
			text = conn
		case l.section == 0 && strings.HasPrefix(text, "m="):
			f := strings.Fields(text)
			f[1] = strconv.Itoa(int(local.Port()))
			text = strings.Join(f, " ")
		case l.section == 0 && strings.HasPrefix(text, "a=rtcp:"):
			text = "a=rtcp:" + strconv.Itoa(int(local.Port())+1) + " IN " + ip + " " + addr
		}
		out = append(out, text...)
		out = append(out, l.eol...)
	}
	return out
}

// Codec is one payload type of an audio m= line.
type Codec struct {
	PT   int
	Name string // encoding name as in a=rtpmap ("PCMU", "telephone-event"), or the static one
	Rate int    // clock rate in Hz
}

// static names the static payload types of RFC 3551 that phones offer
// without a=rtpmap.
var static = map[int]Codec{
	0: {0, "PCMU", 8000}, 3: {3, "GSM", 8000}, 4: {4, "G723", 8000},
	8: {8, "PCMA", 8000}, 9: {9, "G722", 8000}, 18: {18, "G729", 8000},
}

// SDPCodecs lists the payload types of the first audio m= line in its
// order, named by the section's a=rtpmap lines (or RFC 3551 for static
// types). A type with neither has an empty Name.
func SDPCodecs(body []byte) ([]Codec, error) {
	var codecs []Codec
	index := map[int]int{}
	found := false
	for _, l := range sdpLines(body) {
		if l.section != 0 {
			continue
		}
		if strings.HasPrefix(l.text, "m=") {
			found = true
			f := strings.Fields(l.text)
			for _, s := range f[min(3, len(f)):] {
				pt, err := strconv.Atoi(s)
				if err != nil || pt < 0 || pt > 127 {
					continue
				}
				c, ok := static[pt]
				if !ok {
					c = Codec{PT: pt}
				}
				index[pt] = len(codecs)
				codecs = append(codecs, c)
			}
			continue
		}
		if v, ok := strings.CutPrefix(l.text, "a=rtpmap:"); ok {
			ptS, enc, _ := strings.Cut(v, " ")
			pt, err := strconv.Atoi(ptS)
			i, listed := index[pt]
			if err != nil || !listed {
				continue
			}
			name, rest, _ := strings.Cut(strings.TrimSpace(enc), "/")
			r, _, _ := strings.Cut(rest, "/")
			rate, _ := strconv.Atoi(r)
			codecs[i].Name, codecs[i].Rate = name, rate
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: no m=audio line", ErrNoAudio)
	}
	return codecs, nil
}

// PT returns the payload type of the codec named name (case-insensitive),
// or -1: how a caller finds telephone-event's type.
func PT(codecs []Codec, name string) int {
	for _, c := range codecs {
		if strings.EqualFold(c.Name, name) {
			return c.PT
		}
	}
	return -1
}
