package service

import (
	"context"
	"errors"
	"slices"
	"time"

	"xc5"
	"xc5/media/prompts"
	"xc5/media/wav"
)

// message plays message n (its intro, then its audio) and reads what to
// do with it. A message heard to its end is saved, as Asterisk moves a
// heard message to Old; one skipped before its end stays new. It reports
// false when the caller asked for the main menu.
func (l *leg) message(ctx context.Context, mb xc5.MailboxStore, n int, v xc5.Voicemail, loc *time.Location) (bool, error) {
	audio, ok := l.messageAudio(ctx, mb, v)
	if !ok {
		return true, nil // gone meanwhile (deleted through the API): the next one
	}
	menu := say("message-menu")
	playing, isMessage := slices.Concat(introAudio(n, v, l.s.cfg.Now(), loc), audio), true
	for tries := 0; tries < menuTries; {
		k, err := l.c.play(ctx, playing, true)
		if err != nil {
			return false, err
		}
		if k == 0 && isMessage {
			if v.Status == xc5.VoicemailNew && l.setStatus(ctx, mb, v, xc5.VoicemailSaved) {
				v.Status = xc5.VoicemailSaved
			}
			k, err = l.c.play(ctx, menu, true)
		}
		if err == nil && k == 0 {
			k, err = l.c.digit(ctx, l.s.cfg.Timeouts.FirstDigit)
		}
		if err != nil {
			return false, err
		}
		playing, isMessage = menu, false
		switch k {
		case keyReplay:
			playing, isMessage = audio, true
		case keyDelete:
			return true, l.done(ctx, l.deleteMessage(ctx, mb, v), "message-deleted")
		case keySave:
			return true, l.done(ctx, l.setStatus(ctx, mb, v, xc5.VoicemailSaved), "message-saved")
		case keyNext:
			return true, nil
		case keyBack:
			return false, nil
		case 0:
			tries++
		default:
			tries++
			if _, err := l.invalid(ctx); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// done confirms a change made ("message deleted"), or says "invalid
// entry" when the store did not make it.
func (l *leg) done(ctx context.Context, ok bool, word string) error {
	var err error
	if ok {
		_, err = l.c.play(ctx, say(word), false)
		l.c.flushDigits()
	} else {
		_, err = l.invalid(ctx)
	}
	return err
}

// messageAudio reads a message's samples; false when it is gone or
// unplayable.
func (l *leg) messageAudio(ctx context.Context, mb xc5.MailboxStore, v xc5.Voicemail) ([]int16, bool) {
	sctx, cancel := storeCtx(ctx)
	full, err := mb.GetVoicemail(sctx, l.req.Mailbox, v.GUID, true)
	cancel()
	if err != nil {
		l.s.log.Info("media: message not playable", "mailbox", l.req.Mailbox, "voicemail", v.GUID, "error", err)
		return nil, false
	}
	a, err := wav.Parse(full.Audio)
	if err != nil || a.SampleRate != 8000 {
		l.s.log.Warn("media: message audio is not an 8 kHz WAV", "voicemail", v.GUID, "error", err)
		return nil, false
	}
	return a.Samples, true
}

func (l *leg) setStatus(ctx context.Context, mb xc5.MailboxStore, v xc5.Voicemail, status string) bool {
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	if err := mb.SetVoicemailStatus(sctx, l.req.Mailbox, v.GUID, status); err != nil {
		l.s.log.Warn("media: message not marked", "voicemail", v.GUID, "status", status, "error", err)
		return false
	}
	return true
}

func (l *leg) deleteMessage(ctx context.Context, mb xc5.MailboxStore, v xc5.Voicemail) bool {
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	if err := mb.DeleteVoicemail(sctx, l.req.Mailbox, v.GUID); err != nil && xc5.ErrorCode(err) != xc5.ENOTFOUND {
		l.s.log.Warn("media: message not deleted", "voicemail", v.GUID, "error", err)
		return false
	}
	return true
}

// options is the mailbox options menu: 1 records the greeting, 2 goes
// back to the standard one, '*' (or menuTries unanswered) to the main
// menu. It reports a greeting saved.
func (l *leg) options(ctx context.Context, mb xc5.MailboxStore) (bool, error) {
	for tries := 0; tries < menuTries; {
		k, err := l.ask(ctx, say("options-menu"))
		if err != nil {
			return false, err
		}
		switch k {
		case keyRecord:
			return l.recordGreeting(ctx, mb)
		case keyRevert:
			sctx, cancel := storeCtx(ctx)
			err := mb.SetMailboxGreeting(sctx, l.req.Mailbox, nil, 0)
			cancel()
			if err != nil {
				l.s.log.Warn("media: greeting not removed", "mailbox", l.req.Mailbox, "error", err)
			}
			return false, l.done(ctx, err == nil, "standard-greeting")
		case keyBack:
			return false, nil
		case 0:
			tries++
		default:
			tries++
			if _, err := l.invalid(ctx); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// recordGreeting records the account's greeting as record-prompt records
// a prompt: instructions, beep, until '#', played back, 1 keeps it and 2
// records again, menuTries takes at most.
func (l *leg) recordGreeting(ctx context.Context, mb xc5.MailboxStore) (bool, error) {
	for take := 0; take < menuTries; take++ {
		for _, p := range [][]int16{say("greeting-instructions"), system(prompts.Beep)} {
			if _, err := l.c.play(ctx, p, false); err != nil {
				return false, err
			}
		}
		l.c.flushDigits()
		samples, err := l.c.record(ctx, recordOptions{max: recordMax})
		if err != nil {
			return false, err
		}
		if samplesLength(samples) < l.s.cfg.Timeouts.MinMessage {
			if _, err := l.invalid(ctx); err != nil {
				return false, err
			}
			continue
		}
		switch l.keepOrAgain(ctx, samples) {
		case '1':
			sctx, cancel := storeCtx(ctx)
			err := mb.SetMailboxGreeting(sctx, l.req.Mailbox, wav.Encode(samples, 8000), samplesLength(samples))
			cancel()
			if err != nil {
				l.s.log.Error("media: greeting not saved", "mailbox", l.req.Mailbox, "error", err)
				return false, l.done(ctx, false, "")
			}
			_, err = l.c.play(ctx, system(prompts.RecordingSaved), false)
			return true, err
		case '2':
			continue
		default:
			return false, ctx.Err()
		}
	}
	return false, nil
}

// greet plays the voicemail greeting: the request's prompt, else the
// mailbox's own greeting, else the system's. For a mailbox, '*' stops it
// and reports true (the caller goes to the mailbox's PIN); other keys are
// ignored, the greeting going on from about where it was.
func (l *leg) greet(ctx context.Context) (bool, error) {
	audio := l.greeting(ctx)
	if l.req.Mailbox == "" {
		_, err := l.c.play(ctx, audio, false)
		return false, err
	}
	for len(audio) > 0 {
		start := time.Now()
		k, err := l.c.play(ctx, audio, true)
		if err != nil || k == 0 {
			return false, err
		}
		if k == '*' {
			return true, nil
		}
		audio = audio[min(len(audio), int(time.Since(start)*8000/time.Second)):]
	}
	return false, nil
}

// greeting is the audio of the voicemail greeting (see greet).
func (l *leg) greeting(ctx context.Context) []int16 {
	if l.req.Prompt != "" || l.req.Mailbox == "" {
		return l.prompt(ctx, l.req.Prompt, prompts.VoicemailGreeting)
	}
	if mb := l.mailboxes(); mb != nil {
		sctx, cancel := storeCtx(ctx)
		data, err := mb.MailboxGreeting(sctx, l.req.Mailbox)
		cancel()
		switch {
		case err == nil:
			if a, err := wav.Parse(data); err == nil && a.SampleRate == 8000 {
				return a.Samples
			}
			l.s.log.Warn("media: the mailbox's greeting is not an 8 kHz WAV", "mailbox", l.req.Mailbox)
		case !errors.Is(err, context.Canceled) && xc5.ErrorCode(err) != xc5.ENOTFOUND:
			l.s.log.Warn("media: the mailbox's greeting not read", "mailbox", l.req.Mailbox, "error", err)
		}
	}
	return system(prompts.VoicemailGreeting)
}
