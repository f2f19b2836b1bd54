package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"xc5"
	"xc5/media"
	"xc5/media/prompts"
	"xc5/media/wav"
)

// menuTries is how often a menu is offered before it gives up with no key
// (the B2BUA then applies the menu's T action).
const menuTries = 3

// leg is one request being served: the app, its arguments and the call.
type leg struct {
	s   *Service
	req media.Request
	c   call
}

// runApp runs the leg's app and returns its result. errHangup and other
// errors end the app early; what was decided by then stands.
func (l *leg) runApp(ctx context.Context) media.Result {
	switch l.req.App {
	case media.AppMenu:
		return media.Result{Key: l.menu(ctx)}
	case media.AppVoicemail:
		return media.Result{Saved: l.voicemail(ctx)}
	case media.AppRecordPrompt:
		return media.Result{Saved: l.recordPrompt(ctx)}
	case media.AppMailbox:
		return l.mailbox(ctx)
	case media.AppConference:
		l.conference(ctx)
	case media.AppPlay:
		l.play(ctx)
	}
	return media.Result{}
}

// play plays the prompt once, or with Loop until the leg is hung up
// (hold music): a loop with nothing to play sends silence instead, so that
// the B2BUA does not take a quiet node for a dead one.
func (l *leg) play(ctx context.Context) {
	audio := l.prompt(ctx, l.req.Prompt, "")
	if l.req.Say != "" {
		audio = append(append([]int16(nil), audio...), say(digitWords(l.req.Say)...)...)
	}
	if !l.req.Loop {
		_, _ = l.c.play(ctx, audio, false)
		return
	}
	if len(audio) == 0 {
		audio = make([]int16, 8000)
	}
	for ctx.Err() == nil {
		if _, err := l.c.play(ctx, audio, false); err != nil {
			return
		}
	}
}

// system is a system prompt's audio.
func system(name string) []int16 {
	a, err := wav.Parse(prompts.ByName(name).WAV)
	if err != nil {
		return nil
	}
	return a.Samples
}

// prompt is the audio of the prompt with guid, or the system prompt
// fallback ("" for none) when guid is empty, missing or unplayable: a
// missing prompt is a configuration gap the caller should not hear as a
// failure.
func (l *leg) prompt(ctx context.Context, guid, fallback string) []int16 {
	if guid != "" {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second) // a stuck store must not hold the caller
		data, err := l.s.cfg.Store.PromptAudio(pctx, guid)
		cancel()
		if err == nil {
			if a, err := wav.Parse(data); err == nil && a.SampleRate == 8000 {
				return a.Samples
			} else {
				l.s.log.Warn("media: prompt audio is not an 8 kHz WAV", "prompt", guid, "error", err)
			}
		} else {
			l.s.log.Warn("media: prompt not playable", "prompt", guid, "error", err)
		}
	}
	if fallback == "" {
		return nil
	}
	return system(fallback)
}

// menu plays the prompt and reads a key: up to menuTries offers, each
// ended by a key, an invalid entry or no input; "" when none gave a key.
func (l *leg) menu(ctx context.Context) string {
	audio := l.prompt(ctx, l.req.Prompt, "")
	if audio == nil {
		audio = make([]int16, 8000/2) // half a second of silence before waiting
	}
	t := l.s.cfg.Timeouts
	for try := 0; try < menuTries; try++ {
		d, err := l.c.play(ctx, audio, true)
		if err == nil && d == 0 {
			d, err = l.c.digit(ctx, t.FirstDigit)
		}
		if err != nil {
			return ""
		}
		if d == 0 {
			continue // no input: offer again
		}
		key, err := l.collect(ctx, string(d))
		if err != nil {
			return ""
		}
		if key != "" {
			return key
		}
		if _, err := l.c.play(ctx, system(prompts.InvalidEntry), false); err != nil {
			return ""
		}
		l.c.flushDigits()
	}
	return ""
}

// collect reads further keys after the first: it returns a key as soon
// as the digits equal one and no longer key starts with them, or at the
// inter-digit timeout with an exact match; "" for digits that cannot lead
// to a key.
func (l *leg) collect(ctx context.Context, digits string) (string, error) {
	for {
		exact, longer := matchKeys(l.req.Keys, digits)
		switch {
		case exact && !longer:
			return digits, nil
		case !exact && !longer:
			return "", nil
		}
		d, err := l.c.digit(ctx, l.s.cfg.Timeouts.InterDigit)
		if err != nil {
			return "", err
		}
		if d == 0 {
			if exact {
				return digits, nil
			}
			return "", nil
		}
		digits += string(d)
	}
}

// matchKeys reports whether digits is a key, and whether a longer key
// starts with digits.
func matchKeys(keys []string, digits string) (exact, longer bool) {
	for _, k := range keys {
		if k == digits {
			exact = true
		} else if strings.HasPrefix(k, digits) {
			longer = true
		}
	}
	return exact, longer
}

