package sipserver

import (
	"context"
	"errors"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"xc5/media"
	"xc5/media/relay"
)

// errNoRelay: a call needs its media anchored and xc5 has no relay.
var errNoRelay = errors.New("no RTP relay configured")

// errCallOver: the call finished; nothing more is opened for it.
var errCallOver = errors.New("the call is over")

// mediaLeg marks an end that is a media node's leg: its BYE carries the
// app's result (media.HeaderResult) and does not end the call, which
// goes on as the routing engine decides.
type mediaLeg struct {
	done chan media.Result // the result of the node's BYE; buffered
}

// runMedia sends the call to a media node to run req and waits until the
// node ends the leg with its result, or the call ends. A caller not yet
// answered is answered with the node's media (through the relay); one
// already answered (by an earlier menu) keeps its dialog and only its
// relay's other side moves. ok is false when no media node took the leg
// (none configured or none answered, no relay, no SDP to anchor): the
// caller is then as it was.
func (c *call) runMedia(req media.Request) (res media.Result, ok bool) {
	cfg := c.b.s.cfg
	if len(cfg.Media) == 0 || c.isEnded() {
		return res, false
	}
	if _, err := c.ensureAnchor(); err != nil {
		c.log.Warn("cannot anchor the call's media for a media node", "err", err)
		return res, false
	}
	e := c.inviteMedia(req)
	if e == nil {
		return res, false
	}
	defer c.unbridge(e)
	if !c.bridgeMedia(e) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		e.bye(ctx)
		cancel()
		return res, false
	}
	limit := time.NewTimer(cfg.MaxMediaLeg)
	defer limit.Stop()
	check := time.NewTicker(time.Second)
	defer check.Stop()
	for {
		select {
		case res = <-e.media.done:
			return res, true
		case <-c.over:
			return media.Result{}, true
		case <-limit.C:
			c.log.Info("media leg over its time; hanging up", "app", req.App)
			c.hangup(nil)
			return media.Result{}, true
		case <-check.C:
			// A media node sends RTP all the time (a prompt or
			// silence): one that stopped has died. The caller is not
			// left in silence for the rest of MaxMediaLeg.
			if c.nodeSilent() {
				c.log.Warn("media node stopped sending; leaving it", "app", req.App)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				e.bye(ctx)
				cancel()
				return media.Result{}, true
			}
		}
	}
}

// mediaSilence is how long a media node may send no RTP before its leg
// is taken for dead.
const mediaSilence = 8 * time.Second

func (c *call) nodeSilent() bool {
	c.mu.Lock()
	s := c.anchor
	c.mu.Unlock()
	return s != nil && s.Side(1).Idle() > mediaSilence
}

