package xc5

import (
	"context"
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
