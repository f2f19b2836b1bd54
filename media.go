package xc5

import (
	"context"
	"fmt"
	"time"
)

// The types and store capabilities of this file are what the media
// service (media/service), the mail sender (mail), the SIP service and
// the SQL store share: voicemail messages, mails waiting in the durable
// outbox, and prompt audio. As with sip.go, they live in the domain so
// that no adapter imports another.

// Voicemail is one message left for a mailbox or an email: destination.
type Voicemail struct {
	GUID string
	// Account is the GUID of the account whose mailbox keeps the message
	// (an account with ums_pin); "" when the message only goes by mail.
	Account  string
	From     string // the caller as presented (a number or username; "anonymous" when withheld)
	To       string // the number or username that was called
	Received time.Time
	Duration time.Duration
	Status   string // "new" or "saved"
	Audio    []byte // 8 kHz, 16-bit mono PCM WAV
}

// Mail states in the outbox.
const (
	MailQueued = "queued"
	MailSent   = "sent"
	MailFailed = "failed" // given up: the SMTP server refused it for good
)

// Mail is one message in the durable outbox. It is written in the same
// transaction as what it reports (a voicemail message, a finished
// recording), then sent by the mail sender with retries, so that an SMTP
// outage or a restart loses nothing and several nodes never send it twice.
type Mail struct {
	GUID           string
	To             string
	Subject        string
	Body           string // plain text
	Attachment     []byte // optional, a WAV
	AttachmentName string
	// Delivery state, kept by the outbox.
	State     string
	Attempts  int
	LastError string // the SMTP server's last answer, or the connection error
	Created   time.Time
	NextTry   time.Time
	SentAt    time.Time
}

// MailQueue queues mails in the durable outbox.
type MailQueue interface {
	// QueueMail queues mails in one transaction (a recording's mail).
	QueueMail(ctx context.Context, mails []Mail) error
}

// MediaStore is what the media service needs from the store.
type MediaStore interface {
	MailQueue
	// PromptAudio returns the playable 8 kHz WAV of the prompt with this
	// GUID (the SIP service decided that the call may play it). ENOTFOUND
	// when the prompt does not exist or has no audio yet.
	PromptAudio(ctx context.Context, guid string) ([]byte, error)
	// SavePromptAudio replaces a prompt's audio with one recorded by phone
	// and sets its prompt_length. ENOTFOUND when the prompt is gone.
	SavePromptAudio(ctx context.Context, guid string, wav []byte, length time.Duration) error
	// LeaveVoicemail keeps v in its account's mailbox (when v.Account is
	// set) and queues mails, in one transaction.
	LeaveVoicemail(ctx context.Context, v Voicemail, mails []Mail) error
}

// MailOutbox is what the mail sender needs from the store. A claim is a
// lease: a node that dies mid-send leaves the mail to be claimed again
// when the lease ends, and a mail is marked sent by the node holding it.
type MailOutbox interface {
	// ClaimMail leases up to max queued mails whose NextTry has come to
	// node for lease.
	ClaimMail(ctx context.Context, node string, lease time.Duration, max int) ([]Mail, error)
	// MailSent marks a claimed mail sent.
	MailSent(ctx context.Context, guid, node string) error
	// MailRetry records a failed try: the mail is tried again at next,
	// or, when final, marked failed for good with answer.
	MailRetry(ctx context.Context, guid, node, answer string, next time.Time, final bool) error
}

// Voicemail statuses.
const (
	VoicemailNew   = "new"
	VoicemailSaved = "saved"
)

// VoicemailStore reads and tends the mailboxes: what the API (and a
// phone's mailbox menu) needs. account is the account's GUID; a message
// of another account is ENOTFOUND.
type VoicemailStore interface {
	// ListVoicemail calls fn for each message of the account, oldest
	// first, without its audio.
	ListVoicemail(ctx context.Context, account string, fn func(Voicemail) error) error
	// GetVoicemail returns one message, with its audio when audio is set.
	GetVoicemail(ctx context.Context, account, guid string, audio bool) (Voicemail, error)
	// SetVoicemailStatus marks a message new or saved (EINVALID otherwise).
	SetVoicemailStatus(ctx context.Context, account, guid, status string) error
	// DeleteVoicemail removes a message.
	DeleteVoicemail(ctx context.Context, account, guid string) error
}