// inviteMedia sends the media INVITE to the configured nodes in turn,
// starting at the next in rotation, and returns the end of the first that
// answers within Config.MediaTimeout, its 2xx acknowledged; nil if none.
func (c *call) inviteMedia(req media.Request) *end {
	b := c.b
	nodes := c.mediaNodes(req)
	for i, node := range nodes {
		r, tag, err := c.mediaRequest(req, node)
		if err != nil {
			c.log.Warn("bad media node address", "node", node, "err", err)
			continue
		}
		ctx, cancelCause := context.WithCancelCause(b.s.ctx)
		cancel := func() { cancelCause(nil) }
		if !c.isAnswered() {
			// A caller who cancels before being answered takes the
			// media INVITE with it.
			stop := context.AfterFunc(c.ctx, cancel)
			defer stop()
		}
		answered := make(chan struct{})
		var heard atomic.Bool // a provisional response came: CANCEL is allowed
		timer := time.AfterFunc(b.s.cfg.MediaTimeout, func() {
			select {
			case <-answered:
			default:
				if heard.Load() {
					cancel() // CANCELs the INVITE
				} else {
					// Nothing heard: a CANCEL may not be sent (RFC
					// 3261 §9.1), and waiting for Timer B would hold the
					// caller 32 s. Give up on the node now.
					cancelCause(sipgo.WaitAnswerForceCancelErr)
				}
			}
		})
		dlg, err := b.dialogUA("UDP").WriteInvite(ctx, r)
		if err == nil {
			err = dlg.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(*sip.Response) error {
				heard.Store(true)
				return nil
			}})
		}
		close(answered)
		timer.Stop()
		var e *end
		if err == nil {
			// Known before the ACK: a short app (a play with nothing to
			// play) may send its BYE at once.
			e = &end{call: c, uac: dlg, key: dialogKey(r.CallID().Value(), tag), name: "media:" + req.App,
				cancel: cancel, media: &mediaLeg{done: make(chan media.Result, 1)}}
			b.register(e)
			actx, acancel := context.WithTimeout(ctx, 5*time.Second)
			err = dlg.Ack(actx)
			acancel()
		}
		if err != nil {
			if e != nil {
				c.unbridge(e)
			}
			cancel()
			c.log.Warn("media node did not take the call", "node", node, "app", req.App, "err", err)
			var refused *sipgo.ErrDialogResponse
			if req.Room != "" && i == 0 && len(nodes) > 1 && !errors.As(err, &refused) && c.ctx.Err() == nil {
				// The room's holder did not answer at all (a refusal is
				// an answer, and a caller who hung up proves nothing):
				// it is gone, and the room moves on.
				c.takeRoom(req.Room, node, nodes[1])
			}
			continue
		}
		if req.Room != "" {
			go c.holdRoom(req.Room, node, e)
		}
		return e
	}
	return nil
}

// mediaRequest builds the INVITE of a media leg to node (host:port): the
// app in the Request-URI, its arguments in X-Xc5-Media, and the call's
// offer (xc5's relay side 1).
func (c *call) mediaRequest(req media.Request, node string) (*sip.Request, string, error) {
	b := c.b
	host, p, err := net.SplitHostPort(node)
	if err != nil {
		return nil, "", err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return nil, "", err
	}
	ruri := sip.Uri{Scheme: "sip", User: req.App, Host: host, Port: port}
	r := sip.NewRequest(sip.INVITE, ruri)
	r.SetTransport("UDP")
	if la, ok := b.s.udpAddr(); ok {
		r.Laddr = la
	}
	r.SetDestination(node)
	tag := sip.GenerateTagN(16)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "xc5", Host: b.host}, Params: sip.NewParams()}
	from.Params.Add("tag", tag)
	r.AppendHeader(from)
	r.AppendHeader(&sip.ToHeader{Address: ruri})
	cid := sip.CallIDHeader(uuid.NewString())
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	ct := b.contact("UDP")
	r.AppendHeader(&ct)
	r.AppendHeader(sip.NewHeader(media.HeaderArgs, req.Encode()))
	r.AppendHeader(sip.NewHeader("User-Agent", b.s.cfg.Name))
	r.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	r.SetBody(c.offer())
	return r, tag, nil
}

// bridgeMedia makes the media leg e the call's other end: the relay's
// side 1 now faces the node, and a caller not yet answered is answered
// with xc5's side 0. False when the call ended meanwhile.
func (c *call) bridgeMedia(e *end) bool {
	body := e.uac.InviteResponse.Body()
	if _, err := relay.SDPAddr(body); err != nil {
		c.log.Warn("media node answered without usable SDP", "err", err)
		return false
	}
	c.mu.Lock()
	if c.ended || c.other != nil || (!c.callerUp && c.ctx.Err() != nil) {
		c.mu.Unlock()
		return false
	}
	c.other = e
	up := c.callerUp
	if app := strings.TrimPrefix(e.name, "media:"); app != media.AppPlay {
		c.answeredBy = app // the last app that answered names the call (menu, voicemail)
	}
	if !up {
		if c.answeredAt.IsZero() {
			c.b.s.count.answered.Add(1)
		}
		c.answeredAt = c.b.s.cfg.Now()
		c.awaiting[c.caller] = &ackWait{cseq: c.req.CSeq().SeqNo, done: make(chan struct{})}
	}
	c.mu.Unlock()
	answer := c.answered(body)
	c.facing(e.uac.InviteResponse.Source())
	if up {
		return true
	}
	return c.answer(answer, "application/sdp")
}

