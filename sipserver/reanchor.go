package sipserver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/media/relay"
)

// Moving an answered call's media: a transfer, a hold or a park changes
// who one party talks to while its dialog with xc5 stays. Both go through
// the call's relay session (anchor.go), so a party that stays is sent one
// re-INVITE at most (when the call was not anchored yet) and after that
// only the relay moves.

// errNoAnchor: the call's media cannot be moved (no relay, no SDP).
var errNoAnchor = errors.New("the call's media cannot be anchored")

// sdpKnown is the SDP that end y last received from xc5 for its peer:
// the answer the caller was given, or the offer the answering end was
// sent (the caller's SDP, or xc5's side 1 when anchored).
func (c *call) sdpKnown(y *end) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if y == c.caller {
		return c.answerSDP
	}
	if y.uac != nil && y.uac.InviteRequest != nil && len(y.uac.InviteRequest.Body()) > 0 {
		return y.uac.InviteRequest.Body()
	}
	return c.req.Body()
}

// anchorNow makes sure the call's media runs through the relay, re-INVITEing
// y (the party that stays) toward its side of the relay when the call was
// not anchored: its RTP went straight to the other party until now. The
// other party is left alone: it is leaving, being held, or re-INVITEd by
// the caller of anchorNow.
func (c *call) anchorNow(y *end) error {
	c.mu.Lock()
	anchored := c.anchor != nil
	c.mu.Unlock()
	if anchored {
		return nil
	}
	if _, err := c.ensureAnchor(); err != nil {
		return fmt.Errorf("%w: %v", errNoAnchor, err)
	}
	return c.connect(y, c.sdpKnown(y))
}

// connect re-INVITEs y with the SDP it knows of its peer (ref), pointed
// at y's side of the relay, and makes that side send to what y answers.
func (c *call) connect(y *end, ref []byte) error {
	mine, _ := c.sideOf(y)
	if mine == nil || len(ref) == 0 {
		return errNoAnchor
	}
	answer, err := c.reoffer(y, relay.RewriteSDP(ref, mine.Local()))
	if err != nil {
		return err
	}
	if addr, err := relay.SDPAddr(answer); err == nil {
		mine.SetRemote(addr)
	}
	if y.trunk {
		mine.AllowSources() // a carrier's media gateways are not its signalling address
	} else {
		mine.AllowSources(ipOf(y.source())...)
	}
	return nil
}

// source is where the end's signalling comes from.
func (e *end) source() string {
	if e.uas != nil {
		return e.uas.InviteRequest.Source()
	}
	if res := e.uac.InviteResponse; res != nil {
		return res.Source()
	}
	return ""
}

// reoffer sends y a re-INVITE offering body (its o= version raised, as
// RFC 3264 §8 wants for a changed offer), acknowledges a 2xx and returns
// y's answer.
func (c *call) reoffer(y *end, body []byte) ([]byte, error) {
	c.mu.Lock()
	c.moves.sdpVersion++
	n := c.moves.sdpVersion
	c.mu.Unlock()
	req := sip.NewRequest(sip.INVITE, y.target())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(bumpOrigin(body, n))
	ctx, cancel := context.WithTimeout(c.b.s.ctx, sip.Timer_B)
	defer cancel()
	ctr, err := y.request(ctx, req)
	if err != nil {
		return nil, err
	}
	defer ctr.Terminate()
	res := finalResponse(ctx, ctr)
	switch {
	case res == nil:
		return nil, fmt.Errorf("no answer to the re-INVITE of %s", y.name)
	case !res.IsSuccess():
		return nil, fmt.Errorf("%s refused the re-INVITE: %d %s", y.name, res.StatusCode, res.Reason)
	}
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer acancel()
	if err := y.ack(actx, nil, ""); err != nil {
		c.log.Debug("ACK of xc5's re-INVITE failed", "to", y.name, "err", err)
	}
	return res.Body(), nil
}

// bumpOrigin adds n to the session version of an SDP's o= line.
func bumpOrigin(body []byte, n int) []byte {
	lines := strings.SplitAfter(string(body), "\n")
	for i, ln := range lines {
		if !strings.HasPrefix(ln, "o=") {
			continue
		}
		eol := ln[len(strings.TrimRight(ln, "\r\n")):]
		f := strings.Fields(ln)
		if len(f) < 6 {
			break
		}
		v, err := strconv.ParseUint(f[2], 10, 63)
		if err != nil {
			break
		}
		f[2] = strconv.FormatUint(v+uint64(n), 10)
		lines[i] = strings.Join(f, " ") + eol
		break
	}
	return []byte(strings.Join(lines, ""))
}

// sdpDirection is the direction an SDP's first audio section (or its
// session) asks for: sendrecv, sendonly, recvonly or inactive; a
// connection address of 0.0.0.0 (RFC 2543 hold) reads as inactive.
func sdpDirection(body []byte) string {
	dir, audio := "sendrecv", false
	for _, ln := range strings.Split(string(body), "\n") {
		ln = strings.TrimSpace(ln)
		switch {
		case strings.HasPrefix(ln, "m="):
			if audio {
				return dir
			}
			audio = strings.HasPrefix(ln, "m=audio")
		case strings.HasPrefix(ln, "c=") && strings.HasSuffix(ln, " 0.0.0.0"):
			dir = "inactive"
		case ln == "a=sendonly" || ln == "a=recvonly" || ln == "a=inactive" || ln == "a=sendrecv":
			dir = ln[2:]
		}
	}
	return dir
}

// withDirection sets the direction attribute of an SDP (every a= direction
// line replaced; one added to the audio section when there is none).
func withDirection(body []byte, dir string) []byte {
	lines := strings.SplitAfter(string(body), "\n")
	var b strings.Builder
	found := false
	for _, ln := range lines {
		t := strings.TrimRight(ln, "\r\n")
		switch t {
		case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
			b.WriteString("a=" + dir + ln[len(t):])
			found = true
			continue
		}
		b.WriteString(ln)
	}
	out := b.String()
	if !found {
		if !strings.HasSuffix(out, "\n") {
			out += "\r\n"
		}
		out += "a=" + dir + "\r\n"
	}
	return []byte(out)
}
