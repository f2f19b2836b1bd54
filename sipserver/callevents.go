package sipserver

import (
	"time"

	"xc5"
)

// eventInfo is a call as its call.started and call.answered webhook
// events show it: the fields its records will have, as far as known.
func (c *call) eventInfo(direction string, answeredAt time.Time, by string) map[string]any {
	m := map[string]any{"call_id": c.id, "from": c.who.name(), "to": c.dialed, "started": rfc3339(c.started), "direction": direction}
	if !answeredAt.IsZero() {
		m["answered"], m["answered_by"] = rfc3339(answeredAt), by
	}
	return m
}

// answeredEvents queues call.answered for the caller's account and the
// answering one's.
func (c *call) answeredEvents(win *end) {
	c.mu.Lock()
	at := c.answeredAt
	c.mu.Unlock()
	if c.who.acct != nil {
		c.b.cdrs.event(c.who.acct.GUID, xc5.EventCallAnswered, c.eventInfo("out", at, win.name))
	}
	if win.acct != nil && (c.who.acct == nil || win.acct.GUID != c.who.acct.GUID) {
		c.b.cdrs.event(win.acct.GUID, xc5.EventCallAnswered, c.eventInfo("in", at, win.name))
	}
}
