package sipserver

import (
	"net/netip"
	"strconv"
	"strings"

	"xc5/media/relay"
	"xc5/routing"
)

// Anchoring: a call whose media xc5 must carry (a recorded call, a call a
// media node answers, a phone behind NAT) has its RTP relayed through a
// relay session. Side 0 faces the caller, side 1 whatever answers: a
// phone, a carrier or a media node, one after another (a menu, then the
// phone it reaches). Each party is given xc5's address for its side in
// SDP, and the relay sends to where a party's packets come from
// (symmetric RTP), so a phone behind NAT hears and is heard.

// Anchor modes (Config.MediaAnchor).
const (
	AnchorAuto   = "auto"   // when recorded, answered by a media node, or a phone is behind NAT
	AnchorAlways = "always" // every call with SDP
	AnchorNever  = "never"  // only calls that a media node answers
)

// anchorFor reports whether a ring's legs should carry the call's media
// through xc5: always, or (auto) when an account it rings records the
// calls it answers, or the caller or a phone it rings is behind NAT.
func (c *call) anchorFor(r routing.Ring, legs []*leg) bool {
	if c.b.s.cfg.Relay == nil || len(c.req.Body()) == 0 {
		return false
	}
	switch c.b.s.cfg.MediaAnchor {
	case AnchorAlways:
		return true
	case AnchorNever:
		return false
	}
	anchor := c.callerNATed()
	for _, l := range legs {
		if l.acct != nil && len(routing.RecordsTo(l.acct)) > 0 {
			// The relay records G.711 only: the parties are offered no
			// other codec (G.722 phones fall back to it).
			c.mu.Lock()
			c.g711 = true
			c.mu.Unlock()
			anchor = true
		}
		if l.acct != nil && bindingNATed(l.binding.Contact, l.binding.Source) {
			anchor = true
		}
	}
	return anchor
}

// callerNATed reports a caller whose SDP names an address other than the
// one its INVITE came from: a phone behind NAT that does not know its
// public address. Carriers are trusted to send their media where they say.
func (c *call) callerNATed() bool {
	if c.who.trunk != nil {
		return false
	}
	sdp, err := relay.SDPAddr(c.req.Body())
	if err != nil {
		return false
	}
	src, err := netip.ParseAddrPort(c.req.Source())
	if err != nil {
		return false
	}
	return sdp.Addr().Unmap() != src.Addr().Unmap()
}

// bindingNATed reports a registration whose Contact names another host
// than the address the REGISTER came from (source "udp:1.2.3.4:5060").
func bindingNATed(contact, source string) bool {
	_, addr, ok := strings.Cut(source, ":")
	if !ok {
		return false
	}
	src, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	host := contact
	if i := strings.Index(host, "@"); i >= 0 {
		host = host[i+1:]
	} else if i := strings.Index(host, ":"); i >= 0 {
		host = host[i+1:]
	}
	host = strings.TrimLeft(host, "<")
	if i := strings.IndexAny(host, ":;>"); i >= 0 {
		host = host[:i]
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return false // a name: nothing to compare
	}
	return ip.Unmap() != src.Addr().Unmap()
}

// ensureAnchor opens the call's relay session once, facing the caller's
// SDP on side 0. It fails without a relay, without caller SDP (a delayed
// offer) or when the port range is used up.
func (c *call) ensureAnchor() (*relay.Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.anchor != nil {
		return c.anchor, nil
	}
	if c.finished {
		return nil, errCallOver
	}
	if c.b.s.cfg.Relay == nil {
		return nil, errNoRelay
	}
	addr, err := relay.SDPAddr(c.req.Body())
	if err != nil {
		return nil, err
	}
	s, err := c.b.s.cfg.Relay.Open()
	if err != nil {
		return nil, err
	}
	s.Side(0).SetRemote(addr)
	if c.who.trunk == nil {
		// Only the caller's phone may latch: its SDP address, or where
		// its INVITE came from (behind NAT its RTP comes from there).
		s.Side(0).AllowSources(ipOf(c.req.Source())...)
	}
	if codecs, err := relay.SDPCodecs(c.req.Body()); err == nil {
		if pt := relay.PT(codecs, "telephone-event"); pt >= 0 {
			s.Side(0).SetDTMFPayloadType(pt)
		}
	}
	c.anchor = s
	return s, nil
}

