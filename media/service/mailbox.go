package service

import (
	"cmp"
	"context"
	"slices"
	"time"

	"xc5"
	"xc5/media"
	"xc5/media/prompts"
)

// The mailbox app: a mailbox's owner (or anyone knowing its PIN) logs in
// by phone, hears how many messages wait, plays them, saves and deletes
// them, and records the greeting callers hear (docs/media.md, "Mailboxes
// by phone"). The store is asked through xc5.MailboxStore, which the
// service's store implements when it keeps mailboxes (sqlstore does).

// Keys of the mailbox.
const (
	keyListen  = '1' // main menu: play the messages
	keyOptions = '0' // main menu: mailbox options
	keyRecord  = '1' // options: record the greeting
	keyRevert  = '2' // options: back to the standard greeting
	keyReplay  = '1' // message: play it again
	keyDelete  = '7' // message: delete it
	keySave    = '9' // message: keep it as saved
	keyNext    = '#' // message: the next one
	keyBack    = '*' // options, message: back to the main menu
)

// pinMax bounds the digits read for a PIN (ums_pin has 4 to 12).
const pinMax = 16

// mailboxes is the store's mailbox side; nil when it keeps none, which
// makes every PIN wrong.
func (l *leg) mailboxes() xc5.MailboxStore {
	mb, _ := l.s.cfg.Store.(xc5.MailboxStore)
	return mb
}

// storeCtx bounds one store call: a stuck store must not hold the caller.
func storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// mailbox runs the app: the PIN, the counts, then the main menu until
// the caller hangs up or leaves it unanswered menuTries times. Saved
// reports a greeting recorded.
func (l *leg) mailbox(ctx context.Context) media.Result {
	mb := l.mailboxes()
	if mb == nil {
		l.s.log.Warn("media: the store keeps no mailboxes; every PIN is wrong")
	}
	if !l.login(ctx, mb) {
		_, _ = l.c.play(ctx, system(prompts.Goodbye), false)
		return media.Result{}
	}
	msgs, err := l.messages(ctx, mb)
	if err != nil {
		return media.Result{}
	}
	fresh := 0
	for _, v := range msgs {
		if v.Status == xc5.VoicemailNew {
			fresh++
		}
	}
	if _, err := l.c.play(ctx, countsAudio(fresh, len(msgs)-fresh), false); err != nil {
		return media.Result{}
	}
	saved := false
	for tries := 0; tries < menuTries; {
		k, err := l.ask(ctx, say("main-menu"))
		if err != nil {
			return media.Result{Saved: saved}
		}
		switch k {
		case keyListen:
			err = l.review(ctx, mb)
		case keyOptions:
			var s bool
			s, err = l.options(ctx, mb)
			saved = saved || s
		case 0:
			tries++
			continue
		default:
			tries++
			_, err = l.invalid(ctx)
			continue
		}
		if err != nil {
			return media.Result{Saved: saved}
		}
		tries = 0
	}
	_, _ = l.c.play(ctx, system(prompts.Goodbye), false)
	return media.Result{Saved: saved}
}

// ask plays prompt (a key stops it) and waits FirstDigit for a key after
// it: the key, or 0 for none.
func (l *leg) ask(ctx context.Context, prompt []int16) (rune, error) {
	k, err := l.c.play(ctx, prompt, true)
	if err == nil && k == 0 {
		k, err = l.c.digit(ctx, l.s.cfg.Timeouts.FirstDigit)
	}
	return k, err
}

// invalid says "invalid entry" and forgets the keys pressed meanwhile.
func (l *leg) invalid(ctx context.Context) (rune, error) {
	_, err := l.c.play(ctx, system(prompts.InvalidEntry), false)
	l.c.flushDigits()
	return 0, err
}

// login asks the PIN up to menuTries times. A wrong PIN, an unknown
// mailbox, one without a PIN and a store error all sound the same:
// "invalid entry", then the PIN again.
func (l *leg) login(ctx context.Context, mb xc5.MailboxStore) bool {
	for try := 0; try < menuTries; try++ {
		pin, err := l.readDigits(ctx, system(prompts.EnterPIN), pinMax)
		if err != nil {
			return false
		}
		ok := false
		now := l.s.cfg.Now()
		fc, _ := l.s.cfg.Store.(failureCounter)
		sctx, cancel := storeCtx(ctx)
		locked := l.s.pins.locked(l.req.Mailbox, now) || lockedShared(sctx, fc, l.req.Mailbox, now)
		cancel()
		if mb != nil && !locked {
			sctx, cancel := storeCtx(ctx)
			ok, err = mb.CheckMailboxPIN(sctx, l.req.Mailbox, pin)
			cancel()
			if err != nil {
				l.s.log.Error("media: mailbox PIN not checked", "mailbox", l.req.Mailbox, "error", err)
				ok = false
			}
		}
		if ok {
			return true
		}
		if !locked {
			l.s.pins.failed(l.req.Mailbox, now)
			sctx, cancel := storeCtx(ctx)
			failedShared(sctx, fc, l.req.Mailbox, now)
			cancel()
		}
		l.s.log.Info("media: mailbox login refused", "mailbox", l.req.Mailbox, "try", try+1, "locked", locked)
		if _, err := l.invalid(ctx); err != nil {
			return false
		}
	}
	return false
}

// readDigits plays prompt (a key stops it) and reads keys until '#', the
// inter-digit timeout, or max keys; "" when none came within FirstDigit.
func (l *leg) readDigits(ctx context.Context, prompt []int16, max int) (string, error) {
	k, err := l.ask(ctx, prompt)
	digits := ""
	for err == nil && k != 0 && k != '#' && len(digits) < max {
		digits += string(k)
		k, err = l.c.digit(ctx, l.s.cfg.Timeouts.InterDigit)
	}
	return digits, err
}

// messages lists the mailbox in the order it is played: new messages
// newest first, then saved ones newest first.
func (l *leg) messages(ctx context.Context, mb xc5.MailboxStore) ([]xc5.Voicemail, error) {
	var out []xc5.Voicemail
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	err := mb.ListVoicemail(sctx, l.req.Mailbox, func(v xc5.Voicemail) error { out = append(out, v); return nil })
	if err != nil {
		l.s.log.Error("media: mailbox not listed", "mailbox", l.req.Mailbox, "error", err)
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b xc5.Voicemail) int {
		if (a.Status == xc5.VoicemailNew) != (b.Status == xc5.VoicemailNew) {
			if a.Status == xc5.VoicemailNew {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.Received.UnixNano(), a.Received.UnixNano())
	})
	return out, nil
}

// location is the time zone messages are announced in: the account's
// (inherited), else the node's.
func (l *leg) location(ctx context.Context, mb xc5.MailboxStore) *time.Location {
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	if tz, err := mb.MailboxTimezone(sctx, l.req.Mailbox); err == nil && tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc
		}
	}
	return time.Local
}

// review plays the messages one after the other; '*' or the last one
// ends it ("no more messages").
func (l *leg) review(ctx context.Context, mb xc5.MailboxStore) error {
	msgs, err := l.messages(ctx, mb)
	if err != nil {
		return err
	}
	loc := l.location(ctx, mb)
	for i, v := range msgs {
		more, err := l.message(ctx, mb, i+1, v, loc)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	_, err = l.c.play(ctx, say("no-more-messages"), false)
	return err
}
