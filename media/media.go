// Package media is the contract between the SIP service (the B2BUA, which
// decides calls) and the media service (which answers them with audio):
// which app a media leg runs and with what, and what it found out.
//
// The B2BUA sends a call that needs audio to a media node by INVITE, like
// any other leg: the Request-URI's user names the app and X-Xc5-* headers
// carry its arguments. The media node answers, runs the app, and ends the
// leg with a BYE whose X-Xc5-Result header says what happened (the key a
// menu read). This is the shape Kazoo and Wazo give Kamailio in front of
// FreeSWITCH or Asterisk, in one binary: a media node can also run alone
// (xc5 media) and several can serve one signalling node.
package media

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Apps a media leg runs.
const (
	AppMenu         = "menu"          // play a prompt and read a key of a digit map
	AppVoicemail    = "voicemail"     // play a greeting, record a message, keep and mail it
	AppRecordPrompt = "record-prompt" // record a prompt by phone, play it back, keep it on 1
	AppPlay         = "play"          // play a prompt and hang up (announcements, goodbye); Loop: until hung up (hold music)
	AppConference   = "conference"    // join a conference room and talk with its other members
	AppMailbox      = "mailbox"       // ask a mailbox's PIN, then play, save and delete its messages
)

// Header names of the protocol.
const (
	HeaderArgs   = "X-Xc5-Media"  // the app's arguments, URL-query encoded
	HeaderResult = "X-Xc5-Result" // on the media node's BYE: the result, URL-query encoded
)

// Request is what a media leg is asked to do.
type Request struct {
	App string
	// Prompt is the GUID of the prompt to play: the menu's prompt, the
	// voicemail greeting, or the prompt being recorded. "" plays the
	// app's system prompt.
	Prompt string
	// Keys are a menu's keys (its digit map's keys other than T): "1",
	// "5666", "#"… A key is read when the digits pressed equal one.
	Keys []string
	// Mailbox is the GUID of the account whose mailbox keeps a voicemail
	// message ("" for none); Email the address it is mailed to ("" for
	// none).
	Mailbox string
	Email   string
	// Account is the username the message or recording is for (mail text).
	Account string
	From    string // the caller as presented
	To      string // what was called
	// MaxRecord bounds a recording; 0 is the app's default.
	MaxRecord time.Duration
	// Room is the conference room (the number of the account that owns
	// it, system-wide unique).
	Room string
	// Loop plays the prompt again and again until the B2BUA hangs the leg
	// up (hold music, a parked call).
	Loop bool
	// Say are digits a play app says after its prompt, one by one (the
	// slot a call was parked in).
	Say string
}

// Encode is the value of the HeaderArgs header.
func (r Request) Encode() string {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("prompt", r.Prompt)
	set("keys", strings.Join(r.Keys, ","))
	set("mailbox", r.Mailbox)
	set("email", r.Email)
	set("account", r.Account)
	set("from", r.From)
	set("to", r.To)
	set("room", r.Room)
	if r.Loop {
		v.Set("loop", "1")
	}
	set("say", r.Say)
	if r.MaxRecord > 0 {
		v.Set("max", strconv.Itoa(int(r.MaxRecord/time.Second)))
	}
	return v.Encode()
}

// Decode reads a Request for app from the HeaderArgs header value.
func Decode(app, args string) (Request, error) {
	switch app {
	case AppMenu, AppVoicemail, AppRecordPrompt, AppPlay, AppConference, AppMailbox:
	default:
		return Request{}, fmt.Errorf("unknown media app %q", app)
	}
	v, err := url.ParseQuery(args)
	if err != nil {
		return Request{}, fmt.Errorf("bad %s header: %v", HeaderArgs, err)
	}
	r := Request{App: app, Prompt: v.Get("prompt"), Mailbox: v.Get("mailbox"), Email: v.Get("email"),
		Account: v.Get("account"), From: v.Get("from"), To: v.Get("to"), Room: v.Get("room"), Loop: v.Get("loop") == "1",
		Say: v.Get("say")}
	if k := v.Get("keys"); k != "" {
		r.Keys = strings.Split(k, ",")
	}
	if m := v.Get("max"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 || n > 3600 {
			return Request{}, fmt.Errorf("bad max %q", m)
		}
		r.MaxRecord = time.Duration(n) * time.Second
	}
	switch {
	case app == AppMenu && len(r.Keys) == 0:
		return Request{}, fmt.Errorf("a menu needs keys")
	case app == AppConference && r.Room == "":
		return Request{}, fmt.Errorf("a conference needs a room")
	}
	return r, nil
}

// Result is what a media leg found out, sent on its BYE.
type Result struct {
	// Key is the menu key read; "" for no input (the menu's T).
	Key string
	// Saved reports a kept recording (voicemail left, prompt saved).
	Saved bool
}

// Encode is the value of the HeaderResult header.
func (r Result) Encode() string {
	v := url.Values{}
	if r.Key != "" {
		v.Set("key", r.Key)
	}
	if r.Saved {
		v.Set("saved", "1")
	}
	return v.Encode()
}

// DecodeResult reads a HeaderResult header value.
func DecodeResult(s string) (Result, error) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return Result{}, fmt.Errorf("bad %s header: %v", HeaderResult, err)
	}
	return Result{Key: v.Get("key"), Saved: v.Get("saved") == "1"}, nil
}