// MailLister lists the outbox for system-level inspection.
type MailLister interface {
	// ListMail calls fn for up to limit mails (0: no bound), newest
	// first, in state when state is not "", without their attachments.
	ListMail(ctx context.Context, state string, limit int, fn func(Mail) error) error
}

// VoicemailMail is the mail that brings message v to the address to;
// account names the mailbox's account (its username) for the reader.
func VoicemailMail(v Voicemail, to, account string) Mail {
	subject := fmt.Sprintf("Voicemail from %s to %s (%s)", v.From, v.To, mailDuration(v.Duration))
	body := fmt.Sprintf("You have a new voicemail message.\n\n"+
		"From:     %s\nTo:       %s\nAccount:  %s\nReceived: %s\nDuration: %s\n\n"+
		"The message is attached as a WAV file.\n",
		v.From, v.To, account, mailTime(v.Received), mailDuration(v.Duration))
	return Mail{To: to, Subject: subject, Body: body, Attachment: v.Audio,
		AttachmentName: "voicemail-" + v.Received.UTC().Format("20060102-150405") + ".wav"}
}

// RecordingMail is the mail that brings a recorded call to the address
// to. r describes the recording as a Voicemail describes a message: From
// and To of the call, Received when it started, its Duration and the WAV
// in Audio; account names the account the call was recorded for.
func RecordingMail(r Voicemail, to, account string) Mail {
	subject := fmt.Sprintf("Call recording: %s to %s (%s)", r.From, r.To, mailDuration(r.Duration))
	body := fmt.Sprintf("A call was recorded.\n\n"+
		"From:     %s\nTo:       %s\nAccount:  %s\nStarted:  %s\nDuration: %s\n\n"+
		"The recording is attached as a WAV file.\n",
		r.From, r.To, account, mailTime(r.Received), mailDuration(r.Duration))
	return Mail{To: to, Subject: subject, Body: body, Attachment: r.Audio,
		AttachmentName: "recording-" + r.Received.UTC().Format("20060102-150405") + ".wav"}
}

// mailTime writes a time for a reader: UTC, to the second, unambiguous.
func mailTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// mailDuration writes a length as m:ss, rounded to the second.
func mailDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// RoomStore says which media node holds a conference room, so that the
// members who call in through any signalling node join one mix. A claim
// is a lease that the calls in the room renew.
type RoomStore interface {
	// ClaimRoom gives room to node when it is free or its claim has
	// lapsed, renews node's own claim, and returns the holder either way.
	ClaimRoom(ctx context.Context, room, node string, ttl time.Duration) (holder string, err error)
	// TakeRoom moves room from a holder that does not answer (from) to
	// node, and returns the holder afterwards.
	TakeRoom(ctx context.Context, room, from, node string, ttl time.Duration) (holder string, err error)
}

// MailboxStore is what a phone's mailbox menu (the media service's
// mailbox app) needs beyond the messages: the PIN check and the account's
// own greeting. An account has a mailbox when its ums_pin is set; one
// without is, to every method here, an account that does not exist, so
// that a caller cannot tell a wrong PIN from a wrong mailbox.
type MailboxStore interface {
	VoicemailStore
	// CheckMailboxPIN reports whether account (a GUID) is an enabled
	// account with a mailbox whose PIN is pin. A wrong PIN, an unknown
	// account and one without a mailbox are all false with no error; the
	// comparison takes the same time whatever the PIN.
	CheckMailboxPIN(ctx context.Context, account, pin string) (bool, error)
	// MailboxGreeting returns the account's own greeting (8 kHz 16-bit
	// mono WAV); ENOTFOUND when it has none or no mailbox.
	MailboxGreeting(ctx context.Context, account string) ([]byte, error)
	// SetMailboxGreeting keeps wav as the account's greeting, or removes
	// it when wav is nil (the system greeting plays again). ENOTFOUND
	// when the account has no mailbox.
	SetMailboxGreeting(ctx context.Context, account string, wav []byte, length time.Duration) error
	// MailboxTimezone is the IANA time zone the account's messages are
	// announced in: its own, else its nearest ancestor's; "" when none
	// has one. ENOTFOUND when the account does not exist.
	MailboxTimezone(ctx context.Context, account string) (string, error)
}