// offer is the SDP a new leg is sent: the caller's own, or when anchored
// xc5's side 1 with the caller's codecs (once the caller has been
// answered, only the codec it was answered with, so that every party
// after the first speaks what the caller already speaks).
func (c *call) offer() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.anchor == nil {
		return c.req.Body()
	}
	src := c.req.Body()
	if c.callerUp && len(c.answerSDP) > 0 {
		src = c.answerSDP
	}
	if c.g711 {
		src = onlyG711(src)
	}
	return relay.RewriteSDP(src, c.anchor.Side(1).Local())
}

// answered turns the SDP a party answered with into what the caller is
// given: unchanged, or when anchored xc5's side 0, the relay now sending
// side 1's media to that party.
func (c *call) answered(body []byte) []byte {
	c.mu.Lock()
	s := c.anchor
	c.mu.Unlock()
	if s == nil || len(body) == 0 {
		return body
	}
	if addr, err := relay.SDPAddr(body); err == nil {
		s.Side(1).SetRemote(addr)
	}
	return relay.RewriteSDP(body, s.Side(0).Local())
}

// sideOf is the relay side facing end e and the other side.
func (c *call) sideOf(e *end) (mine, other *relay.Side) {
	c.mu.Lock()
	s := c.anchor
	c.mu.Unlock()
	if s == nil {
		return nil, nil
	}
	if e == c.caller {
		return s.Side(0), s.Side(1)
	}
	return s.Side(1), s.Side(0)
}

// rewriteFrom takes SDP that end e sent in a re-INVITE or its answer:
// the relay now sends e's side to the address it names, and the other
// party gets xc5's address for the other side instead.
func (c *call) rewriteFrom(e *end, body []byte) []byte {
	mine, other := c.sideOf(e)
	if mine == nil || len(body) == 0 {
		return body
	}
	if addr, err := relay.SDPAddr(body); err == nil {
		mine.SetRemote(addr)
	}
	return relay.RewriteSDP(body, other.Local())
}

// ipOf is the IP of a host:port source, as a list for AllowSources
// (empty when it does not parse: any source then).
func ipOf(source string) []netip.Addr {
	if ap, err := netip.ParseAddrPort(source); err == nil {
		return []netip.Addr{ap.Addr()}
	}
	return nil
}

// facing restricts who may latch side 1 to the party now answering:
// a phone (its registration's source), a media node, a picker. A
// carrier is not restricted: its media gateways need not be its
// signalling address.
func (c *call) facing(source string) {
	c.mu.Lock()
	s := c.anchor
	c.mu.Unlock()
	if s != nil {
		s.Side(1).AllowSources(ipOf(source)...)
	}
}

// onlyG711 keeps PCMU, PCMA and telephone-event in an SDP's audio line
// (and their rtpmap and fmtp lines); the body as it was when none of
// them is offered.
func onlyG711(body []byte) []byte {
	codecs, err := relay.SDPCodecs(body)
	if err != nil {
		return body
	}
	keep := map[int]bool{}
	for _, c := range codecs {
		switch strings.ToUpper(c.Name) {
		case "PCMU", "PCMA", "TELEPHONE-EVENT":
			keep[c.PT] = true
		}
	}
	if len(keep) == 0 || len(keep) == len(codecs) {
		return body
	}
	lines := strings.SplitAfter(string(body), "\n")
	var b strings.Builder
	for _, ln := range lines {
		t := strings.TrimRight(ln, "\r\n")
		switch {
		case strings.HasPrefix(t, "m=audio "):
			f := strings.Fields(t)
			out := f[:3]
			for _, pt := range f[3:] {
				if n, err := strconv.Atoi(pt); err == nil && keep[n] {
					out = append(out, pt)
				}
			}
			b.WriteString(strings.Join(out, " ") + "\r\n")
			continue
		case strings.HasPrefix(t, "a=rtpmap:"), strings.HasPrefix(t, "a=fmtp:"):
			v := t[strings.IndexByte(t, ':')+1:]
			pt, _, _ := strings.Cut(v, " ")
			if n, err := strconv.Atoi(pt); err == nil && !keep[n] {
				continue
			}
		}
		b.WriteString(ln)
	}
	return []byte(b.String())
}
