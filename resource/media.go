package resource

import "xc5"

// Voicemail is an account's mailbox: the messages callers left, kept by
// the media service (xc5.Voicemail). The API serves it by hand (package
// api, voicemail.go) over xc5.VoicemailStore; this description gives it
// its path, its OPTIONS documentation and the check of a PATCH.
var Voicemail = &Resource{
	Name: "voicemail",
	Description: "Voicemail messages in the account's mailbox, oldest first. GET …/voicemail/{guid} with Accept: audio/wav answers the message's " +
		"8 kHz WAV; PATCH {\"status\":\"saved\"} (or \"new\") marks it; DELETE removes it. Messages go with their account",
	Methods:     readOnly,
	ItemMethods: []string{"GET", "PATCH", "DELETE", "OPTIONS"},
	Parent:      Account,
	// Messages are no routing provisioning: the store announces their
	// writes for the API and message-waiting lights, and the routing
	// view ignores them.
	Routing: RoutingNone,
	Fields: []Field{
		guidField,
		{Name: "from", Type: String, ReadOnly: true, Lean: true, Description: "The caller as presented: a number or username, anonymous when withheld"},
		{Name: "to", Type: String, ReadOnly: true, Lean: true, Description: "The number or username that was called"},
		{Name: "received", Type: String, ReadOnly: true, Lean: true, Description: "When the message was left (RFC 3339)"},
		{Name: "duration", Type: Integer, ReadOnly: true, Lean: true, Description: "Length of the message in seconds"},
		{Name: "status", Type: String, Default: "new", Lean: true, Enum: []string{"new", "saved"},
			Description: "new until listened to or saved; saved keeps it as heard. The only field a PATCH may change"},
	},
}

// Mail is the durable outbox of voicemail and recording mails, for the
// provider to see what went out and what is stuck (docs/media.md).
var Mail = &Resource{
	Name:    "mail",
	Routing: RoutingNone,
	Description: "The outbox of voicemail and recording mails, newest first: queued (waiting or being retried), sent, or failed " +
		"(refused for good). ?state=queued|sent|failed filters, ?limit=N bounds. System access only; read-only",
	Methods:    readOnly,
	NoItems:    true,
	SystemRead: true,
	Fields: []Field{
		guidField,
		{Name: "to", Type: String, ReadOnly: true, Description: "The address the mail goes to"},
		{Name: "subject", Type: String, ReadOnly: true, Description: "Its subject"},
		{Name: "state", Type: String, ReadOnly: true, Enum: []string{xc5.MailQueued, xc5.MailSent, xc5.MailFailed}, Description: "queued, sent or failed"},
		{Name: "attempts", Type: Integer, ReadOnly: true, Description: "Tries so far"},
		{Name: "last_error", Type: String, ReadOnly: true, Description: "The SMTP server's last answer, or why it could not be reached"},
		{Name: "created", Type: String, ReadOnly: true, Description: "When it was queued (RFC 3339)"},
		{Name: "sent_at", Type: String, ReadOnly: true, Description: "When it was sent (RFC 3339), empty until then"},
	},
}