// voicemail plays the greeting and the beep, records, and delivers a
// message of at least MinMessage; it reports whether one was kept. '*'
// during the greeting of a mailbox goes to the mailbox app instead.
func (l *leg) voicemail(ctx context.Context) bool {
	t := l.s.cfg.Timeouts
	switch star, err := l.greet(ctx); {
	case err != nil:
		return false
	case star: // '*' in the greeting: the mailbox's PIN (mailbox.go)
		l.c.flushDigits()
		l.mailbox(ctx)
		return false
	}
	if _, err := l.c.play(ctx, system(prompts.Beep), false); err != nil {
		return false
	}
	l.c.flushDigits()
	received := l.s.cfg.Now()
	max := t.MaxRecord
	if l.req.MaxRecord > 0 {
		max = l.req.MaxRecord
	}
	samples, err := l.c.record(ctx, recordOptions{max: max, silence: t.Silence})
	if err != nil && !errors.Is(err, errHangup) {
		return false
	}
	length := samplesLength(samples)
	if length < t.MinMessage {
		l.s.log.Info("media: voicemail too short, dropped", "length", length, "mailbox", l.req.Mailbox)
		return false
	}
	v := xc5.Voicemail{GUID: uuid.NewString(), Account: l.req.Mailbox, From: l.req.From, To: l.req.To,
		Received: received, Duration: length, Status: xc5.VoicemailNew, Audio: wav.Encode(samples, 8000)}
	var mails []xc5.Mail
	if l.req.Email != "" {
		mails = append(mails, xc5.VoicemailMail(v, l.req.Email, l.req.Account))
	}
	// The caller may have hung up: delivery must not depend on the leg.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := l.s.cfg.Store.LeaveVoicemail(sctx, v, mails); err != nil {
		l.s.log.Error("media: voicemail not stored", "mailbox", l.req.Mailbox, "error", err)
		return false
	}
	_, _ = l.c.play(ctx, system(prompts.Goodbye), false)
	return true
}

// recordMax bounds a prompt recorded by phone.
const recordMax = 120 * time.Second

// recordPrompt records a prompt by phone: instructions, beep, record until
// '#', play it back, then 1 keeps it and 2 records again. Up to menuTries
// recordings and choices; hanging up before 1 keeps nothing.
func (l *leg) recordPrompt(ctx context.Context) bool {
	t := l.s.cfg.Timeouts
	max := recordMax
	if l.req.MaxRecord > 0 {
		max = l.req.MaxRecord
	}
	for take := 0; take < menuTries; take++ {
		for _, p := range []string{prompts.RecordInstructions, prompts.Beep} {
			if _, err := l.c.play(ctx, system(p), false); err != nil {
				return false
			}
		}
		l.c.flushDigits()
		samples, err := l.c.record(ctx, recordOptions{max: max})
		if err != nil {
			return false
		}
		if samplesLength(samples) < t.MinMessage {
			if _, err := l.c.play(ctx, system(prompts.InvalidEntry), false); err != nil {
				return false
			}
			continue
		}
		switch l.keepOrAgain(ctx, samples) {
		case '1':
			return l.savePrompt(ctx, samples)
		case '2':
			continue
		default:
			_, _ = l.c.play(ctx, system(prompts.Goodbye), false)
			return false
		}
	}
	_, _ = l.c.play(ctx, system(prompts.Goodbye), false)
	return false
}

// keepOrAgain plays the recording back and asks for 1 or 2: '1', '2', or
// 0 after menuTries offers without either (or a hang-up).
func (l *leg) keepOrAgain(ctx context.Context, samples []int16) rune {
	ask := slices.Concat(samples, make([]int16, 8000/2), system(prompts.KeepOrRerecord))
	for try := 0; try < menuTries; try++ {
		d, err := l.c.play(ctx, ask, true)
		if err == nil && d == 0 {
			d, err = l.c.digit(ctx, l.s.cfg.Timeouts.FirstDigit)
		}
		if err != nil {
			return 0
		}
		if d == '1' || d == '2' {
			return d
		}
		ask = system(prompts.KeepOrRerecord)
		if d != 0 {
			if _, err := l.c.play(ctx, system(prompts.InvalidEntry), false); err != nil {
				return 0
			}
			l.c.flushDigits()
		}
	}
	return 0
}

func (l *leg) savePrompt(ctx context.Context, samples []int16) bool {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := l.s.cfg.Store.SavePromptAudio(sctx, l.req.Prompt, wav.Encode(samples, 8000), samplesLength(samples)); err != nil {
		l.s.log.Error("media: recorded prompt not saved", "prompt", l.req.Prompt, "error", err)
		return false
	}
	_, _ = l.c.play(ctx, system(prompts.RecordingSaved), false)
	_, _ = l.c.play(ctx, system(prompts.Goodbye), false)
	return true
}

func samplesLength(s []int16) time.Duration {
	return time.Duration(len(s)) * time.Second / 8000
}
