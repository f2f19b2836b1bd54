package sipserver

import (
	"context"
	"fmt"
	"time"

	"xc5"
	"xc5/dialplan"
	"xc5/media"
	"xc5/routing"
)

// What a call does with the media service: menus while the engine walks
// (driver.Menu), the outcomes that a media node carries out (voicemail,
// prompt recording), and the recording of answered calls.

// goodbyePrompt is the system prompt "Goodbye." (media/prompts), played
// before xc5 hangs up on a caller it had answered for a menu.
const goodbyePrompt = "41EC9B4C-351E-4FFD-BB12-D9A0925C080C"

// menu plays a menu on a media node and returns the key the caller
// pressed, "" for none. ok is false when no media node took the call.
func (c *call) menu(prompt string, dm dialplan.DigitMap) (key string, ok bool) {
	var keys []string
	for _, e := range dm.Entries {
		if e.Keys != dialplan.TimeoutKey {
			keys = append(keys, e.Keys)
		}
	}
	req := media.Request{App: media.AppMenu, Prompt: prompt, Keys: keys, From: c.presented(), To: c.dialed}
	if len(keys) == 0 { // only T: the prompt, then the timeout action
		req.App = media.AppPlay
	}
	res, ok := c.runMedia(req)
	return res.Key, ok
}

// carryOutMedia carries out an outcome that a media node answers:
// voicemail (to email, to a mailbox) and recording a prompt by phone. It
// reports whether it did; the call is then over. False for other
// outcomes, and when no media node took the call (run answers 503).
func (c *call) carryOutMedia(o routing.Outcome) bool {
	req, ok := c.mediaRequestFor(o)
	if !ok {
		return false
	}
	c.mu.Lock()
	c.mediaOutcome = o.Outcome
	c.mu.Unlock()
	if _, ok := c.runMedia(req); !ok {
		return false
	}
	c.hangup(nil) // the node ended its leg: the call is over
	return true
}

// mediaRequestFor is the media app an outcome needs.
func (c *call) mediaRequestFor(o routing.Outcome) (media.Request, bool) {
	req := media.Request{From: c.presented(), To: c.dialed}
	switch o.Outcome {
	case routing.Email:
		req.App, req.Email, req.Prompt, req.Account = media.AppVoicemail, o.To, o.Prompt, o.To
	case routing.Voicemail:
		req.App = media.AppVoicemail
	case routing.RecordPrompt:
		req.App, req.Prompt = media.AppRecordPrompt, o.Prompt
		return req, true
	case routing.Conference:
		req.App, req.Room = media.AppConference, o.Room
		return req, true
	case routing.Mailbox:
		req.App = media.AppMailbox
	default:
		return req, false
	}
	if o.Mailbox != "" {
		a := c.b.view.Account(o.Mailbox)
		if a == nil {
			return req, false
		}
		req.Mailbox, req.Account = a.GUID, a.Username
	}
	return req, req.Mailbox != "" || req.Email != ""
}

// presented is the caller as a voicemail or recording names it: its
// presented number, or anonymous.
func (c *call) presented() string {
	if c.who.acct != nil {
		if c.who.acct.Private {
			return "anonymous"
		}
		return c.b.view.Presentation(c.who.acct, c.who.offers)
	}
	if c.who.private {
		return "anonymous"
	}
	return c.who.number
}

// startRecording records the call from now when a, which answered it,
// records the calls it answers; the media must be anchored.
func (c *call) startRecording(a *routing.Account) {
	if a == nil {
		return
	}
	to := routing.RecordsTo(a)
	if len(to) == 0 {
		return
	}
	c.mu.Lock()
	s := c.anchor
	if s != nil {
		c.recordTo, c.recordBy = to, a.Username
	}
	c.mu.Unlock()
	if s == nil {
		c.log.Warn("call not recorded: its media is not anchored", "account", a.Username)
		return
	}
	s.StartRecording()
}

// releaseMedia ends the call's relay session; a recording is queued for
// mail first.
func (c *call) releaseMedia() {
	c.mu.Lock()
	s, to, by := c.anchor, c.recordTo, c.recordBy
	c.mu.Unlock()
	if s == nil {
		return
	}
	if len(to) > 0 {
		if wav, d := s.StopRecording(); wav != nil {
			go c.mailRecording(wav, d, to, by)
		} else {
			c.log.Warn("call not recorded: no G.711 audio came", "account", by)
			c.mu.Lock()
			c.recordTo = nil // the CDR says recorded only when a recording went
			c.mu.Unlock()
		}
	}
	s.Close()
}

// mailRecording queues a recording's mails in the durable outbox, trying
// again while the store is away (the recording exists only here until
// then).
func (c *call) mailRecording(wav []byte, d time.Duration, to []string, by string) {
	mails := make([]xc5.Mail, 0, len(to))
	for _, addr := range to {
		mails = append(mails, xc5.RecordingMail(xc5.Voicemail{From: c.presented(), To: c.dialed,
			Received: c.started, Duration: d, Audio: wav}, addr, by))
	}
	b := c.b
	ctx, cancel := context.WithTimeout(b.s.ctx, 10*time.Minute)
	defer cancel()
	wait := time.Second
	for {
		err := b.store.QueueMail(ctx, mails)
		if err == nil {
			return
		}
		if !unavailable(err) || ctx.Err() != nil {
			c.log.Error("recording lost: could not queue its mail", "err", err, "to", fmt.Sprint(to))
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			wait = min(2*wait, 30*time.Second)
		}
	}
}

// isBridged reports a call whose caller talks to a party now (not merely
// answered by a menu that has ended).
func (c *call) isBridged() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.other != nil
}

// afterMenu ends the walk of a call a menu answered: an external outcome
// (a key that dials a mobile) is rung over the carrier; anything else,
// or a carrier that does not answer, gets a goodbye and a BYE, there
// being no failure status to send once answered. A caller gone already
// gets nothing more.
func (c *call) afterMenu(d *driver, o routing.Outcome) {
	outcome := o.Outcome
	if c.ctx.Err() == nil && !c.isEnded() && o.Outcome == routing.External {
		var done bool
		if outcome, _, _, done = c.ringExternal(d, o, nil); done {
			return
		}
	}
	c.mu.Lock()
	c.mediaOutcome = outcome
	c.mu.Unlock()
	if c.ctx.Err() == nil && !c.isEnded() {
		c.runMedia(media.Request{App: media.AppPlay, Prompt: goodbyePrompt})
	}
	c.hangup(nil)
}

func (c *call) isEnded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}
