package sipserver

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5/media"
	"xc5/media/prompts"
	"xc5/media/relay"
	"xc5/routing"
)

// Hold with music: a re-INVITE by which one party (x) puts the other (y)
// on hold (sendonly or inactive, or the old c=0.0.0.0) is answered by xc5
// itself rather than relayed, and y is given hold music: a media node's
// play app loops the hold-music prompt of _prompt.shared into x's side of
// the relay, which passes it to y as if x sent it. y's dialog is not
// touched (a call that was not anchored yet is anchored with one
// re-INVITE to y). x's next re-INVITE that does not hold (resume) stops
// the music and points x's side back at x. Without a media node or relay
// a hold is relayed end to end as before (the held phone hears silence,
// or whatever the holding phone plays).

// holdOrResume takes a re-INVITE from x whose peer is y when it holds or
// resumes; false leaves it to be relayed.
func (c *call) holdOrResume(x, y *end, req *sip.Request, tx sip.ServerTransaction) bool {
	cfg := c.b.s.cfg
	if len(cfg.Media) == 0 || cfg.Relay == nil || x.media != nil || y == nil || y.media != nil || len(req.Body()) == 0 {
		return false
	}
	c.mu.Lock()
	held, busy := c.moves.held, c.moves.busy
	c.mu.Unlock()
	dir := sdpDirection(req.Body())
	holding := dir == "sendonly" || dir == "inactive"
	switch {
	case held == nil && holding && !busy:
		return c.hold(x, y, req, tx)
	case held == x && holding: // a refresh while on hold
		c.answerX(x, req, tx, holdAnswer(dir))
		return true
	case held == x:
		c.resume(x, req, tx)
		return true
	case held != nil:
		// The held party's own re-INVITE (a carrier's session refresh,
		// or a hold of its own: "double hold"): answered by xc5, not
		// passed to the holder, whose side the music has now. x's side
		// of the relay follows x's SDP; the music plays on.
		xs, _ := c.sideOf(x)
		if addr, err := relay.SDPAddr(req.Body()); err == nil {
			xs.SetRemote(addr)
		}
		c.answerX(x, req, tx, holdAnswer(dir))
		return true
	}
	return false
}

// holdAnswer is the direction that answers an offer's.
func holdAnswer(dir string) string {
	switch dir {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	}
	return dir
}

// hold starts the music for y and answers x's hold itself.
func (c *call) hold(x, y *end, req *sip.Request, tx sip.ServerTransaction) bool {
	if err := c.anchorNow(y); err != nil {
		c.log.Warn("hold: cannot anchor the held party's media; relaying the hold", "err", err)
		return false
	}
	xs, _ := c.sideOf(x)
	owner := x.acct // the holding party's company chooses the music
	if owner == nil {
		owner = y.acct
	}
	music, err := c.playMusic(xs, c.negotiated(y), owner)
	if err != nil {
		c.log.Warn("hold: no hold music", "err", err)
		xs.SetRemote(mustAddr(req.Body())) // x is still there, its media through the relay now
		return false
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		c.b.forget(music)
		go music.bye(context.Background())
		c.b.s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return true
	}
	c.moves.held, c.moves.music = x, music
	c.mu.Unlock()
	c.log.Debug("hold", "by", x.name, "held", y.name)
	c.answerX(x, req, tx, holdAnswer(sdpDirection(req.Body())))
	return true
}

// resume stops the music and gives x's side of the relay back to x.
func (c *call) resume(x *end, req *sip.Request, tx sip.ServerTransaction) {
	c.stopMusic()
	xs, _ := c.sideOf(x)
	if addr, err := relay.SDPAddr(req.Body()); err == nil {
		xs.SetRemote(addr)
	}
	if x.trunk {
		xs.AllowSources()
	} else {
		xs.AllowSources(ipOf(x.source())...)
	}
	c.log.Debug("resume", "by", x.name)
	c.answerX(x, req, tx, "sendrecv")
}

