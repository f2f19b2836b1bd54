package service

import (
	"strconv"
	"strings"
)

// eventDetector reads RFC 4733 telephone-event payloads and reports each
// key press once. diago v0.42.1's reader waits for an end packet that
// follows a start with a non-zero duration, so it drops the presses of
// senders whose first packet has duration 0 (sipp's pcaps, some phones).
// Here a press is known by its event timestamp: the first packet seen of
// it reports the digit, whatever its duration or end bit, and later
// packets of the same timestamp (updates, the end packet and its
// retransmissions) are the same press.
type eventDetector struct {
	recent [8]pressState // the last presses, newest at next-1
	next   int
}

type pressState struct {
	valid bool
	ts    uint32
	event uint8
	ended bool
	dur   uint16
}

// packet takes one telephone-event payload with its RTP timestamp and
// marker bit and returns the digit it starts, or 0.
func (d *eventDetector) packet(ts uint32, marker bool, payload []byte) rune {
	if len(payload) < 4 {
		return 0
	}
	event, end := payload[0], payload[1]&0x80 != 0
	dur := uint16(payload[2])<<8 | uint16(payload[3])
	r := eventRune(event)
	if r == 0 {
		return 0 // not a DTMF key (flash, tones…)
	}
	for i := range d.recent {
		p := &d.recent[i]
		if !p.valid || p.ts != ts || p.event != event {
			continue
		}
		// A sender that does not advance its timestamp between presses
		// (diago's own writer when no audio flows) starts the second
		// press of the same key, marked, after the first ended.
		if marker && p.ended {
			p.ended, p.dur = end, dur
			return r
		}
		p.ended = p.ended || end
		p.dur = max(p.dur, dur)
		return 0
	}
	// A press longer than 8 s goes on in a new segment whose timestamp is
	// the old one plus its duration (RFC 4733 2.5.1.3): the same press.
	if last := d.recent[(d.next+len(d.recent)-1)%len(d.recent)]; last.valid && !last.ended &&
		last.event == event && last.dur > 0 && ts == last.ts+uint32(last.dur) {
		d.push(pressState{valid: true, ts: ts, event: event, ended: end, dur: dur})
		return 0
	}
	d.push(pressState{valid: true, ts: ts, event: event, ended: end, dur: dur})
	return r
}

func (d *eventDetector) push(p pressState) {
	d.recent[d.next] = p
	d.next = (d.next + 1) % len(d.recent)
}

// eventRune maps an RFC 4733 event code to its key.
func eventRune(e uint8) rune {
	switch {
	case e <= 9:
		return rune('0' + e)
	case e == 10:
		return '*'
	case e == 11:
		return '#'
	case e >= 12 && e <= 15:
		return rune('A' + e - 12)
	}
	return 0
}

// infoDigit reads the key of a SIP INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160") or application/dtmf ("5"). Some phones
// send * and # as 10 and 11.
func infoDigit(contentType string, body []byte) (rune, bool) {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	var v string
	switch ct {
	case "application/dtmf-relay":
		for line := range strings.SplitSeq(string(body), "\n") {
			k, val, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				v = strings.TrimSpace(val)
				break
			}
		}
	case "application/dtmf":
		v = strings.TrimSpace(string(body))
	default:
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 10 && n <= 15 {
		return eventRune(uint8(n)), true
	}
	if len(v) != 1 {
		return 0, false
	}
	c := rune(strings.ToUpper(v)[0])
	if (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D') {
		return c, true
	}
	return 0, false
}