// unbridge takes a finished media leg off the call; the caller stays
// answered, for what the engine does next.
func (c *call) unbridge(e *end) {
	c.mu.Lock()
	if c.other == e {
		c.other = nil
	}
	c.mu.Unlock()
	b := c.b
	b.mu.Lock()
	if b.dialogs[e.key] == e {
		delete(b.dialogs, e.key)
	}
	b.mu.Unlock()
	if e.cancel != nil {
		e.cancel()
	}
}

// mediaBye takes a media node's BYE: the app's result goes to the call
// waiting in runMedia.
func (e *end) mediaBye(req *sip.Request) {
	var res media.Result
	if h := req.GetHeader(media.HeaderResult); h != nil {
		var err error
		if res, err = media.DecodeResult(h.Value()); err != nil {
			e.call.log.Warn("media node sent a bad result", "err", err)
		}
	}
	select {
	case e.media.done <- res:
	default:
	}
}

// roomTTL is how long a conference room's claim lasts unless the calls
// in it renew it (every third of it).
const roomTTL = 30 * time.Second

// mediaNodes is the order in which a media leg tries the nodes: the next
// in rotation first, or for a conference room its holder. Every member of
// a room goes to the same node whichever signalling node it came in by:
// the room's claim in the store names the node (another signalling
// node's in-process media node too), and without one the nodes are tried
// in an order fixed by the room (all nodes have the same --media list).
func (c *call) mediaNodes(req media.Request) []string {
	b := c.b
	nodes := b.s.cfg.Media
	start := int(b.mediaNext.Add(1))
	if req.Room != "" {
		h := fnv.New32a()
		h.Write([]byte(req.Room))
		start = int(h.Sum32() % uint32(len(nodes)))
	}
	order := make([]string, 0, len(nodes)+1)
	for i := range nodes {
		order = append(order, nodes[(start+i)%len(nodes)])
	}
	if req.Room == "" {
		return order
	}
	ctx, cancel := context.WithTimeout(b.s.ctx, b.s.cfg.RequestTimeout)
	defer cancel()
	holder, err := b.store.ClaimRoom(ctx, req.Room, order[0], roomTTL)
	if err != nil {
		c.log.Warn("conference room claim not read; using this node's order", "room", req.Room, "err", err)
		return order
	}
	out := []string{holder}
	for _, n := range order {
		if n != holder {
			out = append(out, n)
		}
	}
	return out
}

// takeRoom moves a room from a holder that did not answer to node.
func (c *call) takeRoom(room, from, node string) {
	ctx, cancel := context.WithTimeout(c.b.s.ctx, c.b.s.cfg.RequestTimeout)
	defer cancel()
	if _, err := c.b.store.TakeRoom(ctx, room, from, node, roomTTL); err != nil {
		c.log.Warn("conference room not taken over", "room", room, "err", err)
	}
}

// holdRoom renews the room's claim for node while the member's leg e is
// up, so that the room stays where its members are.
func (c *call) holdRoom(room, node string, e *end) {
	t := time.NewTicker(roomTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-c.over:
			return
		case <-t.C:
			c.mu.Lock()
			gone := c.other != e
			c.mu.Unlock()
			if gone {
				return
			}
			ctx, cancel := context.WithTimeout(c.b.s.ctx, c.b.s.cfg.RequestTimeout)
			c.b.store.ClaimRoom(ctx, room, node, roomTTL)
			cancel()
		}
	}
}