// answerX answers x's re-INVITE with the SDP x knows of its peer, pointed
// at x's side of the relay, in direction dir; x's ACK ends there.
func (c *call) answerX(x *end, req *sip.Request, tx sip.ServerTransaction, dir string) {
	xs, _ := c.sideOf(x)
	c.mu.Lock()
	c.moves.sdpVersion++
	n := c.moves.sdpVersion
	c.mu.Unlock()
	body := bumpOrigin(withDirection(relay.RewriteSDP(c.sdpKnown(x), xs.Local()), dir), n)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ct := c.b.contact(req.Transport())
	res.AppendHeader(&ct)
	w := &ackWait{cseq: req.CSeq().SeqNo, done: make(chan struct{})}
	c.mu.Lock()
	c.awaiting[x] = w
	c.mu.Unlock()
	// Not waited for: the call takes the next re-INVITE (the other
	// party's, say) as soon as this one is answered, rather than 491
	// until x's ACK has come.
	go c.resendUntilAck(tx, res, x, w)
}

// negotiated is the SDP that holds the codec end y speaks: the answer of
// a phone xc5 called, or the answer the caller was given.
func (c *call) negotiated(y *end) []byte {
	if y.uac != nil && y.uac.InviteResponse != nil && len(y.uac.InviteResponse.Body()) > 0 {
		return y.uac.InviteResponse.Body()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answerSDP
}

// playMusic has a media node loop the hold music into side: its leg is
// offered ref's codecs at side's address, and side now sends to the node.
// The music is owner's (its account's or an ancestor's hold_prompt),
// else the system's.
func (c *call) playMusic(side *relay.Side, ref []byte, owner *routing.Account) (*end, error) {
	prompt := prompts.HoldMusicGUID
	if owner != nil {
		if p := c.b.view.HoldMusic(owner); p != "" {
			prompt = p
		}
	}
	return c.mediaOn(side, ref, media.Request{App: media.AppPlay, Prompt: prompt, Loop: true}, "media:hold")
}

// mediaOn sends a media leg for req whose audio goes into side of the
// relay (rather than side 1, as runMedia does): side now sends to the
// node that answered.
func (c *call) mediaOn(side *relay.Side, ref []byte, req media.Request, name string) (*end, error) {
	e, err := c.inviteNode(req, withDirection(relay.RewriteSDP(ref, side.Local()), "sendrecv"), name)
	if err != nil {
		return nil, err
	}
	side.SetRemote(mustAddr(e.uac.InviteResponse.Body()))
	side.AllowSources(ipOf(e.uac.InviteResponse.Source())...)
	return e, nil
}

// inviteNode sends a media leg for req with SDP offer to the nodes in
// turn; the first that answers is returned, acknowledged and registered
// (its BYE then only reports the app's result).
func (c *call) inviteNode(req media.Request, offer []byte, name string) (*end, error) {
	b := c.b
	var last error
	for _, node := range c.mediaNodes(req) {
		r, tag, err := c.mediaRequest(req, node)
		if err != nil {
			last = err
			continue
		}
		r.SetBody(offer)
		ctx, cancel := context.WithCancel(b.s.ctx)
		dlg, err := b.dialogUA("UDP").WriteInvite(ctx, r)
		if err == nil {
			wctx, wcancel := context.WithTimeout(ctx, b.s.cfg.MediaTimeout)
			err = dlg.WaitAnswer(wctx, sipgo.AnswerOptions{})
			wcancel()
		}
		if err == nil {
			_, err = relay.SDPAddr(dlg.InviteResponse.Body())
		}
		if err != nil {
			cancel()
			last = fmt.Errorf("media node %s: %w", node, err)
			continue
		}
		e := &end{call: c, uac: dlg, key: dialogKey(r.CallID().Value(), tag), name: name, cancel: cancel,
			media: &mediaLeg{done: make(chan media.Result, 1)}}
		b.register(e)
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		err = dlg.Ack(actx)
		acancel()
		if err != nil {
			b.forget(e)
			cancel()
			last = err
			continue
		}
		return e, nil
	}
	if last == nil {
		last = errNoRelay
	}
	return nil, last
}

// mustAddr is an SDP's address, the zero address (send nothing) when it
// has none.
func mustAddr(body []byte) netip.AddrPort {
	a, _ := relay.SDPAddr(body)
	return a
}

// stopMusic ends the call's hold music, if any.
func (c *call) stopMusic() {
	c.mu.Lock()
	e := c.moves.music
	c.moves.music, c.moves.held = nil, nil
	c.mu.Unlock()
	if e == nil {
		return
	}
	c.b.forget(e)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.bye(ctx)
		e.cancel()
	}()
}
