package service

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"xc5"
)

// composeMail is the mail telling to that v was left for account.
// TODO(lead): replace with xc5.VoicemailMail(v, to, account) once that pure
// function is on this branch; this local copy only keeps the service whole
// until then.
func composeMail(v xc5.Voicemail, to, account string, now time.Time) xc5.Mail {
	from := v.From
	if from == "" {
		from = "anonymous"
	}
	secs := int((v.Duration + time.Second/2) / time.Second)
	body := fmt.Sprintf("You have a new voicemail message for %s.\n\nFrom: %s\nCalled: %s\nReceived: %s\nLength: %d s\n\nThe message is attached.\n",
		account, from, v.To, v.Received.UTC().Format("2006-01-02 15:04:05 MST"), secs)
	return xc5.Mail{
		GUID:           uuid.NewString(),
		To:             to,
		Subject:        fmt.Sprintf("Voicemail from %s (%d s)", from, secs),
		Body:           body,
		Attachment:     v.Audio,
		AttachmentName: "voicemail-" + v.Received.UTC().Format("20060102-150405") + ".wav",
		State:          xc5.MailQueued,
		Created:        now,
		NextTry:        now,
	}
}
