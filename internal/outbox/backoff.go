// Package outbox holds what the senders of the database outboxes (mail,
// webhook) share: their claim loops differ (webhook POSTs in parallel and
// gives back what a shutdown cut short; mail sends in order and marks
// late), but their retry timing is one rule.
package outbox

import "time"

// Backoff is the wait after the failure that follows attempts earlier
// ones: first, doubled after each further failure, at most max.
func Backoff(first, max time.Duration, attempts int) time.Duration {
	d := first
	for i := 0; i < attempts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
