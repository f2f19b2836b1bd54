package sqlstore_test

import (
	"testing"
	"time"

	"xc5"
	"xc5/internal/poll"
	"xc5/storetest"
)

// TestMailUnavailable: with the database away, queueing and claiming
// mail say so (EUNAVAILABLE), as every other write does.
func TestMailUnavailable(t *testing.T) {
	o := storetest.PostgresOutage(t)
	s := o.Open(t, adminPassword)
	o.Cut()
	storetest.WantCode(t, s.QueueMail(ctx, []xc5.Mail{{To: "a@x.test"}}), xc5.EUNAVAILABLE, "queue with the database cut")
	_, err := s.ClaimMail(ctx, "n1", time.Minute, 5)
	storetest.WantCode(t, err, xc5.EUNAVAILABLE, "claim with the database cut")
	o.Restore(t)
	poll.Until(t, 30*time.Second, "queueing works again", func() bool { return s.QueueMail(ctx, []xc5.Mail{{To: "a@x.test"}}) == nil })
}
